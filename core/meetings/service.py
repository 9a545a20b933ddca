"""Meeting services: create, edit, skip, move, pause, resume and end a series; RSVPs per occurrence.

Every adapter (Teams dialog, Discord ``/meeting``, console) calls these and gets plain views back or
a typed, localised error. Each change of the schedule recomputes the meeting's next reminder, which
is all the scheduler ever reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import outbox
from core.clock import aware
from core.errors import UnknownDepartment
from core.i18n import fold
from core.meetings import errors
from core.meetings.models import ACTIVE, DEFAULT_REMINDER_OFFSETS, ENDED, PAUSED, Meeting, OccurrenceOverride, Rsvp
from core.meetings.recurrence import (
    LOCAL_FORMAT,
    Occurrence,
    Override,
    RecurrenceError,
    ReminderKey,
    Repeat,
    Series,
    build_rule,
    classify_rule,
    local_key,
    next_end,
    next_reminder,
    occurrence_at,
    occurrences,
    parse_duration,
    parse_local,
    parse_offsets,
    start_of_time,
    to_local,
    zone,
)
from core.models import Delivery, Department, Member, Workspace, is_row_id
from core.projects.models import Project
from core.projects.service import project_for_meeting
from core.services.members import find_department
from core.views import MemberRef, ProjectRef
from core.words import parse_switch

RsvpAnswer = Literal["yes", "maybe", "no"]
ANSWERS: tuple[RsvpAnswer, ...] = ("yes", "maybe", "no")
# The words people use for an answer, in both languages (folded).
_ANSWER_WORDS: dict[str, RsvpAnswer] = {
    "yes": "yes", "y": "yes", "going": "yes", "go": "yes", "attend": "yes", "はい": "yes", "参加": "yes",
    "出席": "yes", "行く": "yes",
    "maybe": "maybe", "tentative": "maybe", "perhaps": "maybe", "たぶん": "maybe", "未定": "maybe",
    "検討中": "maybe",
    "no": "no", "n": "no", "cant": "no", "can't": "no", "cannot": "no", "not going": "no", "decline": "no",
    "いいえ": "no", "不参加": "no", "欠席": "no", "行けない": "no",
}
MAX_TITLE = 200
MAX_AGENDA = 2000
MAX_PLACE = 500
MAX_DEPARTMENTS = 10
MAX_DURATION = 24 * 60
REMINDER_KIND = "reminder"
# The outbox kind of the prompt posted when an occurrence ends ("thank someone from this meeting").
PROMPT_KIND = "after_meeting"


# ---- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingView:
    """A meeting series as adapters and cards see it."""

    id: int
    workspace_id: int
    title: str
    agenda: str
    departments: tuple[str, ...]
    start_local: str
    timezone: str
    rrule: str
    repeat: Repeat
    until_local: date | None
    duration_minutes: int
    place: str
    channel: str
    reminder_offsets: tuple[int, ...]
    organiser: MemberRef | None
    status: str
    next_occurrence: Occurrence | None
    next_reminder_at: datetime | None
    skipped: tuple[str, ...]
    external_event_id: str | None
    # Whether a prompt to thank the people who came is posted after each occurrence.
    thanks_prompt: bool = True
    next_prompt_at: datetime | None = None
    # The cross-department project it belongs to (a kick-off, a sync, a retrospective), if any.
    project: ProjectRef | None = None


@dataclass(frozen=True)
class RsvpSummary:
    """Who answered what for one occurrence (names in answer order: earliest first)."""

    meeting_id: int
    occurrence: str
    going: tuple[MemberRef, ...]
    maybe: tuple[MemberRef, ...]
    not_going: tuple[MemberRef, ...]

    @property
    def counts(self) -> dict[RsvpAnswer, int]:
        """``{"yes": n, "maybe": n, "no": n}``."""
        return {"yes": len(self.going), "maybe": len(self.maybe), "no": len(self.not_going)}

    def answer_of(self, member_id: int) -> RsvpAnswer | None:
        """What member ``member_id`` answered, if anything."""
        for answer, people in (("yes", self.going), ("maybe", self.maybe), ("no", self.not_going)):
            if any(p.id == member_id for p in people):
                return answer  # type: ignore[return-value]
        return None


# ---- helpers shared with the scheduler -----------------------------------------------------------


def series_of(meeting: Meeting) -> Series:
    """The recurrence of ``meeting``."""
    return Series(datetime.strptime(meeting.start_local, LOCAL_FORMAT), meeting.timezone, meeting.rrule,
                  meeting.until_local, meeting.duration_minutes)


async def overrides_of(meeting_id: int) -> dict[str, Override]:
    """The skipped and moved occurrences of one meeting, by occurrence key."""
    rows = await OccurrenceOverride.filter(meeting_id=meeting_id)
    return {r.occurrence: Override(r.skipped, datetime.strptime(r.moved_to_local, LOCAL_FORMAT)
                                   if r.moved_to_local else None) for r in rows}


def plan_next_reminder(meeting: Meeting, overrides: dict[str, Override], after: ReminderKey) -> None:
    """Set ``meeting.next_reminder_*`` to the first reminder after ``after`` (None if none or not active)."""
    upcoming = None
    if meeting.status == ACTIVE:
        upcoming = next_reminder(series_of(meeting), overrides, meeting.reminder_offsets, after)
    meeting.next_reminder_at = upcoming.key.at if upcoming else None
    meeting.next_reminder_occurrence = upcoming.key.occurrence if upcoming else None
    meeting.next_reminder_offset = upcoming.key.offset if upcoming else None


def plan_next_prompt(meeting: Meeting, overrides: dict[str, Override], after: datetime,
                     after_occurrence: str = "") -> None:
    """Set ``meeting.next_prompt_*`` to the end of the first occurrence ending after ``(after,
    after_occurrence)``: None if there is none, the meeting is not active or its prompt is off."""
    upcoming = None
    if meeting.status == ACTIVE and meeting.thanks_prompt:
        upcoming = next_end(series_of(meeting), overrides, after, after_occurrence)
    meeting.next_prompt_at = upcoming.ends_at if upcoming else None
    meeting.next_prompt_occurrence = upcoming.key if upcoming else None


def prompt_dedupe_key(meeting_id: int, occurrence: Occurrence) -> str:
    """One prompt per (meeting, occurrence) and end: a moved occurrence prompts at its new end."""
    return f"prompt:{meeting_id}:{occurrence.key}:{occurrence.ends_at:%Y%m%dT%H%MZ}"


async def _cancel_pending_prompts(meeting_id: int, occurrence: str | None, reason: str) -> None:
    """Prompts already in the outbox but not posted are dropped when they should no longer be."""
    prefix = f"prompt:{meeting_id}:" + (f"{occurrence}:" if occurrence else "")
    await Delivery.filter(status=outbox.PENDING, kind=PROMPT_KIND, dedupe_key__startswith=prefix).update(
        status=outbox.DROPPED, last_error=reason)


def reminder_dedupe_key(meeting_id: int, occurrence: Occurrence, offset: int) -> str:
    """One reminder per (meeting, occurrence, offset), and again only if the occurrence is moved."""
    return f"reminder:{meeting_id}:{occurrence.key}:{offset}:{occurrence.starts_at:%Y%m%dT%H%MZ}"


async def _cancel_pending_reminders(meeting_id: int, occurrence: str | None, reason: str) -> None:
    """Reminders already in the outbox but not sent are dropped when their occurrence goes away."""
    prefix = f"reminder:{meeting_id}:" + (f"{occurrence}:" if occurrence else "")
    await Delivery.filter(status=outbox.PENDING, kind=REMINDER_KIND, dedupe_key__startswith=prefix).update(
        status=outbox.DROPPED, last_error=reason)


async def _view(meeting: Meeting, now: datetime, overrides: dict[str, Override] | None = None) -> MeetingView:
    overrides = await overrides_of(meeting.id) if overrides is None else overrides
    organiser = await Member.get_or_none(id=meeting.organiser_id) if meeting.organiser_id else None
    project = await Project.get_or_none(id=meeting.project_id) if meeting.project_id else None
    series = series_of(meeting)
    upcoming = occurrences(series, overrides, now, 1) if meeting.status != ENDED else []
    return MeetingView(
        id=meeting.id, workspace_id=meeting.workspace_id, title=meeting.title, agenda=meeting.agenda,
        departments=tuple(meeting.departments), start_local=meeting.start_local, timezone=meeting.timezone,
        rrule=meeting.rrule, repeat=classify_rule(meeting.rrule, series.start_local),
        until_local=meeting.until_local, duration_minutes=meeting.duration_minutes, place=meeting.place,
        channel=meeting.channel, reminder_offsets=tuple(meeting.reminder_offsets),
        organiser=MemberRef(organiser.id, organiser.platform_user_id, organiser.display_name) if organiser else None,
        status=meeting.status, next_occurrence=upcoming[0] if upcoming else None,
        next_reminder_at=meeting.next_reminder_at,
        skipped=tuple(sorted(k for k, o in overrides.items() if o.skipped)),
        external_event_id=meeting.external_event_id, thanks_prompt=meeting.thanks_prompt,
        next_prompt_at=meeting.next_prompt_at, project=ProjectRef(project.key, project.name) if project else None,
    )


async def _get(workspace: Workspace, meeting_id: int | str) -> Meeting:
    try:
        wanted = int(str(meeting_id).lstrip("#＃"))
    except ValueError:
        raise errors.MeetingNotFound(id=str(meeting_id)) from None
    if not is_row_id(wanted):
        raise errors.MeetingNotFound(id=str(meeting_id))
    meeting = await Meeting.get_or_none(id=wanted, workspace_id=workspace.id)
    if meeting is None:
        raise errors.MeetingNotFound(id=str(meeting_id))
    return meeting


def _require_organiser(meeting: Meeting, actor: Member) -> None:
    if actor.may_administer or (meeting.organiser_id is not None and actor.id == meeting.organiser_id):
        return
    raise errors.NotMeetingOrganiser()


async def _changeable(workspace: Workspace, actor: Member, meeting_id: int | str) -> Meeting:
    """A meeting ``actor`` may change: theirs (or they are an admin), and not ended."""
    meeting = await _get(workspace, meeting_id)
    _require_organiser(meeting, actor)
    _require_not_ended(meeting)
    return meeting


def _require_not_ended(meeting: Meeting) -> None:
    if meeting.status == ENDED:
        raise errors.MeetingEnded(title=meeting.title)


# ---- parsing and checking input ----------------------------------------------------------------


def parse_rsvp_answer(text: str) -> RsvpAnswer:
    """``yes``/``going``/``参加`` → ``yes``; ``maybe``/``未定`` → ``maybe``; ``no``/``不参加`` → ``no``."""
    answer = _ANSWER_WORDS.get(fold(text).replace("’", "'"))
    if answer is None:
        raise errors.InvalidRsvpAnswer(answer=text[:30])
    return answer


def _check_timezone(name: str) -> str:
    try:
        zone(name)
    except RecurrenceError:
        raise errors.InvalidTimezone(timezone=name[:64]) from None
    return name


def _local_start(start: datetime | str, tz_name: str) -> datetime:
    """A start as a naive local wall-clock time (text is local; an aware datetime is converted)."""
    if isinstance(start, str):
        try:
            return parse_local(start)
        except RecurrenceError:
            raise errors.InvalidMeetingStart(start=start[:40]) from None
    if start.tzinfo is not None:
        return to_local(start, zone(tz_name)).replace(second=0, microsecond=0)
    return start.replace(second=0, microsecond=0)


def _rule(repeat: Repeat | str | None, rrule: str | None, start: datetime) -> str:
    choice = repeat or (Repeat.CUSTOM if rrule else Repeat.NONE)
    try:
        return build_rule(_repeat_choice(choice), start, rrule)
    except RecurrenceError as error:
        raise errors.InvalidRepeat(repeat=(rrule or str(choice))[:80]) from error


_REPEAT_WORDS: dict[str, Repeat] = {
    "none": Repeat.NONE, "once": Repeat.NONE, "no": Repeat.NONE, "なし": Repeat.NONE, "一回": Repeat.NONE,
    "1回": Repeat.NONE, "単発": Repeat.NONE,
    "weekly": Repeat.WEEKLY, "week": Repeat.WEEKLY, "毎週": Repeat.WEEKLY,
    "biweekly": Repeat.BIWEEKLY, "fortnightly": Repeat.BIWEEKLY, "every-other-week": Repeat.BIWEEKLY,
    "隔週": Repeat.BIWEEKLY,
    "monthly": Repeat.MONTHLY, "month": Repeat.MONTHLY, "毎月": Repeat.MONTHLY,
    "monthly-nth-weekday": Repeat.MONTHLY_NTH_WEEKDAY, "monthly-weekday": Repeat.MONTHLY_NTH_WEEKDAY,
    "nth-weekday": Repeat.MONTHLY_NTH_WEEKDAY, "毎月第n曜日": Repeat.MONTHLY_NTH_WEEKDAY,
    "毎月曜日": Repeat.MONTHLY_NTH_WEEKDAY, "第n曜日": Repeat.MONTHLY_NTH_WEEKDAY,
    "custom": Repeat.CUSTOM, "rrule": Repeat.CUSTOM,
}


def _repeat_choice(value: Repeat | str) -> Repeat:
    if isinstance(value, Repeat):
        return value
    choice = _REPEAT_WORDS.get(fold(value).replace("_", "-").replace(" ", "-"))
    if choice is None:
        raise errors.InvalidRepeat(repeat=value[:80])
    return choice


def _offsets(remind: str | Sequence[int] | None) -> list[int]:
    if remind is None:
        return list(DEFAULT_REMINDER_OFFSETS)
    try:
        return list(parse_offsets(remind))
    except (RecurrenceError, ValueError, TypeError):
        raise errors.InvalidReminderOffsets(remind=str(remind)[:60]) from None


def _text(value: str, limit: int, error: type[Exception] | None = None) -> str:
    cleaned = value.strip()
    if len(cleaned) > limit:
        if error is not None:
            raise error
        cleaned = cleaned[:limit]
    return cleaned


def _title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned or len(cleaned) > MAX_TITLE:
        raise errors.InvalidMeetingTitle(max=MAX_TITLE)
    return cleaned


def _duration(minutes: int | str) -> int:
    """Minutes from ``90``, ``"90m"``, ``"1h30m"``, ``"1h 30m"``, ``"1.5h"``, ``"1時間30分"``; all of it or an error."""
    if isinstance(minutes, str):
        try:
            value = parse_duration(minutes)
        except RecurrenceError:
            shown = minutes.strip()
            raise errors.UnreadableDuration(duration=shown if len(shown) <= 40 else f"{shown[:40]}…") from None
    else:
        value = int(minutes)
    if not 0 < value <= MAX_DURATION:
        raise errors.InvalidDuration(max=MAX_DURATION)
    return value


async def _departments(workspace: Workspace, names: Sequence[str] | str,
                       project: Project | None = None) -> tuple[list[str], list[int]]:
    """The departments named, then those of ``project`` (a project's meeting invites its departments)."""
    wanted = [n.strip() for n in (names.replace("、", ",").split(",") if isinstance(names, str) else names)]
    wanted = [n for n in dict.fromkeys(wanted) if n]
    if len(wanted) > MAX_DEPARTMENTS:
        raise errors.InvalidMeetingCommand(hint=f"≤ {MAX_DEPARTMENTS} departments")
    shown, ids = [], []
    for name in wanted:
        department = await find_department(workspace, name)
        if department is None:
            raise UnknownDepartment(name=name[:100])
        if department.id not in ids:
            shown.append(department.name)
            ids.append(department.id)
    if project is not None and project.department_ids:
        names_of = {d.id: d.name for d in await Department.filter(workspace_id=workspace.id,
                                                                   id__in=project.department_ids)}
        for department_id in project.department_ids:
            if department_id in names_of and department_id not in ids:
                shown.append(names_of[department_id])
                ids.append(department_id)
    return shown, ids


def _switch(value: bool | str) -> bool:
    """``on``/``off`` in either language (or a bool) for the thanks prompt."""
    if isinstance(value, bool):
        return value
    switch = parse_switch(value.strip())
    if switch is None:
        raise errors.InvalidThanksPrompt(value=value.strip()[:30])
    return switch


def _check_has_future(meeting: Meeting, overrides: dict[str, Override], now: datetime) -> None:
    if not occurrences(series_of(meeting), overrides, now, 1):
        raise errors.InvalidMeetingStart(start=meeting.start_local.replace("T", " "))


# ---- the series --------------------------------------------------------------------------------


async def create_meeting(
    workspace: Workspace,
    organiser: Member | None,
    *,
    title: str,
    start: datetime | str,
    channel: str,
    timezone: str | None = None,
    repeat: Repeat | str | None = None,
    rrule: str | None = None,
    until: date | None = None,
    duration_minutes: int | str = 60,
    agenda: str = "",
    place: str = "",
    departments: Sequence[str] | str = (),
    remind: str | Sequence[int] | None = None,
    now: datetime | None = None,
    idempotency_key: str | None = None,
    thanks_prompt: bool | str = True,
    project: str | None = None,
) -> MeetingView:
    """Schedule a meeting series.

    ``start`` is the first occurrence as local wall-clock time in ``timezone`` (default: the
    workspace's): ``"2026-12-07 10:00"`` or a naive datetime (an aware one is converted).
    ``repeat`` is ``none`` (default), ``weekly``, ``biweekly``, ``monthly`` (same day of month),
    ``monthly-nth-weekday`` (e.g. the first Monday, taken from ``start``), or ``custom`` with an
    RFC 5545 ``rrule`` such as ``FREQ=WEEKLY;BYDAY=MO,TH`` (no sub-daily rules).
    ``remind`` is ``"1d,15m"`` or minutes ``[1440, 15]`` (default 1 day and 15 minutes before).
    ``departments`` are existing department names. ``channel`` is where reminders are posted
    (the platform's channel id). Reminders that would already be due are not sent. The same
    ``idempotency_key`` (the platform's event id) twice returns the first meeting.
    ``thanks_prompt`` (``on``/``off`` or a bool): post a prompt to thank the people who came when
    each occurrence ends (default on). ``project`` (a key or name, as typed after ``+``) makes it a
    meeting of that open project, which the organiser must belong to; it invites the project's departments.
    """
    moment = aware(now)
    if idempotency_key:
        existing = await Meeting.get_or_none(workspace_id=workspace.id, idempotency_key=idempotency_key)
        if existing is not None:
            return await _view(existing, moment)
    tz_name = _check_timezone(timezone or workspace.timezone)
    local = _local_start(start, tz_name)
    home = await project_for_meeting(workspace, organiser, project) if project else None
    shown, ids = await _departments(workspace, departments, home)
    if not channel or not channel.strip():
        raise errors.MeetingChannelRequired()
    meeting = Meeting(
        workspace_id=workspace.id, title=_title(title), agenda=_text(agenda, MAX_AGENDA),
        departments=shown, department_ids=ids, start_local=local_key(local), timezone=tz_name,
        rrule=_rule(repeat, rrule, local), until_local=until, duration_minutes=_duration(duration_minutes),
        place=_text(place, MAX_PLACE), channel=channel.strip()[:255], reminder_offsets=_offsets(remind),
        organiser_id=organiser.id if organiser is not None and organiser.id else None, status=ACTIVE,
        idempotency_key=idempotency_key or None, thanks_prompt=_switch(thanks_prompt),
        project_id=home.id if home is not None else None,
    )
    _check_has_future(meeting, {}, moment)
    plan_next_reminder(meeting, {}, start_of_time(moment))
    plan_next_prompt(meeting, {}, moment)
    try:
        await meeting.save()
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same event, delivered twice at once: the other delivery created it.
        return await _view(await Meeting.get(workspace_id=workspace.id, idempotency_key=idempotency_key), moment)
    return await _view(meeting, moment, {})


_UNSET: Any = object()


async def edit_meeting(
    workspace: Workspace,
    actor: Member,
    meeting_id: int | str,
    *,
    title: str | None = None,
    start: datetime | str | None = None,
    timezone: str | None = None,
    repeat: Repeat | str | None = None,
    rrule: str | None = None,
    until: date | None = _UNSET,
    duration_minutes: int | str | None = None,
    agenda: str | None = None,
    place: str | None = None,
    channel: str | None = None,
    departments: Sequence[str] | str | None = None,
    remind: str | Sequence[int] | None = None,
    thanks_prompt: bool | str | None = None,
    project: str | None = None,
    now: datetime | None = None,
) -> MeetingView:
    """Change a series (organiser or admin). ``None`` leaves a field as it is; ``until=None`` clears the end;
    ``project="none"`` takes it out of its project, another project moves it there (and invites its
    departments too).

    Changing the start or the repeat keeps skips, moves and RSVPs of occurrences that still exist.
    """
    moment = aware(now)
    meeting = await _changeable(workspace, actor, meeting_id)
    if title is not None:
        meeting.title = _title(title)
    if agenda is not None:
        meeting.agenda = _text(agenda, MAX_AGENDA)
    if place is not None:
        meeting.place = _text(place, MAX_PLACE)
    if channel is not None:
        if not channel.strip():
            raise errors.MeetingChannelRequired()
        meeting.channel = channel.strip()[:255]
    home = await project_for_meeting(workspace, actor, project) if project is not None else None
    if project is not None:
        meeting.project_id = home.id if home is not None else None
    if departments is not None:
        # A project's meeting keeps inviting the project's departments, next to those it names.
        its_project = home if project is not None else \
            await Project.get_or_none(id=meeting.project_id) if meeting.project_id else None
        meeting.departments, meeting.department_ids = await _departments(workspace, departments, its_project)
    elif home is not None:
        # Moved into a project: its departments are invited too, next to the meeting's own.
        shown, ids = await _departments(workspace, (), home)
        for name, department_id in zip(shown, ids, strict=True):
            if department_id not in meeting.department_ids:
                meeting.departments, meeting.department_ids = [*meeting.departments, name], \
                    [*meeting.department_ids, department_id]
    if remind is not None:
        meeting.reminder_offsets = _offsets(remind)
    if thanks_prompt is not None:
        meeting.thanks_prompt = _switch(thanks_prompt)
    if duration_minutes is not None:
        meeting.duration_minutes = _duration(duration_minutes)
    if until is not _UNSET:
        meeting.until_local = until
    if timezone is not None:
        meeting.timezone = _check_timezone(timezone)
    if start is not None or repeat is not None or rrule is not None:
        local = _local_start(start, meeting.timezone) if start is not None else series_of(meeting).start_local
        if repeat is None and rrule is None:
            current = classify_rule(meeting.rrule, series_of(meeting).start_local)
            # "Every first Monday" moves with the new start; a custom rule stays as written.
            meeting.rrule = _rule(current, meeting.rrule if current is Repeat.CUSTOM else None, local)
        else:
            meeting.rrule = _rule(repeat, rrule, local)
        meeting.start_local = local_key(local)
    overrides = await overrides_of(meeting.id)
    _check_has_future(meeting, overrides, moment)
    async with in_transaction():
        await _save_schedule(meeting, overrides, _resume_point(meeting, moment), moment)
        if not meeting.thanks_prompt:
            await _cancel_pending_prompts(meeting.id, None, "thanks prompt turned off")
    return await _view(meeting, moment, overrides)


def _resume_point(meeting: Meeting, now: datetime) -> ReminderKey:
    """Where the reminder plan continues after an edit: a reminder still owed (late) is not lost."""
    if meeting.next_reminder_at is not None and meeting.next_reminder_at < now:
        return start_of_time(meeting.next_reminder_at)
    return start_of_time(now)


def _prompt_resume_point(meeting: Meeting, now: datetime) -> datetime:
    """Where the prompt plan continues after a change: a prompt still owed (late) is not lost."""
    if meeting.next_prompt_occurrence and meeting.next_prompt_at is not None and meeting.next_prompt_at < now:
        return meeting.next_prompt_at
    return now


async def _save_schedule(meeting: Meeting, overrides: dict[str, Override], after: ReminderKey,
                         now: datetime | None = None) -> None:
    """Plan the next reminder (after ``after``) and the next prompt (from ``now``, or a prompt still owed)."""
    plan_next_reminder(meeting, overrides, after)
    plan_next_prompt(meeting, overrides, _prompt_resume_point(meeting, now or after.at))
    meeting.schedule_version += 1
    await meeting.save()


async def resolve_occurrence(workspace: Workspace, meeting_id: int | str, text: str,
                             now: datetime | None = None) -> str:
    """An occurrence key from what people type: the key itself, ``2026-12-07 10:00``, or a date."""
    meeting = await _get(workspace, meeting_id)
    return await _resolve(meeting, text, aware(now))


async def _resolve(meeting: Meeting, text: str, now: datetime) -> str:
    series = series_of(meeting)
    cleaned = text.strip().replace("/", "-").replace(" ", "T", 1)
    try:
        day = date.fromisoformat(cleaned)
    except ValueError:
        day = None
    if day is None:
        try:
            original = parse_local(text)
        except RecurrenceError:
            raise errors.UnknownOccurrence(occurrence=text[:40]) from None
        if not series.contains(original):
            raise errors.UnknownOccurrence(occurrence=text[:40])
        return local_key(original)
    for original in series.originals_from(datetime.combine(day, datetime.min.time())):
        if original.date() == day:
            return local_key(original)
        break
    raise errors.UnknownOccurrence(occurrence=text[:40])


async def _occurrence(meeting: Meeting, key: str, overrides: dict[str, Override] | None = None) -> Occurrence:
    overrides = await overrides_of(meeting.id) if overrides is None else overrides
    occ = occurrence_at(series_of(meeting), key, overrides.get(key))
    if occ is None:
        override = overrides.get(key)
        if override is not None and override.skipped:
            raise errors.OccurrenceSkipped(occurrence=key.replace("T", " "))
        raise errors.UnknownOccurrence(occurrence=key[:40])
    return occ


async def skip_occurrence(workspace: Workspace, actor: Member, meeting_id: int | str, occurrence: str, *,
                          now: datetime | None = None) -> MeetingView:
    """Skip one occurrence (a key or a date); the series goes on. Its pending reminders are dropped."""
    moment = aware(now)
    meeting = await _changeable(workspace, actor, meeting_id)
    key = await _resolve(meeting, occurrence, moment)
    return await _override(meeting, key, moment, {"skipped": True, "moved_to_local": None}, "occurrence skipped")


async def move_occurrence(workspace: Workspace, actor: Member, meeting_id: int | str, occurrence: str,
                          new_start: datetime | str, *, now: datetime | None = None) -> MeetingView:
    """Move one occurrence to ``new_start`` (local time in the meeting's zone); reminders follow it."""
    moment = aware(now)
    meeting = await _changeable(workspace, actor, meeting_id)
    key = await _resolve(meeting, occurrence, moment)
    local = _local_start(new_start, meeting.timezone)
    return await _override(meeting, key, moment, {"skipped": False, "moved_to_local": local_key(local)},
                           "occurrence moved")


async def _override(meeting: Meeting, key: str, moment: datetime, change: dict[str, Any], why: str) -> MeetingView:
    """Skip or move one occurrence: store the override, plan again, drop its queued reminders."""
    async with in_transaction():
        await OccurrenceOverride.update_or_create(change, meeting_id=meeting.id, occurrence=key)
        overrides = await overrides_of(meeting.id)
        await _save_schedule(meeting, overrides, _resume_point(meeting, moment), moment)
        await _cancel_pending_reminders(meeting.id, key, why)
        await _cancel_pending_prompts(meeting.id, key, why)
    return await _view(meeting, moment, overrides)


async def restore_occurrence(workspace: Workspace, actor: Member, meeting_id: int | str, occurrence: str, *,
                             now: datetime | None = None) -> MeetingView:
    """Undo a skip or a move of one occurrence."""
    moment = aware(now)
    meeting = await _changeable(workspace, actor, meeting_id)
    key = await _resolve(meeting, occurrence, moment)
    async with in_transaction():
        await OccurrenceOverride.filter(meeting_id=meeting.id, occurrence=key).delete()
        overrides = await overrides_of(meeting.id)
        await _save_schedule(meeting, overrides, _resume_point(meeting, moment), moment)
    return await _view(meeting, moment, overrides)


async def pause_meeting(workspace: Workspace, actor: Member, meeting_id: int | str, *,
                        now: datetime | None = None) -> MeetingView:
    """Stop reminders until resumed; reminders due meanwhile are not sent later."""
    moment = aware(now)
    meeting = await _changeable(workspace, actor, meeting_id)
    meeting.status = PAUSED
    async with in_transaction():
        await _save_schedule(meeting, {}, start_of_time(moment))
        await _cancel_pending_reminders(meeting.id, None, "meeting paused")
    return await _view(meeting, moment)


async def resume_meeting(workspace: Workspace, actor: Member, meeting_id: int | str, *,
                         now: datetime | None = None) -> MeetingView:
    """Resume reminders from now on."""
    moment = aware(now)
    meeting = await _changeable(workspace, actor, meeting_id)
    meeting.status = ACTIVE
    await _save_schedule(meeting, await overrides_of(meeting.id), start_of_time(moment))
    return await _view(meeting, moment)


async def end_meeting(workspace: Workspace, actor: Member, meeting_id: int | str, *,
                      now: datetime | None = None) -> MeetingView:
    """End (cancel) the series: no more occurrences or reminders; history and RSVPs are kept."""
    moment = aware(now)
    meeting = await _get(workspace, meeting_id)
    _require_organiser(meeting, actor)
    if meeting.status == ENDED:
        return await _view(meeting, moment)
    meeting.status = ENDED
    async with in_transaction():
        await _save_schedule(meeting, {}, start_of_time(moment))
        await _cancel_pending_reminders(meeting.id, None, "meeting ended")
    return await _view(meeting, moment)


async def set_external_event_id(workspace: Workspace, meeting_id: int | str, event_id: str | None) -> None:
    """Remember the platform object mirroring the series (e.g. a Discord Guild Scheduled Event)."""
    meeting = await _get(workspace, meeting_id)
    meeting.external_event_id = event_id
    await meeting.save(update_fields=["external_event_id", "updated_at"])


async def get_meeting(workspace: Workspace, meeting_id: int | str, *, now: datetime | None = None) -> MeetingView:
    """One meeting of the workspace, or MeetingNotFound."""
    return await _view(await _get(workspace, meeting_id), aware(now))


async def list_meetings(workspace: Workspace, *, include_ended: bool = False,
                        now: datetime | None = None) -> list[MeetingView]:
    """The workspace's meetings, the next one first (paused ones after, ended ones only if asked)."""
    moment = aware(now)
    query = Meeting.filter(workspace_id=workspace.id)
    if not include_ended:
        query = query.exclude(status=ENDED)
    views = [await _view(m, moment) for m in await query.order_by("id")]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(views, key=lambda v: (v.status != ACTIVE, v.next_occurrence.starts_at if v.next_occurrence
                                        else far, v.id))


async def upcoming_occurrences(workspace: Workspace, meeting_id: int | str, count: int = 5, *,
                               now: datetime | None = None) -> list[Occurrence]:
    """The next ``count`` occurrences (an ongoing one included), skipped ones left out."""
    meeting = await _get(workspace, meeting_id)
    if meeting.status == ENDED:
        return []
    return occurrences(series_of(meeting), await overrides_of(meeting.id), aware(now), max(1, min(count, 50)))


async def get_occurrence(workspace: Workspace, meeting_id: int | str, occurrence: str) -> Occurrence:
    """One occurrence by key (UnknownOccurrence / OccurrenceSkipped otherwise)."""
    return await _occurrence(await _get(workspace, meeting_id), occurrence)


# ---- RSVPs -------------------------------------------------------------------------------------


async def answer_rsvp(workspace: Workspace, member: Member, meeting_id: int | str, occurrence: str,
                      answer: str) -> RsvpSummary:
    """Record (or change) ``member``'s answer ``yes``/``maybe``/``no`` for one occurrence; returns the new counts."""
    meeting = await _get(workspace, meeting_id)
    choice = parse_rsvp_answer(answer)
    await _occurrence(meeting, occurrence)
    await Rsvp.update_or_create({"answer": choice}, meeting_id=meeting.id, occurrence=occurrence,
                                member_id=member.id)
    return await _summary(meeting.id, occurrence)


async def rsvp_summary(workspace: Workspace, meeting_id: int | str, occurrence: str) -> RsvpSummary:
    """Who is going, maybe, or not going to one occurrence (for cards and for the organiser)."""
    meeting = await _get(workspace, meeting_id)
    return await _summary(meeting.id, occurrence)


async def rsvp_details(workspace: Workspace, actor: Member, meeting_id: int | str, occurrence: str) -> RsvpSummary:
    """Who answered what, by name: only for the organiser or an admin (``NotMeetingOrganiser``)."""
    meeting = await _get(workspace, meeting_id)
    _require_organiser(meeting, actor)
    return await _summary(meeting.id, occurrence)


async def _summary(meeting_id: int, occurrence: str) -> RsvpSummary:
    rows = await Rsvp.filter(meeting_id=meeting_id, occurrence=occurrence).select_related("member") \
        .order_by("updated_at", "id")
    people: dict[str, list[MemberRef]] = {a: [] for a in ANSWERS}
    for row in rows:
        m = row.member
        people.setdefault(row.answer, []).append(MemberRef(m.id, m.platform_user_id, m.display_name))
    return RsvpSummary(meeting_id, occurrence, tuple(people["yes"]), tuple(people["maybe"]), tuple(people["no"]))


async def attendees(workspace: Workspace, meeting_id: int | str, occurrence: str) -> tuple[MemberRef, ...]:
    """Who said they were going: the people "Thank someone from this meeting" offers."""
    return (await rsvp_summary(workspace, meeting_id, occurrence)).going


def occurrence_over(occurrence: Occurrence, now: datetime | None = None) -> bool:
    """True once the occurrence has ended."""
    return aware(now) >= occurrence.ends_at


__all__ = [
    "ANSWERS", "MeetingView", "RsvpAnswer", "RsvpSummary", "answer_rsvp", "attendees", "create_meeting",
    "edit_meeting", "end_meeting", "get_meeting", "get_occurrence", "list_meetings", "move_occurrence",
    "occurrence_over", "overrides_of", "parse_rsvp_answer", "pause_meeting", "plan_next_prompt", "plan_next_reminder",
    "prompt_dedupe_key", "reminder_dedupe_key", "resolve_occurrence", "restore_occurrence", "resume_meeting",
    "rsvp_summary", "series_of", "set_external_event_id", "skip_occurrence", "upcoming_occurrences",
]
