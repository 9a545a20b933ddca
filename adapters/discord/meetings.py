"""``/meeting`` on Discord: schedule, list, skip, edit and cancel meetings; RSVP buttons; thank attendees.

Only translation happens here: options → ``core.meetings.service`` → ``cards.meetings`` → ``render``.
Two Discord-only touches:

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
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote
from zoneinfo import available_timezones

from adapters.discord import ids, limits, wire
from adapters.discord.render import CUSTOM_ID_PREFIX, allowed_mentions, escape, render
from adapters.discord.rest import DiscordHTTPError, RestClient
from adapters.discord.wire import Interaction, InteractionResponse
from cards.meetings import (
    meeting_details_message,
    meeting_list_message,
    reminder_message,
    rsvp_details_message,
)
from cards.model import ReminderMessage
from core.i18n import fold, normalize_locale, translate
from core.meetings import errors, service
from core.meetings.recurrence import LOCAL_FORMAT, Repeat, neutral_recurrence
from core.meetings.service import MeetingView
from core.models import Member, Workspace

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


def _message(data: dict[str, Any], *, ephemeral: bool = False) -> InteractionResponse:
    if ephemeral:
        data = {**data, "flags": wire.EPHEMERAL}
    return {"type": wire.CHANNEL_MESSAGE_WITH_SOURCE, "data": limits.fit_message(data)}


def _with_lines(data: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    """Append lines (already safe Discord markdown) to a rendered message's content."""
    if not lines:
        return data
    content = "\n".join([data.get("content", ""), *lines]).strip()
    return {**data, "content": content}


class MeetingCommands:
    """The ``/meeting`` command, its autocompletes, the RSVP and "thank attendees" buttons."""

    def __init__(self, rest: RestClient | None = None) -> None:
        self.rest = rest

    # ---- /meeting ------------------------------------------------------------------------------

    async def command(self, interaction: Interaction, workspace: Workspace, member: Member, locale: str,
                      data: dict[str, Any]) -> InteractionResponse:
        """One ``/meeting`` subcommand; core errors propagate to the handler, which answers them."""
        subcommands = data.get("options") or []
        if not subcommands:
            raise errors.InvalidMeetingCommand(hint="/meeting")
        sub = subcommands[0]
        name = str(sub.get("name", ""))
        options = {o["name"]: o.get("value") for o in sub.get("options") or [] if "name" in o}
        if name == "create":
            return await self._create(interaction, workspace, member, locale, options)
        if name == "list":
            views = await service.list_meetings(workspace)
            return _message(render(meeting_list_message(views, locale)), ephemeral=True)
        if name == "skip":
            meeting = str(options.get("meeting") or "")
            key = await service.resolve_occurrence(workspace, meeting, str(options.get("date") or ""))
            view = await service.skip_occurrence(workspace, member, meeting, key)
            return await self._details(workspace, view, locale, "meeting.skipped")
        if name == "edit":
            return await self._edit(interaction, workspace, member, locale, options)
        if name == "cancel":
            view = await service.end_meeting(workspace, member, str(options.get("meeting") or ""))
            lines = await self._delete_event(workspace, view, locale)
            text = escape(translate(locale, "meeting.ended", title=view.title))
            return _message(_with_lines({"content": f"**{text}**", "allowed_mentions": allowed_mentions()}, lines))
        if name == "rsvps":
            meeting = str(options.get("meeting") or "")
            view = await service.get_meeting(workspace, meeting)
            if options.get("date"):
                key = await service.resolve_occurrence(workspace, meeting, str(options["date"]))
            elif view.next_occurrence is not None:
                key = view.next_occurrence.key
            else:
                raise errors.UnknownOccurrence(occurrence="—")
            summary = await service.rsvp_details(workspace, member, meeting, key)
            return _message(render(rsvp_details_message(summary, locale)), ephemeral=True)
        raise errors.InvalidMeetingCommand(hint=f"/meeting {name[:20]}")

    async def _create(self, interaction: Interaction, workspace: Workspace, member: Member, locale: str,
                      options: dict[str, Any]) -> InteractionResponse:
        channel = ids.channel_id(options["channel"]) if options.get("channel") else \
            str(interaction.get("channel_id") or "")
        view = await service.create_meeting(
            workspace, member, title=str(options.get("title") or ""), start=str(options.get("start") or ""),
            channel=channel, timezone=_opt(options, "timezone"), repeat=_opt(options, "repeat"),
            remind=_opt(options, "remind"), departments=str(options.get("departments") or ""),
            place=str(options.get("place") or ""), agenda=str(options.get("agenda") or ""),
            duration_minutes=options.get("duration") or 60,
            idempotency_key=f"discord:{interaction.get('id')}" if interaction.get("id") else None)
        lines: list[str] = []
        if options.get("event", True) is not False:
            view, lines = await self._publish(workspace, view, locale)
        return await self._details(workspace, view, locale, "meeting.created", lines)

    async def _edit(self, interaction: Interaction, workspace: Workspace, member: Member, locale: str,
                    options: dict[str, Any]) -> InteractionResponse:
        fields: dict[str, Any] = {}
        for option, target in (("title", "title"), ("start", "start"), ("repeat", "repeat"),
                               ("timezone", "timezone"), ("remind", "remind"), ("departments", "departments"),
                               ("place", "place"), ("agenda", "agenda"), ("channel", "channel"),
                               ("duration", "duration_minutes")):
            value = options.get(option)
            if value is not None:
                if target == "channel":
                    value = ids.channel_id(value)
                elif target != "duration_minutes":
                    value = str(value)
                fields[target] = value
        if not fields:
            raise errors.InvalidMeetingCommand(hint="/meeting edit: title, start, repeat …")
        view = await service.edit_meeting(workspace, member, str(options.get("meeting") or ""), **fields)
        lines = await self._update_event(workspace, view, locale)
        return await self._details(workspace, view, locale, "meeting.edited", lines)

    async def _details(self, workspace: Workspace, view: MeetingView, locale: str, title_id: str,
                       lines: list[str] | None = None) -> InteractionResponse:
        upcoming = await service.upcoming_occurrences(workspace, view.id, 3)
        data = render(meeting_details_message(view, locale, title_id, upcoming))
        return _message(_with_lines(data, lines or []))

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

    # ---- buttons -------------------------------------------------------------------------------

    async def rsvp(self, interaction: Interaction, workspace: Workspace, member: Member, data: dict[str, str],
                   message_locale: str) -> InteractionResponse:
        """Record an RSVP and redraw the reminder (type 7) with the new counts, in the message's language."""
        meeting_id, occurrence = data.get("meeting_id", ""), data.get("occurrence", "")
        await service.answer_rsvp(workspace, member, meeting_id, occurrence, data.get("answer", ""))
        lang = normalize_locale(message_locale) or workspace.default_locale
        late = _was_late(interaction.get("message") or {}, lang)
        message = await reminder_message(workspace, int(meeting_id), occurrence, lang, late=late)
        link = await meeting_event_link(workspace, int(meeting_id))
        return {"type": wire.UPDATE_MESSAGE, "data": reminder_payload(message, link=link)}

    async def rsvps(self, interaction: Interaction, workspace: Workspace, member: Member, data: dict[str, str],
                    locale: str) -> InteractionResponse:
        """Who answered what, privately, for the organiser (or an admin)."""
        meeting_id, occurrence = data.get("meeting_id", ""), data.get("occurrence", "")
        summary = await service.rsvp_details(workspace, member, meeting_id, occurrence)
        return _message(render(rsvp_details_message(summary, locale)), ephemeral=True)

    async def thank_attendees(self, interaction: Interaction, workspace: Workspace, member: Member,
                              data: dict[str, str], locale: str, value_options: list[dict[str, Any]],
                              max_people: int, max_length: int) -> InteractionResponse:
        """A modal to thank the people who came: a user select prefilled with them, a message, a value."""
        meeting_id, occurrence = data.get("meeting_id", ""), data.get("occurrence", "")
        view = await service.get_meeting(workspace, meeting_id)
        came = [p for p in await service.attendees(workspace, meeting_id, occurrence)
                if p.id != member.id and p.platform_user_id.isdigit()]
        top = max(1, min(max_people, limits.SELECT_OPTIONS))
        select: dict[str, Any] = {
            "type": wire.USER_SELECT, "custom_id": "people", "required": True, "min_values": 1, "max_values": top,
            "placeholder": translate(locale, "discord.meeting.thanks_people_placeholder"),
        }
        if came:
            select["default_values"] = [{"id": p.platform_user_id, "type": "user"} for p in came[:top]]
        components: list[dict[str, Any]] = [
            {"type": wire.LABEL, "label": translate(locale, "discord.meeting.thanks_people"), "component": select},
            {"type": wire.LABEL, "label": translate(locale, "discord.modal.message"), "component": {
                "type": wire.TEXT_INPUT, "custom_id": "message", "style": wire.TEXT_PARAGRAPH, "required": True,
                "min_length": 1, "max_length": max(1, min(max_length, limits.TEXT_INPUT_MAX)),
                "value": limits.truncate(translate(locale, "discord.meeting.thanks_default", title=view.title),
                                         max(1, min(max_length, limits.TEXT_INPUT_MAX)))}},
        ]
        if value_options:
            components.append({"type": wire.LABEL, "label": translate(locale, "discord.modal.value"), "component": {
                "type": wire.STRING_SELECT, "custom_id": "value", "required": False, "min_values": 0,
                "max_values": 1, "placeholder": translate(locale, "discord.modal.value_placeholder"),
                "options": value_options[:limits.SELECT_OPTIONS]}})
        modal = {"custom_id": f"{MEETING_THANKS_FORM}{view.id}",
                 "title": translate(locale, "discord.meeting.thanks_title", title=view.title),
                 "components": components}
        return {"type": wire.MODAL, "data": limits.fit_modal(modal)}


def _opt(options: dict[str, Any], name: str) -> str | None:
    value = options.get(name)
    return str(value) if value not in (None, "") else None


def _was_late(message: dict[str, Any], lang: str) -> bool:
    """Whether the reminder being redrawn carried the late note (it keeps it)."""
    note = escape(translate(lang, "meeting.reminder.late"))
    for embed in cast(list[dict[str, Any]], message.get("embeds") or []):
        if note in str(embed.get("description", "")):
            return True
    return False
