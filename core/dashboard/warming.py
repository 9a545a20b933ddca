"""The dashboard's stored figures are warmed after each workspace's midnight, so nobody waits for the first request.

A request stores the pieces of a period that have ended and joins them into one stored span
(``core.dashboard.insights``); without this pass, the first request of a day joins the day that just
ended into that span, and the first request of a period in a fresh database computes every piece. A
pass does that work first: ``STORE_AFTER`` after a workspace's local midnight (when the day that ended
may be stored), it asks the panels that read stored figures for the page's periods (week, month,
quarter, year; not custom), with no department filter, at that moment, so exactly the rows a request of
that day would store are stored. What is stored is raw, before any privacy rule: the figures asked as an
admin serve every viewer; the heatmap is asked as a member too, whose threshold needs its people. The
viewer's own numbers (the overview's ``you``) are per person and are left to their request.

It works like the digest scheduler (``core.digest_scheduler``): a pass reads only workspaces whose
``next_warm_at`` has come (NULL: never warmed, due now), through its index, so a pass with nothing due
costs two index probes however many workspaces there are. Each due workspace is claimed with a
conditional ``UPDATE`` that moves ``next_warm_at`` on to an hour after its next midnight (a racing pass
that read the same row changes nothing), and, on PostgreSQL, selected ``FOR UPDATE SKIP LOCKED`` so
passes in several processes share the work. The claim commits before the figures are computed (seconds,
the first time): a transaction held that long would stop every other write on SQLite. So a workspace is
warmed at most once a day; one whose warming failed (or whose process died meanwhile) is not tried again
until its next midnight, and its requests compute what they need, as they would without this pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from core import outage
from core.clock import aware
from core.dashboard import insights
from core.dashboard.access import Viewer
from core.models import Member, Thanks, Workspace

log = logging.getLogger("kizuna.dashboard")

# The periods the page offers, but custom (whose days nobody can guess).
PERIODS = ("week", "month", "quarter", "year")
# A pass warms at most this many workspaces (the first warming of a year takes seconds on PostgreSQL);
# ``run_forever`` runs the next pass at once while passes find a full batch.
DEFAULT_BATCH = 4
DEFAULT_INTERVAL = 60.0


@dataclass
class WarmResult:
    """What one pass did: the workspaces it warmed, those with nothing to warm, those that failed."""

    now: datetime
    warmed: list[int] = field(default_factory=list)
    idle: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        """Workspaces this pass took (each exactly once across passes and processes, per local day)."""
        return len(self.warmed) + len(self.idle) + len(self.failed)


def next_warming(tz_name: str, moment: datetime) -> datetime:
    """The first moment after ``moment`` that is ``STORE_AFTER`` past a midnight of ``tz_name``."""
    tz = ZoneInfo(tz_name)
    day = moment.astimezone(tz).date()
    for local in (day, day + timedelta(days=1)):
        warming = datetime.combine(local, time(), tz).astimezone(UTC) + insights.STORE_AFTER
        if warming > moment:
            return warming
    raise AssertionError("a day has a midnight")  # pragma: no cover


async def run_due(now: datetime | None = None, *, batch: int = DEFAULT_BATCH,
                  workspace_ids: Collection[int] | None = None) -> WarmResult:
    """One pass at ``now`` (default: the clock): up to ``batch`` due workspaces are claimed, then warmed."""
    moment = aware(now).astimezone(UTC)
    result = WarmResult(moment)
    for workspace in await _claim(moment, batch, workspace_ids):
        try:
            warmed = await warm(workspace, moment)
        except Exception:
            if await outage.down():
                raise  # not this workspace's fault: the pass fails, and is logged as the outage
            # One broken workspace must not stop the others; its requests compute what they need.
            log.exception("warming the dashboard of workspace %s failed", workspace.id)
            result.failed.append(workspace.id)
            continue
        (result.warmed if warmed else result.idle).append(workspace.id)
    return result


async def _claim(moment: datetime, batch: int, workspace_ids: Collection[int] | None) -> list[Workspace]:
    """The due workspaces this pass takes: each one's ``next_warm_at`` moved on, in one short transaction."""
    claimed: list[Workspace] = []
    async with in_transaction() as conn:
        due: list[Workspace] = []
        # Two index probes (never warmed; due by now) rather than an OR the planner may not split.
        for condition in ({"next_warm_at__isnull": True}, {"next_warm_at__lte": moment}):
            if len(due) >= batch:
                break
            query = Workspace.filter(**condition)
            if workspace_ids is not None:
                query = query.filter(id__in=list(workspace_ids))
            query = query.order_by("next_warm_at", "id").limit(batch - len(due))
            if conn.capabilities.support_for_update:
                query = query.select_for_update(skip_locked=True)
            due += await query
        for workspace in due:
            following = next_warming(workspace.timezone, moment)
            # The claim: only the pass that still sees the moment it read moves it on.
            first = workspace.next_warm_at
            same = {"next_warm_at__isnull": True} if first is None else {"next_warm_at": first}
            if await Workspace.filter(id=workspace.id, **same).update(next_warm_at=following):
                workspace.next_warm_at = following
                claimed.append(workspace)
    return claimed


async def warm(workspace: Workspace, moment: datetime) -> bool:
    """Store what the dashboard's default view asks for at ``moment`` (the periods of ``PERIODS``, no
    department filter); False, storing nothing, when the workspace has no thanks in any of those periods
    or the ones they are compared with (a probe of ``thanks``' (workspace, created_at) index)."""
    windows = [insights.resolve_window(period, workspace.timezone, moment) for period in PERIODS]
    earliest = min(w.previous().start for w in windows)
    if not await Thanks.filter(workspace_id=workspace.id, created_at__gte=earliest, created_at__lt=moment).exists():
        return False
    # Stand-ins, never saved: no panel warmed here reads who the viewer is, only their role.
    admin = Viewer(workspace, Member(workspace_id=workspace.id, is_admin=True), workspace.default_locale, "")
    member = Viewer(workspace, Member(workspace_id=workspace.id), workspace.default_locale, "")
    for window in windows:
        scope = insights.Scope(admin, window, now=moment)
        await insights.totals(scope)
        # The network is the heatmap's figures again; meetings, mixers and projects store nothing.
        for panel in (insights.heatmap, insights.trends, insights.bridges, insights.values, insights.leaderboard):
            await panel(scope)
        # A member's heatmap also needs each cell's people (only a threshold above one asks).
        if workspace.privacy_threshold > 1:
            await insights.heatmap(insights.Scope(member, window, now=moment))
    return True


async def run_forever(interval: float = DEFAULT_INTERVAL) -> None:
    """A pass every ``interval`` seconds (at once again while passes find a full batch) until cancelled; a
    failing pass is logged, never fatal."""
    while True:
        pause = interval
        try:
            result = await run_due()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await outage.report(log, error, "dashboard warming pass failed")
        else:
            if result.warmed or result.failed:
                log.info("dashboard: figures warmed for %d workspaces (%d failed)", len(result.warmed),
                         len(result.failed))
            if result.claimed >= DEFAULT_BATCH:
                pause = 0.0
        await asyncio.sleep(pause)


__all__ = ["PERIODS", "WarmResult", "next_warming", "run_due", "run_forever", "warm"]
