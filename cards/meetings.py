"""Meeting messages: the reminder with RSVP buttons, the meeting list, confirmations. Localised, neutral."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from babel.dates import get_day_names

from cards.model import Action, NoticeMessage, ReminderMessage, utc_instant
from core.app.outcomes import ReminderShown
from core.i18n import format_datetime, format_duration, format_durations, normalize_locale, translate
from core.meetings import service
from core.meetings.recurrence import LOCAL_FORMAT, Occurrence, Repeat, nth_weekday
from core.meetings.service import MeetingView, RsvpSummary


def _lang(locale: str) -> str:
    return normalize_locale(locale) or "ja"


def weekday_name(weekday: int, locale: str) -> str:
    """``0`` → ``Monday`` / ``月曜日``."""
    return str(get_day_names("wide", locale=_lang(locale))[weekday])


def describe_repeat(view: MeetingView, locale: str) -> str:
    """``Every Monday`` / ``毎月第1月曜日`` …, in words."""
    lang = _lang(locale)
    start = datetime.strptime(view.start_local, LOCAL_FORMAT)
    weekday = weekday_name(start.weekday(), lang)
    if view.repeat is Repeat.NONE:
        return translate(lang, "meeting.repeat.none")
    if view.repeat in (Repeat.WEEKLY, Repeat.BIWEEKLY):
        return translate(lang, f"meeting.repeat.{view.repeat.value}", weekday=weekday)
    if view.repeat is Repeat.MONTHLY:
        if view.rrule.endswith("=-1"):
            return translate(lang, "meeting.repeat.monthly_last_day")
        return translate(lang, "meeting.repeat.monthly", day=str(start.day))
    if view.repeat is Repeat.MONTHLY_NTH_WEEKDAY:
        nth = nth_weekday(start.date())
        return translate(lang, "meeting.repeat.nth_weekday", nth=translate(lang, f"meeting.nth.{nth}"),
                         weekday=weekday)
    return translate(lang, "meeting.repeat.custom", rule=view.rrule)


def rsvp_text(summary: RsvpSummary, locale: str) -> str:
    """``Going 3 · Maybe 1 · Can't go 0``."""
    counts = summary.counts
    return translate(_lang(locale), "meeting.rsvp.summary", yes=counts["yes"], maybe=counts["maybe"],
                     no=counts["no"])


def occurrence_text(occurrence: Occurrence, timezone: str, locale: str) -> str:
    """When an occurrence is, in the meeting's time zone, with its length."""
    lang = _lang(locale)
    minutes = int((occurrence.ends_at - occurrence.starts_at).total_seconds() // 60)
    text = translate(lang, "meeting.when", start=format_datetime(occurrence.starts_at, lang, timezone),
                     duration=format_duration(minutes, lang), timezone=timezone)
    if occurrence.moved:
        original = datetime.strptime(occurrence.key, LOCAL_FORMAT)
        text += " " + translate(lang, "meeting.moved_from", original=original.strftime("%Y-%m-%d %H:%M"))
    return text


def rsvp_actions(meeting_id: int, occurrence: str, locale: str) -> tuple[Action, ...]:
    """The three RSVP buttons; ``data`` is what comes back: meeting_id, occurrence, answer."""
    lang = _lang(locale)
    return tuple(
        Action("rsvp", translate(lang, f"meeting.rsvp.button.{answer}"),
               {"meeting_id": str(meeting_id), "occurrence": occurrence, "answer": answer})
        for answer in service.ANSWERS
    )


def reminder_message(reminder: ReminderShown, locale: str) -> ReminderMessage:
    """The reminder card of one occurrence, with the current RSVP counts.

    Before the occurrence ends it offers RSVP buttons; afterwards "Thank someone from this
    meeting" (``thank_attendees``, data: meeting_id and occurrence), so re-rendering the card
    (e.g. a Teams refresh) turns it into a thank-you prompt.
    """
    lang = _lang(locale)
    view, occurrence = reminder.view, reminder.occurrence.key
    if reminder.over:
        actions: tuple[Action, ...] = (Action("thank_attendees", translate(lang, "meeting.thank_attendees"),
                                              {"meeting_id": str(view.id), "occurrence": occurrence}),)
    else:
        actions = rsvp_actions(view.id, occurrence, lang)
    return ReminderMessage(
        locale=lang,
        title=translate(lang, "meeting.reminder.title", title=view.title),
        meeting_id=view.id,
        occurrence=occurrence,
        starts_at_text=occurrence_text(reminder.occurrence, view.timezone, lang),
        agenda=view.agenda,
        place=view.place,
        departments=view.departments,
        rsvp_summary=rsvp_text(reminder.summary, lang),
        late_note=translate(lang, "meeting.reminder.late") if reminder.late else "",
        actions=actions,
        starts_at_utc=utc_instant(reminder.occurrence.starts_at),
        project=_project(view, lang),
    )


def _project(view: MeetingView, lang: str) -> str:
    """``📁 Launch 2027 +launch``: the project the meeting belongs to, or ""."""
    return translate(lang, "thanks.project", key=view.project.key, name=view.project.name) if view.project else ""


def _line(view: MeetingView, lang: str) -> str:
    when = (occurrence_text(view.next_occurrence, view.timezone, lang) if view.next_occurrence
            else translate(lang, "meeting.list.no_next"))
    status = "" if view.status == "active" else f" [{translate(lang, f'meeting.status.{view.status}')}]"
    parts = [f"#{view.id} {view.title}{status}", f"   {describe_repeat(view, lang)} · {when}"]
    if view.departments:
        parts.append("   " + " × ".join(view.departments))
    if view.project:
        parts.append("   " + _project(view, lang))
    if view.place:
        parts.append("   " + view.place)
    return "\n".join(parts)


def meeting_list_message(views: Sequence[MeetingView], locale: str) -> NoticeMessage:
    """``meeting list``: every meeting, its rhythm and its next occurrence."""
    lang = _lang(locale)
    if not views:
        return NoticeMessage(lang, translate(lang, "meeting.list.empty"), translate(lang, "meeting.list.title"))
    return NoticeMessage(lang, "\n".join(_line(v, lang) for v in views), translate(lang, "meeting.list.title"))


def meeting_details_message(view: MeetingView, locale: str, title_id: str = "meeting.created",
                            upcoming: Sequence[Occurrence] = ()) -> NoticeMessage:
    """A confirmation (created, changed, skipped …) with the meeting's details and next dates."""
    lang = _lang(locale)
    lines = [_line(view, lang)]
    reminders = format_durations(view.reminder_offsets, lang) or "—"
    lines.append("   " + translate(lang, "meeting.reminders", offsets=reminders, channel=view.channel))
    lines.append("   " + translate(lang, f"meeting.after.setting.{'on' if view.thanks_prompt else 'off'}"))
    if upcoming:
        lines.append(translate(lang, "meeting.upcoming"))
        lines.extend("   " + occurrence_text(o, view.timezone, lang) + f"  ({o.key})" for o in upcoming)
    return NoticeMessage(lang, "\n".join(lines), translate(lang, title_id, title=view.title, id=view.id))


def rsvp_recorded_message(summary: RsvpSummary, answer: str, locale: str) -> NoticeMessage:
    """The answer to pressing an RSVP button (or ``meeting rsvp``)."""
    lang = _lang(locale)
    return NoticeMessage(lang, rsvp_text(summary, lang), translate(lang, f"meeting.rsvp.recorded.{answer}"))


def rsvp_details_message(summary: RsvpSummary, locale: str) -> NoticeMessage:
    """Who answered what (what the organiser sees)."""
    lang = _lang(locale)
    lines = [rsvp_text(summary, lang)]
    for answer, people in (("yes", summary.going), ("maybe", summary.maybe), ("no", summary.not_going)):
        if people:
            names = ", ".join(p.display_name for p in people)
            lines.append(f"{translate(lang, f'meeting.rsvp.button.{answer}')}: {names}")
    return NoticeMessage(lang, "\n".join(lines), translate(lang, "meeting.rsvp.title",
                                                          occurrence=summary.occurrence.replace("T", " ")))
