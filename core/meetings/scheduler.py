"""The reminder scheduler: one pass turns every due reminder into an outbox delivery, exactly once.

A pass reads only meetings whose ``next_reminder_at`` has come (an index range scan, so its cost
grows with what is due, not with the number of meetings). For each, in one transaction, it bumps
the meeting's ``schedule_version`` with a conditional update (the claim: a racing pass that read
the same row changes nothing and rolls back), writes the reminder to the outbox with a dedupe key
per (meeting, occurrence, offset) and plans the next reminder. On PostgreSQL the rows are also
selected ``FOR UPDATE SKIP LOCKED``, so passes in several processes share the work instead of
waiting on each other.

Late policy, after downtime: a reminder later than its own lead time (the meeting has started) is
dropped and logged (an outbox row with status ``dropped`` says so to admins); a reminder less late
than that is sent once, marked late.

``preview_due`` says what a pass would do without changing anything: a pass "in the future" (a test
of the clock) would send reminders early and drop the real ones for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.queryset import QuerySet

from core import outage, outbox
from core.clock import aware
from core.meetings import prompts
from core.meetings.claims import LostRace, handle_due
from core.meetings.models import Meeting
from core.meetings.recurrence import Occurrence, Override, ReminderKey, occurrence_at
from core.meetings.service import (
    REMINDER_KIND,
    overrides_of,
    plan_next_reminder,
    reminder_dedupe_key,
    series_of,
)
from core.models import Delivery, Workspace

log = logging.getLogger("kizuna.meetings.scheduler")

# A reminder up to this late counts as on time (the loop runs every ~15 s).
LATE_TOLERANCE = timedelta(minutes=2)
# How many reminders of one meeting one pass works through (a long outage is caught up over passes).
MAX_REMINDERS_PER_MEETING = 50
DEFAULT_BATCH = 200
DEFAULT_INTERVAL = 15.0


@dataclass
class RunDueResult:
    """What one scheduler pass did."""

    now: datetime
    meetings: int = 0
    enqueued: list[int] = field(default_factory=list)
    late: int = 0
    dropped: int = 0
    errors: int = 0
    # The after-meeting prompts of the same pass (``core.meetings.prompts``).
    prompts: prompts.PromptsResult = field(default_factory=prompts.PromptsResult)

    @property
    def sent(self) -> int:
        """Reminders written to the outbox in this pass."""
        return len(self.enqueued)


@dataclass(frozen=True)
class _Decision:
    key: ReminderKey
    action: str  # "send", "late", "drop", "gone"


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder a pass would handle: ``action`` is ``send``, ``late`` or ``drop`` (see ``classify``)."""

    workspace_id: int
    meeting_id: int
    title: str
    occurrence: str
    starts_at: datetime
    offset_minutes: int
    due_at: datetime
    action: str
    address_key: str


def classify(key: ReminderKey, starts_at: datetime, now: datetime) -> str:
    """``send`` (on time), ``late`` (late, but before the start) or ``drop`` (later than its lead time)."""
    lateness = now - key.at
    if lateness <= LATE_TOLERANCE:
        return "send"
    if lateness > timedelta(minutes=key.offset) or now >= starts_at:
        return "drop"
    return "late"


async def run_due(now: datetime | None = None, *, batch: int = DEFAULT_BATCH, max_batches: int = 50,
                  workspace_ids: Collection[int] | None = None) -> RunDueResult:
    """One scheduler pass at ``now`` (default: the clock): every due reminder goes to the outbox once.

    ``workspace_ids`` limits the pass to those workspaces' meetings. The same pass posts the
    prompts of the occurrences that have ended (``result.prompts``).
    """
    moment = aware(now)
    result = RunDueResult(moment)
    for _ in range(max_batches):
        handled = await _run_batch(moment, batch, result, workspace_ids)
        if handled < batch:
            break
    result.prompts = await prompts.run_due(moment, batch=batch, max_batches=max_batches, workspace_ids=workspace_ids)
    return result


async def preview_due(now: datetime | None = None, *, workspace_ids: Collection[int] | None = None,
                      limit: int = 1000) -> list[PlannedReminder]:
    """What ``run_due(now)`` would send and drop, in order, changing nothing (at most ``limit`` meetings)."""
    moment = aware(now)
    query = _due(moment, workspace_ids)
    planned: list[PlannedReminder] = []
    for meeting in await query.limit(limit):
        # ``_decide`` moves the meeting's plan on in memory only; nothing here is saved.
        for decision, occurrence in _decide(meeting, await overrides_of(meeting.id), moment):
            if occurrence is None:
                continue
            if await Delivery.exists(dedupe_key=reminder_dedupe_key(meeting.id, occurrence, decision.key.offset)):
                continue  # queued (or dropped) already: a pass would skip it too
            planned.append(PlannedReminder(
                meeting.workspace_id, meeting.id, meeting.title, occurrence.key, occurrence.starts_at,
                decision.key.offset, decision.key.at, decision.action, f"channel:{meeting.channel}"))
    return planned


def _due(moment: datetime, workspace_ids: Collection[int] | None) -> QuerySet[Meeting]:
    query = Meeting.filter(next_reminder_at__lte=moment)
    if workspace_ids is not None:
        query = query.filter(workspace_id__in=list(workspace_ids))
    return query.order_by("next_reminder_at", "id")


async def _run_batch(moment: datetime, batch: int, result: RunDueResult,
                     workspace_ids: Collection[int] | None = None) -> int:
    async def handle(meeting: Meeting, workspace: Workspace) -> None:
        await _handle(meeting, workspace, moment, result)

    taken, errors = await handle_due(_due(moment, workspace_ids).limit(batch), handle, moment=moment,
                                     retry_field="next_reminder_at", what="reminders")
    result.meetings += taken
    result.errors += errors
    return taken


async def _handle(meeting: Meeting, workspace: Workspace, moment: datetime, result: RunDueResult) -> None:
    overrides = await overrides_of(meeting.id)
    version = meeting.schedule_version
    decisions = _decide(meeting, overrides, moment)
    # The claim: only the pass that still sees the version it read moves the plan on.
    changed = await Meeting.filter(id=meeting.id, schedule_version=version).update(
        next_reminder_at=meeting.next_reminder_at, next_reminder_occurrence=meeting.next_reminder_occurrence,
        next_reminder_offset=meeting.next_reminder_offset, schedule_version=F("schedule_version") + 1)
    if not changed:
        raise LostRace()
    for decision, occurrence in decisions:
        if occurrence is None:
            continue
        await _apply(meeting, workspace, decision, occurrence, moment, result)


def _decide(meeting: Meeting, overrides: dict[str, Override],
            moment: datetime) -> list[tuple[_Decision, Occurrence | None]]:
    """Every reminder of ``meeting`` due by ``moment``, classified; moves the meeting's plan on (in memory)."""
    assert meeting.next_reminder_at is not None
    key = ReminderKey(meeting.next_reminder_at, meeting.next_reminder_occurrence or "",
                      meeting.next_reminder_offset if meeting.next_reminder_offset is not None else 0)
    decisions: list[tuple[_Decision, Occurrence | None]] = []
    for _ in range(MAX_REMINDERS_PER_MEETING):
        occurrence = occurrence_at(series_of(meeting), key.occurrence, overrides.get(key.occurrence))
        if occurrence is None:
            decisions.append((_Decision(key, "gone"), None))
        else:
            decisions.append((_Decision(key, classify(key, occurrence.starts_at, moment)), occurrence))
        plan_next_reminder(meeting, overrides, key)
        if meeting.next_reminder_at is None or meeting.next_reminder_at > moment:
            break
        key = ReminderKey(meeting.next_reminder_at, meeting.next_reminder_occurrence or "",
                          meeting.next_reminder_offset or 0)
    return decisions


async def _apply(meeting: Meeting, workspace: Workspace, decision: _Decision, occurrence: Occurrence,
                 moment: datetime, result: RunDueResult) -> None:
    key = decision.key
    dedupe = reminder_dedupe_key(meeting.id, occurrence, key.offset)
    payload = {"type": "reminder", "meeting_id": meeting.id, "occurrence": occurrence.key,
               "late": decision.action == "late"}
    address = f"channel:{meeting.channel}"
    if decision.action == "drop":
        lateness = moment - key.at
        reason = (f"dropped: {int(lateness.total_seconds() // 60)} min late, more than its "
                  f"{key.offset} min lead time (the meeting had started)")
        log.warning("meeting %s occurrence %s reminder %sm %s", meeting.id, occurrence.key, key.offset, reason)
        dropped = await outbox.enqueue(workspace, workspace.platform, address, REMINDER_KIND, payload,
                                       locale=workspace.default_locale, dedupe_key=dedupe, not_before=moment,
                                       late=True, dropped_because=reason)
        if dropped is not None:  # None: this drop was recorded already
            result.dropped += 1
        return
    delivery = await outbox.enqueue(workspace, workspace.platform, address, REMINDER_KIND, payload,
                                    locale=workspace.default_locale, dedupe_key=dedupe,
                                    late=decision.action == "late")
    if delivery is None:  # queued already (same dedupe key)
        return
    result.enqueued.append(delivery.id)
    if decision.action == "late":
        result.late += 1
        log.info("meeting %s occurrence %s reminder %sm sent late (%s)", meeting.id, occurrence.key,
                 key.offset, moment - key.at)


async def run_forever(interval: float = DEFAULT_INTERVAL) -> None:
    """Run a pass every ``interval`` seconds until cancelled; a failing pass is logged (a database
    outage once), never fatal."""
    while True:
        try:
            result = await run_due()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await outage.report(log, error, "scheduler pass failed")
        else:
            outage.answered()
            if result.sent or result.dropped:
                log.info("scheduler: %d reminders enqueued (%d late), %d dropped", result.sent, result.late,
                         result.dropped)
            if result.prompts.sent or result.prompts.dropped:
                log.info("scheduler: %d after-meeting prompts enqueued (%d late), %d dropped", result.prompts.sent,
                         result.prompts.late, result.prompts.dropped)
        await asyncio.sleep(interval)


__all__ = ["LATE_TOLERANCE", "PlannedReminder", "RunDueResult", "classify", "preview_due", "run_due", "run_forever"]
