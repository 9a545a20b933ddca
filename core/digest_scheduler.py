"""The digest scheduler: one pass turns every due digest and personal recap into outbox deliveries, once.

It works like the reminder scheduler (``core.meetings.scheduler``): a pass reads only workspaces
whose ``next_digest_at`` (or ``next_recap_at``) has come, through an index, so a pass with nothing
due costs one index probe however many workspaces there are. Each due workspace is claimed with a
conditional ``UPDATE`` that moves its moment on (a racing pass that read the same row changes
nothing and writes nothing), in the same transaction as the outbox rows, whose dedupe keys name
the workspace (or member) and the moment. On PostgreSQL the rows are also selected ``FOR UPDATE
SKIP LOCKED``, so passes in several processes share the work instead of waiting on each other.

Late policy, after downtime: a digest up to ``LATE_TOLERANCE`` late is on time; later than that but
less than its own period (a week, a month) it is posted once, marked late; older than its period it
is skipped (an outbox row with status ``dropped`` says so to admins), since a newer one covers
more recent news. The same holds for recaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core import outage, outbox
from core.clock import aware
from core.models import Member, Workspace
from core.services.digest_schedule import Schedule, next_slot

log = logging.getLogger("kizuna.digests")

DIGEST_KIND = "digest"
RECAP_KIND = "recap"
LATE_TOLERANCE = timedelta(minutes=2)
# How many past moments of one workspace a pass looks at (the older ones are too old to post anyway).
MAX_SLOTS = 3
DEFAULT_BATCH = 200
DEFAULT_INTERVAL = 15.0


@dataclass
class DigestRunResult:
    """What one digest pass did."""

    now: datetime
    workspaces: int = 0
    enqueued: list[int] = field(default_factory=list)
    late: int = 0
    dropped: int = 0
    planned: int = 0
    recaps: int = 0

    @property
    def sent(self) -> int:
        """Digests and recaps written to the outbox in this pass."""
        return len(self.enqueued)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def classify(slot: datetime, following: datetime, now: datetime) -> str:
    """``send`` (on time), ``late`` (late, but within its period) or ``drop`` (older than its period)."""
    lateness = now - slot
    if lateness <= LATE_TOLERANCE:
        return "send"
    if lateness >= following - slot:
        return "drop"
    return "late"


def digest_dedupe_key(workspace_id: int, schedule: str, slot: datetime) -> str:
    """One digest per workspace, schedule and moment, whichever process posts it."""
    return f"digest:{workspace_id}:{schedule}:{_stamp(slot)}"


def recap_dedupe_key(member_id: int, slot: datetime) -> str:
    """One recap per member and month."""
    return f"recap:{member_id}:{_stamp(slot)}"


def _slots(schedule: str, tz: str, first: datetime, moment: datetime) -> tuple[list[tuple[datetime, str]], datetime]:
    """The moments from ``first`` up to ``moment``, classified (at most ``MAX_SLOTS``, the latest), and the
    next moment after ``moment``."""
    slots: list[tuple[datetime, str]] = []
    slot = first
    while slot <= moment:
        following = next_slot(schedule, tz, slot)
        assert following is not None
        slots.append((slot, classify(slot, following, moment)))
        if following <= slot:  # pragma: no cover - moments always move forward
            break
        slot = following
        if len(slots) > MAX_SLOTS:  # a long outage: only the latest few matter, the rest are far too old
            dropped = slots.pop(0)
            log.info("digest moment %s skipped without a record: the server was down for long", dropped[0])
    return slots, slot


async def run_due(now: datetime | None = None, *, batch: int = DEFAULT_BATCH, max_batches: int = 50,
                  workspace_ids: Collection[int] | None = None) -> DigestRunResult:
    """One pass at ``now`` (default: the clock): due digests and recaps go to the outbox once."""
    moment = aware(now)
    result = DigestRunResult(moment)
    await _plan_unplanned(moment, result, workspace_ids)
    for _ in range(max_batches):
        if await _digest_batch(moment, batch, result, workspace_ids) < batch:
            break
    for _ in range(max_batches):
        if await _recap_batch(moment, batch, result, workspace_ids) < batch:
            break
    return result


def _scoped(query: QuerySet[Workspace], workspace_ids: Collection[int] | None) -> QuerySet[Workspace]:
    return query if workspace_ids is None else query.filter(id__in=list(workspace_ids))


async def _plan_unplanned(moment: datetime, result: DigestRunResult, workspace_ids: Collection[int] | None) -> None:
    """New workspaces (and those from before digests were scheduled) get their first moment: the next one."""
    query = _scoped(Workspace.filter(next_digest_at__isnull=True), workspace_ids).exclude(digest_schedule="off")
    for workspace_id, schedule, tz in await query.values_list("id", "digest_schedule", "timezone"):
        planned = next_slot(str(schedule), str(tz), moment)
        if await Workspace.filter(id=workspace_id, next_digest_at__isnull=True, digest_schedule=schedule) \
                .update(next_digest_at=planned):
            result.planned += 1


async def _each(due: list[Workspace], field_name: str, moment: datetime, result: DigestRunResult,
                handle: Callable[[Workspace, datetime, DigestRunResult], Awaitable[None]]) -> None:
    for workspace in due:
        try:
            async with in_transaction():
                await handle(workspace, moment, result)
        except Exception:
            if await outage.down():
                raise  # not this workspace's fault: the pass fails, and a later one takes it up
            # One broken workspace must not stop the others; it is tried again in an hour.
            log.exception("%s of workspace %s failed", field_name, workspace.id)
            await Workspace.filter(id=workspace.id).update(**{field_name: moment + timedelta(hours=1)})


async def _digest_batch(moment: datetime, batch: int, result: DigestRunResult,
                        workspace_ids: Collection[int] | None) -> int:
    async with in_transaction() as conn:
        query = _scoped(Workspace.filter(next_digest_at__lte=moment), workspace_ids) \
            .order_by("next_digest_at", "id").limit(batch)
        if conn.capabilities.support_for_update:
            query = query.select_for_update(skip_locked=True)
        due = list(await query)
        await _each(due, "next_digest_at", moment, result, _digest)
        result.workspaces += len(due)
        return len(due)


async def _digest(workspace: Workspace, moment: datetime, result: DigestRunResult) -> None:
    first = workspace.next_digest_at
    assert first is not None
    schedule = workspace.digest_schedule
    slots: list[tuple[datetime, str]] = []
    following: datetime | None = None
    if schedule != Schedule.OFF:
        slots, following = _slots(schedule, workspace.timezone, first, moment)
    # The claim: only the pass that still sees the moment it read moves it on.
    if not await Workspace.filter(id=workspace.id, next_digest_at=first, digest_schedule=schedule) \
            .update(next_digest_at=following):
        log.debug("workspace %s: another pass or a change of schedule came first", workspace.id)
        return
    address = f"channel:{workspace.feed_channel}" if workspace.feed_channel else None
    for slot, action in slots:
        await _enqueue(workspace, DIGEST_KIND, address, digest_dedupe_key(workspace.id, schedule, slot),
                       {"type": "digest", "period": Schedule(schedule).period.value, "at": slot.isoformat(),
                        "late": action == "late"}, workspace.default_locale, slot, action, moment, result)


async def _enqueue(workspace: Workspace, kind: str, address: str | None, dedupe: str, payload: dict[str, object],
                   locale: str, slot: datetime, action: str, moment: datetime, result: DigestRunResult) -> None:
    if address is None:
        log.info("workspace %s: no feed channel, so the %s of %s is not posted", workspace.id, kind, slot)
        return
    if action == "drop":
        reason = (f"dropped: {int((moment - slot).total_seconds() // 3600)} h late, older than the period it "
                  "covers (the server was down); a newer one covers more recent news")
        log.warning("workspace %s %s of %s %s", workspace.id, kind, slot, reason)
        if await outbox.enqueue(workspace, workspace.platform, address, kind, payload, locale=locale,
                                dedupe_key=dedupe, not_before=moment, late=True, dropped_because=reason):
            result.dropped += 1
        return
    delivery = await outbox.enqueue(workspace, workspace.platform, address, kind, payload, locale=locale,
                                    dedupe_key=dedupe, late=action == "late")
    if delivery is None:  # queued already (same dedupe key)
        return
    result.enqueued.append(delivery.id)
    if kind == RECAP_KIND:
        result.recaps += 1
    if action == "late":
        result.late += 1
        log.info("workspace %s %s of %s sent late (%s)", workspace.id, kind, slot, moment - slot)


async def _recap_batch(moment: datetime, batch: int, result: DigestRunResult,
                       workspace_ids: Collection[int] | None) -> int:
    async with in_transaction() as conn:
        query = _scoped(Workspace.filter(next_recap_at__lte=moment), workspace_ids) \
            .order_by("next_recap_at", "id").limit(batch)
        if conn.capabilities.support_for_update:
            query = query.select_for_update(skip_locked=True)
        due = list(await query)
        await _each(due, "next_recap_at", moment, result, _recaps)
        return len(due)


async def _recaps(workspace: Workspace, moment: datetime, result: DigestRunResult) -> None:
    first = workspace.next_recap_at
    assert first is not None
    members = await Member.filter(workspace_id=workspace.id, recap_enabled=True, is_bot=False).order_by("id")
    slots, following = _slots(Schedule.MONTHLY, workspace.timezone, first, moment)
    # Nobody wants one any more: nothing is planned until someone asks again.
    if not await Workspace.filter(id=workspace.id, next_recap_at=first) \
            .update(next_recap_at=following if members else None):
        return
    for slot, action in slots:
        for member in members:
            await _enqueue(workspace, RECAP_KIND, f"member:{member.platform_user_id}",
                           recap_dedupe_key(member.id, slot),
                           {"type": "recap", "member_id": member.id, "at": slot.isoformat(),
                            "late": action == "late"},
                           member.locale or workspace.default_locale, slot, action, moment, result)


async def run_forever(interval: float = DEFAULT_INTERVAL) -> None:
    """Run a pass every ``interval`` seconds until cancelled; a failing pass is logged, never fatal."""
    while True:
        try:
            result = await run_due()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await outage.report(log, error, "digest pass failed")
        else:
            outage.answered()
            if result.sent or result.dropped:
                log.info("digests: %d enqueued (%d late), %d dropped", result.sent, result.late, result.dropped)
        await asyncio.sleep(interval)


__all__ = ["DIGEST_KIND", "RECAP_KIND", "DigestRunResult", "classify", "run_due", "run_forever"]
