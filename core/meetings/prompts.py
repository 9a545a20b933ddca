"""After every meeting: when an occurrence ends, one prompt to thank the people who came, exactly once.

The prompt rides on the reminder scheduler's machinery: each meeting keeps only its *next* prompt
(``next_prompt_at``, the end of the occurrence it is for, indexed), a pass reads only the meetings
whose prompt has come, and claims each by bumping ``schedule_version`` with a conditional update
(a racing pass, or an edit, that changed the row first makes this one roll back). On PostgreSQL
the rows are also selected ``FOR UPDATE SKIP LOCKED``, so passes in several processes share the
work. The prompt goes to the outbox with a dedupe key per (meeting, occurrence, end): a restart
loses none, two processes never post one twice, and a moved occurrence prompts at its new end.

Late policy, after downtime: a prompt up to ``LATE_TOLERANCE`` late is on time; later, it is posted
once, marked late, unless it is stale: more than ``STALE_AFTER`` (a day) after the end, or once the
next occurrence of the series has started (a prompt then would be about the wrong meeting). A stale
prompt is recorded as ``dropped`` in the outbox, with its reason, for ``kizuna outbox list``.
Skipped occurrences have no end, so no prompt; a paused or ended series, or one whose prompt is
turned off, plans none.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.queryset import QuerySet

from core import outbox
from core.meetings.claims import LostRace, handle_due
from core.meetings.models import Meeting
from core.meetings.recurrence import Occurrence, Override, occurrence_at, occurrences
from core.meetings.service import PROMPT_KIND, overrides_of, plan_next_prompt, prompt_dedupe_key, series_of
from core.models import Delivery, Workspace

log = logging.getLogger("kizuna.meetings.prompts")

# A prompt up to this late counts as on time (the scheduler runs every ~15 s).
LATE_TOLERANCE = timedelta(minutes=2)
# A prompt found later than this after its meeting ended is not posted: "thank someone from
# yesterday's meeting" still reads well, one from last week does not.
STALE_AFTER = timedelta(days=1)
# How many prompts of one meeting one pass works through (a long outage is caught up over passes).
MAX_PROMPTS_PER_MEETING = 50


@dataclass
class PromptsResult:
    """What one prompt pass did."""

    meetings: int = 0
    enqueued: list[int] = field(default_factory=list)
    late: int = 0
    dropped: int = 0
    errors: int = 0

    @property
    def sent(self) -> int:
        """Prompts written to the outbox in this pass."""
        return len(self.enqueued)


def classify(occurrence: Occurrence, following: Occurrence | None, now: datetime) -> str:
    """``send`` (on time), ``late`` (late, not stale) or ``drop`` (stale: a day late, or the next one began)."""
    lateness = now - occurrence.ends_at
    if lateness <= LATE_TOLERANCE:
        return "send"
    if lateness > STALE_AFTER or (following is not None and following.starts_at <= now):
        return "drop"
    return "late"


def _following(meeting: Meeting, overrides: dict[str, Override], occurrence: Occurrence) -> Occurrence | None:
    """The occurrence of the series that starts next after ``occurrence`` started."""
    later = [o for o in occurrences(series_of(meeting), overrides, occurrence.starts_at, 3)
             if o.key != occurrence.key and o.starts_at > occurrence.starts_at]
    return min(later, key=lambda o: o.starts_at, default=None)


def _due(moment: datetime, workspace_ids: Collection[int] | None) -> QuerySet[Meeting]:
    query = Meeting.filter(next_prompt_at__lte=moment)
    if workspace_ids is not None:
        query = query.filter(workspace_id__in=list(workspace_ids))
    return query.order_by("next_prompt_at", "id")


async def run_due(moment: datetime, *, batch: int = 200, max_batches: int = 50,
                  workspace_ids: Collection[int] | None = None) -> PromptsResult:
    """One pass at ``moment``: every prompt that has come goes to the outbox once (or is dropped as stale)."""
    result = PromptsResult()
    for _ in range(max_batches):
        handled = await _run_batch(moment, batch, result, workspace_ids)
        if handled < batch:
            break
    return result


@dataclass(frozen=True)
class PlannedPrompt:
    """A prompt a pass would handle: ``action`` is ``send``, ``late`` or ``drop`` (see ``classify``)."""

    meeting_id: int
    title: str
    occurrence: str
    ends_at: datetime
    action: str
    address_key: str


async def preview_due(moment: datetime, *, workspace_ids: Collection[int] | None = None,
                      limit: int = 1000) -> list[PlannedPrompt]:
    """What ``run_due(moment)`` would post and drop, changing nothing (at most ``limit`` meetings)."""
    planned: list[PlannedPrompt] = []
    for meeting in await _due(moment, workspace_ids).limit(limit):
        overrides = await overrides_of(meeting.id)
        # ``_decide`` moves the meeting's plan on in memory only; nothing here is saved.
        for occurrence in _decide(meeting, overrides, moment):
            if await Delivery.exists(dedupe_key=prompt_dedupe_key(meeting.id, occurrence)):
                continue  # queued (or dropped) already: a pass would skip it too
            planned.append(PlannedPrompt(meeting.id, meeting.title, occurrence.key, occurrence.ends_at,
                                         classify(occurrence, _following(meeting, overrides, occurrence), moment),
                                         f"channel:{meeting.channel}"))
    return planned



async def _run_batch(moment: datetime, batch: int, result: PromptsResult,
                     workspace_ids: Collection[int] | None = None) -> int:
    async def handle(meeting: Meeting, workspace: Workspace) -> None:
        await _handle(meeting, workspace, moment, result)

    taken, errors = await handle_due(_due(moment, workspace_ids).limit(batch), handle, moment=moment,
                                     retry_field="next_prompt_at", what="the after-meeting prompt")
    result.meetings += taken
    result.errors += errors
    return taken


async def _handle(meeting: Meeting, workspace: Workspace, moment: datetime, result: PromptsResult) -> None:
    overrides = await overrides_of(meeting.id)
    version = meeting.schedule_version
    owed = _decide(meeting, overrides, moment)
    # The claim: only the pass that still sees the version it read moves the plan on.
    changed = await Meeting.filter(id=meeting.id, schedule_version=version).update(
        next_prompt_at=meeting.next_prompt_at, next_prompt_occurrence=meeting.next_prompt_occurrence,
        schedule_version=F("schedule_version") + 1)
    if not changed:
        raise LostRace()
    for occurrence in owed:
        await _apply(meeting, workspace, overrides, occurrence, moment, result)


def _decide(meeting: Meeting, overrides: dict[str, Override], moment: datetime) -> list[Occurrence]:
    """The occurrences whose prompt is owed by ``moment``; moves the meeting's plan on (in memory)."""
    assert meeting.next_prompt_at is not None
    if meeting.next_prompt_occurrence is None:
        # No plan yet (a meeting from before prompts): plan from now, post nothing for the past.
        plan_next_prompt(meeting, overrides, moment)
        return []
    owed: list[Occurrence] = []
    at, key = meeting.next_prompt_at, meeting.next_prompt_occurrence
    for _ in range(MAX_PROMPTS_PER_MEETING):
        occurrence = occurrence_at(series_of(meeting), key, overrides.get(key))
        if occurrence is not None and occurrence.ends_at > moment:
            # The plan disagrees with the series (edits re-plan, so it should not): wait for its real end.
            meeting.next_prompt_at = occurrence.ends_at
            break
        if occurrence is not None:
            owed.append(occurrence)
        plan_next_prompt(meeting, overrides, at, key)
        if meeting.next_prompt_at is None or meeting.next_prompt_at > moment:
            break
        at, key = meeting.next_prompt_at, meeting.next_prompt_occurrence or ""
    return owed


async def _apply(meeting: Meeting, workspace: Workspace, overrides: dict[str, Override], occurrence: Occurrence,
                 moment: datetime, result: PromptsResult) -> None:
    action = classify(occurrence, _following(meeting, overrides, occurrence), moment)
    payload = {"type": "after_meeting", "meeting_id": meeting.id, "occurrence": occurrence.key,
               "late": action == "late"}
    address = f"channel:{meeting.channel}"
    dedupe = prompt_dedupe_key(meeting.id, occurrence)
    if action == "drop":
        late = moment - occurrence.ends_at
        reason = (f"dropped: {int(late.total_seconds() // 60)} min after the meeting ended, more than a day or "
                  "after the next occurrence began")
        log.warning("meeting %s occurrence %s after-meeting prompt %s", meeting.id, occurrence.key, reason)
        if await outbox.enqueue(workspace, workspace.platform, address, PROMPT_KIND, payload,
                                locale=workspace.default_locale, dedupe_key=dedupe, not_before=moment, late=True,
                                dropped_because=reason) is not None:
            result.dropped += 1
        return
    delivery = await outbox.enqueue(workspace, workspace.platform, address, PROMPT_KIND, payload,
                                    locale=workspace.default_locale, dedupe_key=dedupe, late=action == "late")
    if delivery is None:  # queued already (same dedupe key)
        return
    result.enqueued.append(delivery.id)
    if action == "late":
        result.late += 1
        log.info("meeting %s occurrence %s after-meeting prompt posted late (%s)", meeting.id, occurrence.key,
                 moment - occurrence.ends_at)


__all__ = ["LATE_TOLERANCE", "STALE_AFTER", "PlannedPrompt", "PromptsResult", "classify", "preview_due", "run_due"]
