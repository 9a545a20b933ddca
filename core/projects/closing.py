"""Projects past their end date close, and each closing card is written to the outbox exactly once.

A pass reads open projects whose ``end_date`` has passed (an index range scan on ``(status,
end_date)``), and, for each one whose last day is over in its workspace's time zone, closes it with a
conditional update (``WHERE status = 'open'``: the claim, as a meeting's ``schedule_version`` is for
reminders) and writes its closing card to the outbox in the same transaction, with a dedupe key per
closing. A racing pass in another process changes nothing. On PostgreSQL the rows are also selected
``FOR UPDATE SKIP LOCKED`` so passes share the work. A project closed by hand writes its card at once
(``core.projects.service.close_project``); this pass also picks up any closed project whose card was
not written (``announced_at`` still empty), so nothing is lost if that ever failed half-way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from core import outage
from core.clock import aware
from core.models import Workspace
from core.projects.models import CLOSED, OPEN, Project
from core.projects.service import announce_closing

log = logging.getLogger("kizuna.projects")
DEFAULT_INTERVAL = 60.0


@dataclass
class ClosingResult:
    """What one pass did: the projects it closed and the closing cards it queued."""

    now: datetime
    closed: list[int] = field(default_factory=list)
    announced: list[int] = field(default_factory=list)


async def run_due(now: datetime | None = None, *, workspace_ids: Collection[int] | None = None,
                  batch: int = 200) -> ClosingResult:
    """Close every open project whose end date is over at ``now``, and queue every closing card not yet
    queued; each exactly once across processes."""
    moment = aware(now).astimezone(UTC)
    result = ClosingResult(moment)
    # The earliest zone is a day ahead of UTC: a project can end "yesterday" there only if its end date
    # is before tomorrow in UTC; each candidate is then checked in its own workspace's zone.
    latest_end = (moment + timedelta(days=1)).date()
    async with in_transaction() as conn:
        query = Project.filter(status=OPEN, end_date__lt=latest_end)
        if workspace_ids is not None:
            query = query.filter(workspace_id__in=list(workspace_ids))
        query = query.order_by("end_date", "id").limit(batch)
        if conn.capabilities.support_for_update:
            query = query.select_for_update(skip_locked=True)
        due = await query
        unannounced = Project.filter(status=CLOSED, announced_at__isnull=True)
        if workspace_ids is not None:
            unannounced = unannounced.filter(workspace_id__in=list(workspace_ids))
        if conn.capabilities.support_for_update:
            unannounced = unannounced.select_for_update(skip_locked=True)
        pending = await unannounced.order_by("id").limit(batch)
        wanted = {p.workspace_id for p in (*due, *pending)}
        workspaces = {w.id: w for w in await Workspace.filter(id__in=wanted)} if wanted else {}
        for project in due:
            workspace = workspaces[project.workspace_id]
            today = moment.astimezone(ZoneInfo(workspace.timezone)).date()
            if project.end_date is None or project.end_date >= today:
                continue
            claimed = await Project.filter(id=project.id, status=OPEN).update(status=CLOSED, closed_at=moment,
                                                                              announced_at=None)
            if not claimed:
                continue  # another pass (or a person) closed it first
            project.status, project.closed_at, project.announced_at = CLOSED, moment, None
            result.closed.append(project.id)
            if await announce_closing(workspace, project, moment):
                result.announced.append(project.id)
        for project in pending:
            if await announce_closing(workspaces[project.workspace_id], project, moment):
                result.announced.append(project.id)
    return result


async def run_forever(interval: float = DEFAULT_INTERVAL) -> None:
    """A pass every ``interval`` seconds until cancelled; a failing pass is logged, never fatal."""
    while True:
        try:
            result = await run_due()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await outage.report(log, error, "project closing pass failed")
        else:
            if result.closed or result.announced:
                log.info("projects: %d closed at their end, %d closing cards queued", len(result.closed),
                         len(result.announced))
        await asyncio.sleep(interval)
