"""``/meeting`` on Discord: schedule, list, skip, edit and cancel meetings; RSVP buttons; thank attendees.

Only translation happens here: options → ``core.app`` commands → ``execute`` → the outcome's
message → ``render``. Two Discord-only touches:

- a series whose rule fits Discord's recurrence subset (platform notes B.2) is published as a Guild
  Scheduled Event (EXTERNAL, located at the place or the reminder channel), and every reminder
  links to it. Without the Create Events permission (403) the meeting still works; the organiser
  is told why there is no event.
- "Thank someone from this meeting" opens a modal whose user select is prefilled with the people
  who said they were going: Discord modals take user selects inside a Label (components
  reference, "User Select … available in messages and modals"), so one form picks several people,
  writes the message and picks a value, like the "Send thanks" form.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote
from zoneinfo import available_timezones

from adapters.discord import ids, limits, wire
from adapters.discord.render import CUSTOM_ID_PREFIX, escape, render
from adapters.discord.rest import DiscordHTTPError, RestClient
from adapters.discord.routing import (
    Request,
    Route,
    Turn,
    private,
    public,
    response,
    text,
    thanks_modal,
    values_for_form,
)
from adapters.discord.wire import InteractionResponse
from cards.model import ReminderMessage
from core.app import commands as c
from core.app import outcomes as o
from core.i18n import fold, normalize_locale, translate
from core.meetings import errors, service
from core.meetings.recurrence import LOCAL_FORMAT, Repeat, neutral_recurrence
from core.meetings.service import MeetingView
from core.models import Workspace

log = logging.getLogger("kizuna.discord.meetings")

MEETING_THANKS_FORM = "kizuna:meetingthanks:"
RSVPS_ACTION = "rsvps"
EVENT_URL = "https://discord.com/events/{guild}/{event}"
CHANNEL_URL = "https://discord.com/channels/{guild}/{channel}"
# Discord's recurrence enums (guild-scheduled-event.mdx: the table, not the prose).
_FREQUENCY = {"YEARLY": 0, "MONTHLY": 1, "WEEKLY": 2, "DAILY": 3}
EXTERNAL = 3
GUILD_ONLY = 2
EVENT_NAME = 100
EVENT_LOCATION = 100
EVENT_DESCRIPTION = 1000
# Subcommands whose answer is only for the person who asked.
EPHEMERAL_SUBCOMMANDS = frozenset({"list", "rsvps"})
_ZONES: tuple[str, ...] = ()


def _zones() -> tuple[str, ...]:
    global _ZONES  # a read-only cache of the tz database's names, filled on first use
    if not _ZONES:
        _ZONES = tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")))
    return _ZONES


def discord_recurrence(view: MeetingView) -> dict[str, Any] | None:
    """The series as a Discord ``recurrence_rule``, or None when Discord's subset cannot say it.

    Discord takes weekly (every or every other week, one weekday) and monthly on the n-th (1-5)
    weekday; "monthly on day 7" is YEARLY-only there, and "the last Monday" has no n. An end date
    cannot be set by apps, so a series with ``until`` is not published either.
    """
    start = datetime.strptime(view.start_local, LOCAL_FORMAT)
    neutral = neutral_recurrence(view.rrule, start)
    if neutral is None or view.until_local is not None or view.next_occurrence is None:
        return None
    rule: dict[str, Any] = {"start": view.next_occurrence.starts_at.astimezone(UTC).isoformat(),
                            "frequency": _FREQUENCY[neutral.frequency], "interval": neutral.interval}
    if neutral.frequency == "WEEKLY" and neutral.by_weekday and len(neutral.by_weekday) == 1 \
            and neutral.interval in (1, 2):
        rule["by_weekday"] = list(neutral.by_weekday)
        return rule
    if neutral.frequency == "MONTHLY" and neutral.by_n_weekday and 1 <= neutral.by_n_weekday[0] <= 5 \
            and neutral.interval == 1:
        n, day = neutral.by_n_weekday
        rule["by_n_weekday"] = [{"n": n, "day": day}]
        return rule
    return None


def event_payload(view: MeetingView, guild_id: str) -> dict[str, Any] | None:
    """The Guild Scheduled Event for a meeting, or None if Discord cannot show its rhythm."""
    if view.next_occurrence is None:
        return None
    payload: dict[str, Any] = {
        "name": limits.truncate(view.title, EVENT_NAME),
        "privacy_level": GUILD_ONLY,
        "entity_type": EXTERNAL,
        "channel_id": None,
        "scheduled_start_time": view.next_occurrence.starts_at.astimezone(UTC).isoformat(),
        "scheduled_end_time": view.next_occurrence.ends_at.astimezone(UTC).isoformat(),
        "entity_metadata": {"location": limits.truncate(
            view.place or CHANNEL_URL.format(guild=guild_id, channel=view.channel), EVENT_LOCATION)},
    }
    if view.agenda:
        payload["description"] = limits.truncate(view.agenda, EVENT_DESCRIPTION)
    if view.repeat is Repeat.NONE:
        return payload
    recurrence = discord_recurrence(view)
    if recurrence is None:
        return None
    payload["recurrence_rule"] = recurrence
    return payload


def event_url(guild_id: str, event_id: str | None) -> str | None:
    """The link to a scheduled event (what the reminder's link button opens)."""
    return EVENT_URL.format(guild=guild_id, event=event_id) if event_id and event_id.isdigit() else None


def _custom_id(kind: str, data: dict[str, str], locale: str) -> str | None:
    pairs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(data.items()))
    return limits.fit_custom_id(f"{CUSTOM_ID_PREFIX}:{kind}:{pairs}:{locale}")


def reminder_payload(message: ReminderMessage, *, link: str | None = None) -> dict[str, Any]:
    """A reminder as a Discord message: the card's buttons, "who answered" and the event link."""
    data = render(message)
    extra: list[dict[str, Any]] = []
    rsvps = _custom_id(RSVPS_ACTION, {"meeting_id": str(message.meeting_id), "occurrence": message.occurrence},
                       message.locale)
    if rsvps is not None:
        extra.append({"type": wire.BUTTON, "style": wire.BUTTON_SECONDARY, "custom_id": rsvps, "emoji": {"name": "👥"},
                      "label": translate(message.locale, "discord.meeting.who_button")})
    if link:
        extra.append({"type": wire.BUTTON, "style": wire.BUTTON_LINK, "url": link,
                      "label": translate(message.locale, "discord.meeting.event_button")})
    rows: list[dict[str, Any]] = list(data.get("components", []))
    for button in extra:
        if rows and len(rows[-1]["components"]) < limits.ROW_COMPONENTS:
            rows[-1] = {**rows[-1], "components": [*rows[-1]["components"], button]}
        elif len(rows) < limits.ACTION_ROWS:
            rows.append({"type": wire.ACTION_ROW, "components": [button]})
    data["components"] = rows
    return limits.fit_message(data)


async def meeting_event_link(workspace: Workspace, meeting_id: int) -> str | None:
    """The link to a meeting's scheduled event, if it has one."""
    try:
        view = await service.get_meeting(workspace, meeting_id)
    except errors.MeetingNotFound:
        return None
    return event_url(workspace.external_id, view.external_event_id)


def _with_lines(data: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    """Append lines (already safe Discord markdown) to a rendered message's content."""
    if not lines:
        return data
    content = "\n".join([data.get("content", ""), *lines]).strip()
    return {**data, "content": content}


def _meeting(options: Mapping[str, Any]) -> str:
    return str(options.get("meeting") or "")


def _fields(options: Mapping[str, Any]) -> c.MeetingFields:
    """A series' options as typed (a channel option must name a channel of this server)."""
    channel = options.get("channel")
    duration = options.get("duration")
    prompt = options.get("thanks-prompt")
    return c.MeetingFields(
        title=text(options, "title"), start=text(options, "start"), timezone=text(options, "timezone"),
        repeat=text(options, "repeat"), remind=text(options, "remind"), departments=text(options, "departments"),
        place=text(options, "place"), agenda=text(options, "agenda"),
        duration=str(duration) if duration is not None else None,
        channel=ids.channel_id(channel) if channel else None,
        thanks_prompt=None if prompt is None else {True: "on", False: "off"}.get(prompt, str(prompt)),
        project=text(options, "project"))


def create_command(request: Request) -> c.Command:
    return c.CreateMeeting(_fields(request.options))


def edit_command(request: Request) -> c.Command:
    fields = _fields(request.options)
    if not fields.given():
        raise errors.InvalidMeetingCommand(hint="/meeting edit: title, start, repeat …")
    return c.EditMeeting(_meeting(request.options), fields)


def rsvp_command(request: Request) -> c.Command:
    options = request.options
    return c.AnswerRsvp(str(options.get("meeting_id", "")), str(options.get("occurrence", "")),
                        str(options.get("answer", "")))


def rsvps_button_command(request: Request) -> c.Command:
    return c.ShowRsvps(str(request.options.get("meeting_id", "")), str(request.options.get("occurrence", "")))


def attendees_command(request: Request) -> c.Command:
    return c.ListAttendees(str(request.options.get("meeting_id", "")), str(request.options.get("occurrence", "")))


class MeetingCommands:
    """The ``/meeting`` subcommands, the RSVP and "thank attendees" buttons as routes, and their
    autocompletes; the Guild Scheduled Event follows the series around the outcomes."""

    def __init__(self, rest: RestClient | None = None) -> None:
        self.rest = rest
        self.routes: dict[str, Route] = {
            "create": Route(create_command, self._created),
            "list": Route(lambda r: c.ListMeetings(), private),
            "skip": Route(lambda r: c.SkipOccurrence(_meeting(r.options), str(r.options.get("date") or "")), public),
            "edit": Route(edit_command, self._edited),
            "cancel": Route(lambda r: c.CancelMeeting(_meeting(r.options)), self._ended),
            "rsvps": Route(lambda r: c.ShowRsvps(_meeting(r.options), text(r.options, "date")), private),
        }
        self.actions: dict[str, Route] = {
            "rsvp": Route(rsvp_command, self._redraw_reminder),
            RSVPS_ACTION: Route(rsvps_button_command, private),
            "thank_attendees": Route(attendees_command, self._thanks_form),
        }

    # ---- answers around the outcomes -----------------------------------------------------------

    async def _created(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        shown = cast(o.MeetingShown, outcome)
        lines: list[str] = []
        if turn.request.options.get("event", True) is not False:
            view, lines = await self._publish(turn.context.workspace, shown.view, turn.locale)
            shown = replace(shown, view=view)
        return response(_with_lines(render(turn.message(shown)), lines))

    async def _edited(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        shown = cast(o.MeetingShown, outcome)
        lines = await self._update_event(turn.context.workspace, shown.view, turn.locale)
        return response(_with_lines(render(turn.message(shown)), lines))

    async def _ended(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        ended = cast(o.MeetingEnded, outcome)
        lines = await self._delete_event(turn.context.workspace, ended.view, turn.locale)
        return response(_with_lines(render(turn.message(ended)), lines))

    async def _redraw_reminder(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        """After an RSVP, the reminder is redrawn (type 7) with the new counts, in the message's language."""
        recorded = cast(o.RsvpRecorded, outcome)
        workspace = turn.context.workspace
        lang = normalize_locale(turn.request.tail) or workspace.default_locale
        shown = await turn.run(c.ShowReminder(str(recorded.summary.meeting_id), recorded.summary.occurrence))
        shown = replace(cast(o.ReminderShown, shown), late=_was_late(turn.request.interaction.get("message") or {},
                                                                       lang))
        message = cast(ReminderMessage, turn.message(shown, lang))
        link = event_url(workspace.external_id, shown.view.external_event_id)
        return {"type": wire.UPDATE_MESSAGE, "data": reminder_payload(message, link=link)}

    async def _thanks_form(self, turn: Turn, outcome: o.Outcome) -> InteractionResponse:
        """A modal to thank the people who came: a user select prefilled with them, a message, a value."""
        listed = cast(o.AttendeesListed, outcome)
        locale = turn.locale
        view = cast(o.MeetingShown, await turn.run(c.ShowMeeting(str(listed.meeting_id)))).view
        came = tuple(p.platform_user_id for p in listed.people
                     if p.id != turn.context.actor.id and p.platform_user_id.isdigit())
        return thanks_modal(turn, custom_id=f"{MEETING_THANKS_FORM}{view.id}", people=came,
                            message=translate(locale, "discord.meeting.thanks_default", title=view.title),
                            values=await values_for_form(turn),
                            people_hint="discord.meeting.thanks_people_placeholder",
                            title=translate(locale, "discord.meeting.thanks_title", title=view.title))

    # ---- the scheduled event -------------------------------------------------------------------

    async def _publish(self, workspace: Workspace, view: MeetingView, locale: str) -> tuple[MeetingView, list[str]]:
        """Publish the series as a Guild Scheduled Event; the view (with its event id) and what to tell."""
        payload = event_payload(view, workspace.external_id)
        if payload is None:
            return view, [escape(translate(locale, "discord.meeting.event_unsupported"))]
        if self.rest is None or not self.rest.token:
            return view, [escape(translate(locale, "discord.meeting.event_no_token"))]
        try:
            event = await self.rest.create_scheduled_event(workspace.external_id, payload,
                                                           reason=f"Kizuna meeting #{view.id}")
        except DiscordHTTPError as error:
            log.warning("meeting %s: no scheduled event in guild %s: %s", view.id, workspace.external_id, error)
            key = "discord.meeting.event_forbidden" if error.status == 403 else "discord.meeting.event_failed"
            return view, [escape(translate(locale, key))]
        event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
        if not event_id.isdigit():
            return view, [escape(translate(locale, "discord.meeting.event_failed"))]
        await service.set_external_event_id(workspace, view.id, event_id)
        link = event_url(workspace.external_id, event_id)
        return await service.get_meeting(workspace, view.id), \
            [escape(translate(locale, "discord.meeting.event_created")) + f" {link}"]

    async def _update_event(self, workspace: Workspace, view: MeetingView, locale: str) -> list[str]:
        """Keep a published event in step with an edited series (or say why it could not be)."""
        if not view.external_event_id or self.rest is None or not self.rest.token:
            return []
        payload = event_payload(view, workspace.external_id)
        if payload is None:
            return [escape(translate(locale, "discord.meeting.event_stale"))]
        payload.pop("channel_id", None)
        try:
            await self.rest.edit_scheduled_event(workspace.external_id, view.external_event_id, payload,
                                                 reason=f"Kizuna meeting #{view.id} edited")
        except DiscordHTTPError as error:
            log.warning("meeting %s: scheduled event %s not updated: %s", view.id, view.external_event_id, error)
            return [escape(translate(locale, "discord.meeting.event_stale"))]
        return []

    async def _delete_event(self, workspace: Workspace, view: MeetingView, locale: str) -> list[str]:
        if not view.external_event_id or self.rest is None or not self.rest.token:
            return []
        try:
            await self.rest.delete_scheduled_event(workspace.external_id, view.external_event_id,
                                                   reason=f"Kizuna meeting #{view.id} cancelled")
        except DiscordHTTPError as error:
            if error.status != 404:
                log.warning("meeting %s: scheduled event %s not deleted: %s", view.id, view.external_event_id, error)
                return [escape(translate(locale, "discord.meeting.event_stale"))]
        await service.set_external_event_id(workspace, view.id, None)
        return []

    # ---- autocomplete --------------------------------------------------------------------------

    async def autocomplete(self, workspace: Workspace, locale: str, option: str, typed: str,
                           sub_options: dict[str, Any]) -> list[dict[str, Any]]:
        """Choices for ``meeting``, ``date`` and ``timezone``."""
        wanted = fold(typed.strip().lstrip("#＃"))
        if option == "meeting":
            views = await service.list_meetings(workspace)
            return [{"name": f"#{v.id} {v.title}", "value": str(v.id)} for v in views
                    if not wanted or wanted in fold(v.title) or wanted == str(v.id)]
        if option == "date":
            meeting = sub_options.get("meeting")
            if not meeting:
                return []
            try:
                view = await service.get_meeting(workspace, str(meeting))
                upcoming = await service.upcoming_occurrences(workspace, view.id, limits.CHOICES)
            except errors.MeetingNotFound:
                return []
            choices = []
            for occurrence in upcoming:
                label = occurrence.key.replace("T", " ")
                if wanted in fold(label):
                    choices.append({"name": label, "value": occurrence.key})
            return choices
        if option == "timezone":
            return [{"name": z, "value": z} for z in _zones() if wanted in fold(z)][:limits.CHOICES]
        return []


def _was_late(message: dict[str, Any], lang: str) -> bool:
    """Whether the reminder being redrawn carried the late note (it keeps it)."""
    note = escape(translate(lang, "meeting.reminder.late"))
    for embed in cast(list[dict[str, Any]], message.get("embeds") or []):
        if note in str(embed.get("description", "")):
            return True
    return False
