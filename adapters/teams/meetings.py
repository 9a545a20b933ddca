"""Meetings in Teams: the "Schedule a meeting" / "Edit meeting" dialog, its answer, and the cards
that open it (the launcher, "Edit" on a meeting card).

The dialog is an Adaptive Card form shown by ``task/fetch`` (from the launcher card's button, or the
"Edit" button of a meeting card) or ``composeExtension/fetchTask`` (the "Schedule meeting" compose
extension); what it sends back is untrusted and becomes a ``CreateMeeting`` / ``EditMeeting``
command, checked by the core — an error (including "only the organiser or an admin") comes back
into the dialog. Text commands (``meeting list``…) are the core grammar's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.teams.render import (
    CARD_SCHEMA,
    CARD_VERSION,
    OPEN_MEETING_EDIT,
    OPEN_MEETING_FORM,
    SUBMIT_MEETING_EDIT,
    SUBMIT_MEETING_FORM,
    attachment,
    check_size,
    label,
    rich,
    run,
    task_fetch_button,
)
from core.app.commands import MeetingFields
from core.i18n import format_duration, format_durations, translate
from core.meetings import errors
from core.meetings.recurrence import RecurrenceError, format_offset, parse_offsets
from core.meetings.service import MeetingView

COMMAND_ID = "scheduleMeeting"

REPEATS = ("none", "weekly", "biweekly", "monthly", "monthly-nth-weekday")
# Reminder offsets offered in the dialog (the text command and the core accept any).
REMINDERS = ("1w", "1d", "2h", "1h", "30m", "15m", "5m")
DEFAULT_REMINDERS = "1d,15m"
DURATIONS = ("15", "30", "45", "60", "90", "120", "180")
# Common IANA zones; the workspace's own zone (and whatever was submitted) is always added.
TIMEZONES = (
    "Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore",
    "Asia/Bangkok", "Asia/Jakarta", "Asia/Manila", "Asia/Kolkata", "Asia/Dubai", "Australia/Perth",
    "Australia/Sydney", "Pacific/Auckland", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris",
    "Europe/Berlin", "Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw",
    "Europe/Helsinki", "Europe/Istanbul", "Africa/Johannesburg", "America/Sao_Paulo", "America/New_York",
    "America/Toronto", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "UTC",
)
MAX_TITLE_INPUT = 200
MAX_AGENDA_INPUT = 2000
MAX_PLACE_INPUT = 500


@dataclass(frozen=True)
class MeetingSubmission:
    """What the meeting dialog sent back (all text, as typed or chosen)."""

    title: str = ""
    date: str = ""
    time: str = ""
    timezone: str = ""
    repeat: str = "none"
    remind: str = DEFAULT_REMINDERS
    duration: str = "60"
    departments: tuple[str, ...] = ()
    place: str = ""
    agenda: str = ""
    # The toggle's value: "true" (post a thanks prompt after each occurrence) or "false".
    thanks_prompt: str = "true"
    # The project's key ("none": no project); "" when none was chosen.
    project: str = ""

    def fields(self) -> MeetingFields:
        """The meeting this dialog describes (for ``CreateMeeting``)."""
        if not self.date.strip() or not self.time.strip():
            raise errors.InvalidMeetingStart(start=f"{self.date} {self.time}".strip() or "—")
        return MeetingFields(
            title=self.title, start=f"{self.date.strip()} {self.time.strip()[:5]}",
            timezone=self.timezone.strip() or None, repeat=self.repeat.strip() or "none",
            remind=self.remind, duration=self.duration.strip() or "60",
            departments=",".join(self.departments), place=self.place, agenda=self.agenda,
            thanks_prompt=self.thanks_prompt.strip() or "true", project=_project_key(self.project) or None)


def _project_key(key: str) -> str:
    """A chosen project's key; "" for none."""
    return "" if key.strip() in ("", "none") else key.strip()


def _text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return value if isinstance(value, str) else default


def _list(raw: Any) -> tuple[str, ...]:
    items = [str(x) for x in raw] if isinstance(raw, list) else str(raw or "").split(",")
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def parse_meeting_submission(data: Mapping[str, Any] | None) -> MeetingSubmission:
    """The dialog's ``data`` (untrusted): a multi-select arrives as ``"a,b"``, a missing input as nothing."""
    data = data or {}
    return MeetingSubmission(
        title=_text(data, "title"), date=_text(data, "date"), time=_text(data, "time"),
        timezone=_text(data, "timezone"), repeat=_text(data, "repeat", "none"),
        remind=",".join(_list(data["remind"])) if "remind" in data else DEFAULT_REMINDERS,
        duration=_text(data, "duration", "60"), departments=_list(data.get("departments")),
        place=_text(data, "place"), agenda=_text(data, "agenda"),
        thanks_prompt=_text(data, "thanks_prompt", "true"), project=_text(data, "project")[:100],
    )


# ---- editing --------------------------------------------------------------------------------------

CUSTOM_REPEAT = "custom"  # a rule the dialog cannot express: "keep it as it is"
_REMINDER_MINUTES = {parse_offsets(code)[0]: code for code in REMINDERS}


def _offset_code(minutes: int) -> str:
    return _REMINDER_MINUTES.get(minutes) or format_offset(minutes)


def submission_from_view(view: MeetingView) -> MeetingSubmission:
    """The dialog's fields filled in from a meeting (``core.meetings.service.get_meeting``)."""
    date, _, time = view.start_local.partition("T")
    return MeetingSubmission(
        title=view.title, date=date, time=time[:5], timezone=view.timezone, repeat=str(view.repeat),
        remind=",".join(_offset_code(m) for m in view.reminder_offsets), duration=str(view.duration_minutes),
        departments=tuple(view.departments), place=view.place, agenda=view.agenda,
        thanks_prompt="true" if view.thanks_prompt else "false", project=view.project.key if view.project else "")


def edit_changes(view: MeetingView, submission: MeetingSubmission) -> MeetingFields:
    """What the dialog changed (for ``EditMeeting``; ``None`` keeps a field).

    Values are passed as typed: checking them is the core's job, so a bad one comes back as its error.
    """
    before = submission_from_view(view)
    changes: dict[str, Any] = {}
    if submission.title != before.title:
        changes["title"] = submission.title
    if (submission.date.strip(), submission.time.strip()[:5]) != (before.date, before.time):
        if not submission.date.strip() or not submission.time.strip():
            raise errors.InvalidMeetingStart(start=f"{submission.date} {submission.time}".strip() or "—")
        changes["start"] = f"{submission.date.strip()} {submission.time.strip()[:5]}"
    if submission.timezone.strip() and submission.timezone.strip() != before.timezone:
        changes["timezone"] = submission.timezone.strip()
    if submission.repeat.strip() not in ("", CUSTOM_REPEAT, before.repeat):
        changes["repeat"] = submission.repeat.strip()
    try:
        same_reminders = parse_offsets(submission.remind) == tuple(view.reminder_offsets)
    except (RecurrenceError, ValueError, TypeError):
        same_reminders = False
    if not same_reminders:
        changes["remind"] = submission.remind
    if submission.duration.strip() != before.duration:
        changes["duration"] = submission.duration.strip()
    if submission.departments != before.departments:
        changes["departments"] = ",".join(submission.departments)
    if submission.place != before.place:
        changes["place"] = submission.place
    if submission.agenda != before.agenda:
        changes["agenda"] = submission.agenda
    if submission.thanks_prompt.strip() and submission.thanks_prompt.strip() != before.thanks_prompt:
        changes["thanks_prompt"] = submission.thanks_prompt.strip()
    if _project_key(submission.project) != _project_key(before.project):
        changes["project"] = _project_key(submission.project) or "none"
    return MeetingFields(**changes)


def edit_button(locale: str, meeting_id: int) -> dict[str, Any]:
    """"Edit" on a meeting card: opens the dialog filled in (only the organiser or an admin can save)."""
    return task_fetch_button(translate(locale, "teams.meeting.edit.button"),
                             {"kizuna": OPEN_MEETING_EDIT, "meeting_id": str(meeting_id)})


def with_edit_button(card: dict[str, Any], locale: str, view: MeetingView) -> dict[str, Any]:
    """A meeting card (details, confirmation) with "Edit", unless the series has ended."""
    if view.status != "ended":
        card["actions"] = [*card.get("actions", []), edit_button(locale, view.id)]
        check_size(card)
    return card


def edit_launcher_card(locale: str, view: MeetingView) -> dict[str, Any]:
    """What ``meeting edit ID`` answers: the meeting's name and a button that opens the edit dialog."""
    card: dict[str, Any] = {
        "type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION, "lang": locale,
        "body": [label(translate(locale, "teams.meeting.edit.launcher", id=view.id, title=view.title),
                       weight="Bolder")],
        "actions": [edit_button(locale, view.id)],
    }
    check_size(card)
    return card


def _choice(title: str, value: str) -> dict[str, str]:
    return {"title": title, "value": value}


def _offset_text(offset: str, locale: str) -> str:
    """A reminder offset the dialog does not list, in words: ``2d`` → ``2 days`` / ``2日``."""
    try:
        minutes = parse_offsets(offset)
    except (RecurrenceError, ValueError, TypeError):
        return offset
    return format_durations(minutes, locale) or offset


def meeting_form(locale: str, departments: Sequence[str], timezone: str, *,
                 submission: MeetingSubmission | None = None, error: str | None = None,
                 meeting_id: int | None = None, projects: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The "Schedule a meeting" dialog card; what was submitted is kept, an error (if any) on top.

    With ``meeting_id`` it is the "Edit meeting" dialog: the same fields, saved by ``edit_meeting``.
    ``projects`` are ``(key, name)`` of the open projects: a meeting may belong to one.
    """
    lang = locale
    sub = submission or MeetingSubmission(timezone=timezone)

    def t(key: str) -> str:
        return translate(lang, f"teams.meeting.form.{key}")

    body: list[dict[str, Any]] = []
    if error:
        body.append(rich(run("⚠️ "), run(error, color="Attention", weight="Bolder")))
    body.append({"type": "Input.Text", "id": "title", "label": t("title"), "isRequired": True,
                 "errorMessage": t("title_required"), "maxLength": MAX_TITLE_INPUT,
                 "placeholder": t("title_placeholder"),
                 **({"value": sub.title[:MAX_TITLE_INPUT]} if sub.title else {})})
    body.append({"type": "ColumnSet", "columns": [
        {"type": "Column", "width": "stretch", "items": [
            {"type": "Input.Date", "id": "date", "label": t("date"), "isRequired": True,
             "errorMessage": t("date_required"), **({"value": sub.date} if sub.date else {})}]},
        {"type": "Column", "width": "stretch", "items": [
            {"type": "Input.Time", "id": "time", "label": t("time"), "isRequired": True,
             "errorMessage": t("time_required"), **({"value": sub.time[:5]} if sub.time else {})}]},
    ]})
    zones = list(dict.fromkeys([z for z in (sub.timezone, timezone) if z] + list(TIMEZONES)))
    body.append({"type": "Input.ChoiceSet", "id": "timezone", "label": t("timezone"), "style": "compact",
                 "value": sub.timezone or timezone,
                 "choices": [_choice(z.replace("_", " "), z) for z in zones]})
    # When editing, what the meeting has now is always offered, even outside the usual choices.
    editing = meeting_id is not None
    repeats = [*REPEATS, CUSTOM_REPEAT] if editing and sub.repeat == CUSTOM_REPEAT else list(REPEATS)
    body.append({"type": "Input.ChoiceSet", "id": "repeat", "label": t("repeat"), "style": "compact",
                 "value": sub.repeat if sub.repeat in repeats else "none",
                 "choices": [_choice(translate(lang, f"teams.meeting.repeat.{r}"), r) for r in repeats]})
    durations = list(DURATIONS)
    if editing and sub.duration.isdigit() and sub.duration not in durations:
        durations = sorted([*durations, sub.duration], key=int)
    body.append({"type": "Input.ChoiceSet", "id": "duration", "label": t("duration"), "style": "compact",
                 "value": sub.duration if sub.duration in durations else "60",
                 "choices": [_choice(format_duration(int(d), lang), d) for d in durations]})
    extra = [r for r in _list(sub.remind) if r not in REMINDERS] if editing else []
    chosen = [r for r in _list(sub.remind) if r in REMINDERS or r in extra]
    body.append({"type": "Input.ChoiceSet", "id": "remind", "label": t("remind"), "isMultiSelect": True,
                 "style": "expanded", **({"value": ",".join(chosen)} if chosen else {}),
                 "choices": [_choice(translate(lang, f"teams.meeting.before.{r}"), r) for r in REMINDERS]
                 + [_choice(translate(lang, "teams.meeting.before.other", offset=_offset_text(r, lang)), r)
                    for r in extra]})
    if departments:
        body.append({"type": "Input.ChoiceSet", "id": "departments", "label": t("departments"),
                     "isMultiSelect": True, "style": "compact",
                     **({"value": ",".join(d for d in sub.departments if d in departments)}
                        if sub.departments else {}),
                     "choices": [_choice(d, d) for d in departments]})
    else:
        body.append(label(t("no_departments"), isSubtle=True, size="Small"))
    chosen_project = _project_key(sub.project)
    offered = list(projects)
    if chosen_project and all(key != chosen_project for key, _ in offered):
        offered.append((chosen_project, chosen_project))  # its project now (closed since, say) stays shown
    if offered:
        body.append({"type": "Input.ChoiceSet", "id": "project", "label": t("project"), "style": "compact",
                     "placeholder": t("project_placeholder"),
                     **({"value": chosen_project} if chosen_project else {}),
                     "choices": [*(_choice(f"{name} +{key}", key) for key, name in offered),
                                 _choice(translate(lang, "teams.form.no_project"), "none")]})
    body.append({"type": "Input.Text", "id": "place", "label": t("place"), "maxLength": MAX_PLACE_INPUT,
                 "placeholder": t("place_placeholder"),
                 **({"value": sub.place[:MAX_PLACE_INPUT]} if sub.place else {})})
    body.append({"type": "Input.Text", "id": "agenda", "label": t("agenda"), "isMultiline": True,
                 "maxLength": MAX_AGENDA_INPUT,
                 **({"value": sub.agenda[:MAX_AGENDA_INPUT]} if sub.agenda else {})})
    body.append({"type": "Input.Toggle", "id": "thanks_prompt", "title": t("thanks_prompt"),
                 "value": "false" if sub.thanks_prompt == "false" else "true", "valueOn": "true", "valueOff": "false",
                 "wrap": True})
    submit = ({"kizuna": SUBMIT_MEETING_EDIT, "meeting_id": str(meeting_id)} if editing
              else {"kizuna": SUBMIT_MEETING_FORM})
    card: dict[str, Any] = {
        "type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION, "lang": lang, "body": body,
        "actions": [{"type": "Action.Submit", "title": translate(lang, "teams.meeting.edit.save") if editing
                     else t("submit"), "style": "positive", "data": submit}],
    }
    check_size(card)
    return card


def meeting_task(locale: str, card: dict[str, Any], *, editing: bool = False) -> dict[str, Any]:
    """The invoke answer that shows (or re-shows) the meeting dialog."""
    title = translate(locale, "teams.meeting.edit.heading" if editing else "teams.meeting.form.heading")
    return {"task": {"type": "continue", "value": {
        "title": title, "height": "large", "width": "medium", "card": attachment(card),
    }}}


def launcher_button(locale: str) -> dict[str, Any]:
    """"Schedule a meeting": opens the dialog."""
    return task_fetch_button(translate(locale, "teams.meeting.launcher.button"), {"kizuna": OPEN_MEETING_FORM})


def with_launcher_button(card: dict[str, Any], locale: str) -> dict[str, Any]:
    """The meeting list with "Schedule a meeting" under it."""
    card["actions"] = [*card.get("actions", []), launcher_button(locale)]
    check_size(card)
    return card


def launcher_card(locale: str) -> dict[str, Any]:
    """What ``meeting create`` with no arguments answers: a button that opens the dialog, and the text commands."""
    card: dict[str, Any] = {
        "type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION, "lang": locale,
        "body": [label(translate(locale, "teams.meeting.launcher.title"), weight="Bolder", size="Medium"),
                 label(translate(locale, "teams.meeting.launcher.text"))],
        "actions": [launcher_button(locale)],
    }
    check_size(card)
    return card
