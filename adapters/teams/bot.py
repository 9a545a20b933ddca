"""The Teams bot: a thin ``TeamsActivityHandler`` that turns activities into core calls and cards back.

Every rule (who may thank whom, admin rights, limits) is in ``core``; this module only reads
the activity, calls a service, and renders the neutral message it gets back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, Attachment, DeliveryModes

from adapters.teams import activity as act
from adapters.teams.commands import AdminCommand, is_emoji, parse_admin
from adapters.teams.dialog import (
    COMMAND_ID,
    SUBMIT_MARKER,
    ThanksSubmission,
    message_text,
    parse_submission,
    task_continue,
    thanks_form,
)
from adapters.teams.identity import IdentityCache
from adapters.teams.meetings import COMMAND_ID as MEETING_COMMAND_ID
from adapters.teams.meetings import (
    edit_changes,
    edit_launcher_card,
    launcher_card,
    meeting_form,
    meeting_task,
    parse_meeting_submission,
    parse_meeting_text,
    parse_move,
    submission_from_view,
    with_edit_button,
)
from adapters.teams.render import (
    CARD_CONTENT_TYPE,
    OPEN_MEETING_EDIT,
    OPEN_MEETING_FORM,
    REMINDER_REFRESH_VERB,
    RSVP_DETAILS,
    RSVP_VERB,
    SUBMIT_MEETING_EDIT,
    SUBMIT_MEETING_FORM,
    THANK_ATTENDEES,
    attachment,
    check_size,
    reminder_card,
    render_card,
)
from adapters.teams.sdk import call_with_retries, error_detail, status_of
from cards.answers import answer_info_command
from cards.build import (
    error_message,
    notice_message,
    thanks_message,
)
from cards.meetings import meeting_details_message, meeting_list_message, reminder_message, rsvp_details_message
from cards.model import ErrorMessage, Message, NoticeMessage
from core.commands import CommandKind, ParsedCommand, parse_command, split_tags
from core.errors import KizunaError, UnknownMember
from core.i18n import normalize_locale, resolve_locale, translate
from core.meetings import errors as meeting_errors
from core.meetings import service as meetings
from core.models import Member, Workspace
from core.services.access import require_admin
from core.services.addresses import (
    AddressWrite,
    channel_key,
    get_address,
    get_addresses,
    member_key,
    store_addresses,
)
from core.services.installs import grant_configured_admin, grant_installer_admin
from core.services.members import (
    Person,
    ensure_member,
    ensure_members,
    list_departments,
    set_department,
)
from core.services.thanks import clap, give_thanks, load_thanks_view
from core.services.values import add_value, list_values, set_value_active
from core.services.workspaces import ensure_workspace, update_settings

if TYPE_CHECKING:
    from adapters.teams.adapter import TeamsAdapter

log = logging.getLogger("kizuna.teams")

CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
_PRESENT = object()
# Commands that need no rights and change no settings: their turns may use the identity cache.
_FORGET_AFTER_TURN = "kizuna.forget_identities"
_TURN_LOCALE = "kizuna.locale"
_UNPRIVILEGED = frozenset({CommandKind.THANKS, CommandKind.LEADERBOARD, CommandKind.VALUES, CommandKind.HELP,
                           CommandKind.EMPTY})


def card_activity(message: Message | dict[str, Any]) -> Activity:
    """A message activity carrying the message's Adaptive Card (or an already built card)."""
    card = message if isinstance(message, dict) else render_card(message)
    return Activity(type=ActivityTypes.message,
                    attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card)])


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (invoke payloads are untrusted)."""
    return value if isinstance(value, dict) else {}


def invoke(body: Any, status: int = 200) -> InvokeResponse:
    """An invoke answer (HTTP status and JSON body)."""
    return InvokeResponse(status=status, body=body)


def card_invoke_response(message: Message) -> InvokeResponse:
    """``adaptiveCard/action`` answer that replaces the card for the user who pressed the button."""
    return invoke({"statusCode": 200, "type": CARD_RESPONSE, "value": render_card(message)})


def text_invoke_response(text: str) -> InvokeResponse:
    """``adaptiveCard/action`` answer that shows a short message and leaves the card as it is."""
    return invoke({"statusCode": 200, "type": MESSAGE_RESPONSE, "value": text})


def task_message(text: str) -> InvokeResponse:
    """``task/fetch`` / ``task/submit`` answer that shows (or closes the dialog with) a short message."""
    return invoke({"task": {"type": "message", "value": text}})


def aad_reverse_key(platform_user_id: str) -> str:
    """Address key of a member's Entra object id (the people picker preselects by Entra id)."""
    return f"teams-aad-of:{platform_user_id}"


class Turn:
    """Who and where, resolved once per activity."""

    def __init__(self, context: TurnContext, workspace: Workspace, member: Member, locale: str,
                 recipients: list[Member] | None = None) -> None:
        self.context = context
        self.activity = context.activity
        self.workspace = workspace
        self.member = member
        self.locale = locale
        # The mentioned people of a thanks message, resolved alongside the sender (see ``_turn``).
        self.recipients = recipients


class KizunaTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    """Routes Teams activities to the core."""

    def __init__(self, host: TeamsAdapter) -> None:
        self.host = host
        # What this process last stored per (workspace, address key): every activity would otherwise
        # re-read the same conversation reference. ``_PRESENT`` marks keys known to exist.
        self._addresses: dict[tuple[int, str], Any] = {}
        self.identities = IdentityCache(host.identity_ttl)

    def _unknown(self, workspace: Workspace, writes: Iterable[AddressWrite]) -> list[AddressWrite]:
        """The writes this process has not made already (a replacing one: not with this payload)."""
        todo = []
        for write in writes:
            known = self._addresses.get((workspace.id, write.key))
            if known is None or (write.replace and known != write.payload):
                todo.append(write)
        return todo

    def _keep(self, workspace: Workspace, writes: Iterable[AddressWrite]) -> None:
        if len(self._addresses) >= 50_000:
            self._addresses.clear()
        for write in writes:
            self._addresses[(workspace.id, write.key)] = write.payload if write.replace else _PRESENT

    async def _store_addresses(self, workspace: Workspace, writes: Iterable[AddressWrite]) -> None:
        """Store the addresses this process has not stored already, in one transaction."""
        todo = self._unknown(workspace, writes)
        if todo:
            await store_addresses(workspace, todo)
            self._keep(workspace, todo)

    async def on_turn(self, turn_context: TurnContext) -> None:
        try:
            await super().on_turn(turn_context)
        finally:
            workspace = turn_context.turn_state.get(_FORGET_AFTER_TURN)
            if workspace is not None:
                self.identities.forget(workspace)

    # ---- who and where ------------------------------------------------------------------------

    async def _turn(self, context: TurnContext, *, cached: bool = False,
                    people: list[act.Mention] | None = None) -> Turn:
        """Who and where. ``cached`` only for turns that need no rights (see ``identity.py``).

        ``people`` (the recipients of a thanks message) are looked up, and their notification
        addresses stored, at the same time as the sender: neither needs the other, and a first-time
        sender thanking a first-time recipient would otherwise wait for each row in turn.
        """
        activity = context.activity
        tenant = act.tenant_id(activity)
        workspace = self.identities.workspace(tenant) if cached else None
        if workspace is None:
            workspace = await ensure_workspace(act.PLATFORM, tenant, default_locale=normalize_locale(activity.locale))
            if cached:
                self.identities.keep_workspace(tenant, workspace)
            else:
                # Settings, rights or departments may change in this turn: forget them at its end.
                context.turn_state[_FORGET_AFTER_TURN] = workspace
        sender = activity.from_property
        mentioned = people or []
        persons = [Person(sender.id, sender.name, activity.locale),
                   *(Person(p.id, p.name, is_bot=p.is_bot) for p in mentioned)]

        def addresses(members: dict[str, Member]) -> list[AddressWrite]:
            # The recipients' addresses must exist before ``give_thanks`` (``_recipient_addresses``).
            return (self._sender_addresses(activity, members[sender.id])
                    + self._recipient_addresses(activity, [members[p.id] for p in mentioned]))

        member, *recipients = await self._people(workspace, persons, cached=cached, addresses=addresses)
        aad = act.aad_object_id(activity)
        if aad and aad in self.host.teams.admin_ids:
            await grant_configured_admin(member)
        locale = resolve_locale(activity.locale, member.locale or workspace.default_locale)
        context.turn_state[_TURN_LOCALE] = locale
        return Turn(context, workspace, member, locale, recipients if people else None)

    async def _people(self, workspace: Workspace, people: list[Person], *, cached: bool,
                      addresses: Callable[[dict[str, Member]], list[AddressWrite]] | None = None) -> list[Member]:
        """The members for ``people`` and the turn's ``addresses`` (a function of the members), stored
        in one transaction: a first-time sender thanking first-time recipients waits for one trip
        to the database. On a ``cached`` turn, people this process just saw (and would not change)
        are not looked up again, and addresses it already stored are not written again.
        """
        known: dict[str, Member] = {}
        if cached:
            for person in people:
                member = self.identities.member(workspace.id, person.platform_user_id, person.display_name,
                                                person.locale)
                if member is not None and not (person.is_bot and not member.is_bot):
                    known[person.platform_user_id] = member  # else ensure_member would change it
        todo = [p for p in people if p.platform_user_id not in known]
        if not todo:
            if addresses is not None:
                await self._store_addresses(workspace, addresses(known))
            return [known[p.platform_user_id] for p in people]
        written: list[AddressWrite] = []

        def writes(found: Sequence[Member]) -> list[AddressWrite]:
            # Called inside the transaction (on SQLite, on the database's thread): it only computes.
            if addresses is not None:
                written.extend(addresses({**known, **{m.platform_user_id: m for m in found}}))
            return written

        for member in await ensure_members(workspace, todo, writes):
            known[member.platform_user_id] = member
            if cached:
                self.identities.keep_member(member)
        self._keep(workspace, written)
        return [known[p.platform_user_id] for p in people]

    @staticmethod
    def _sender_addresses(activity: Activity, member: Member) -> list[AddressWrite]:
        """How to reach this person/conversation again, and their Entra id → Teams id."""
        items = [AddressWrite(key, payload) for key, payload in act.address_keys(activity)]
        aad = act.aad_object_id(activity)
        if aad:
            items.append(AddressWrite(f"aad:{aad}", {"id": member.platform_user_id, "name": member.display_name}))
            items.append(AddressWrite(aad_reverse_key(member.platform_user_id), {"aad": aad}))
        return items

    @staticmethod
    def _recipient_addresses(activity: Activity, recipients: list[Member]) -> list[AddressWrite]:
        """Recipients without a 1:1 reference yet get a "create a 1:1 chat" address for their notification.

        Stored *before* ``give_thanks``: its transaction commits the notification rows, and the
        outbox worker may claim one at once; the address it needs must already be there.
        """
        sender_id = activity.from_property.id if activity.from_property is not None else None
        # The bot as the activity names it (an activity without ``recipient`` is answered all the same).
        bot = {"id": activity.recipient.id if activity.recipient else None,
               "name": (activity.recipient.name if activity.recipient else None) or "Kizuna"}
        items: dict[str, AddressWrite] = {}
        for recipient in recipients:
            if recipient.platform_user_id == sender_id or recipient.is_bot:
                continue  # never notified: their own thanks, or a bot (core refuses thanking one)
            key = member_key(recipient.platform_user_id)
            items.setdefault(key, AddressWrite(key, {
                "create": {"serviceUrl": activity.service_url, "tenantId": act.tenant_id(activity),
                           "user": {"id": recipient.platform_user_id, "name": recipient.display_name},
                           "bot": dict(bot)},
            }, False))
        return list(items.values())

    # ---- messages -----------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.from_property is None or not activity.from_property.id:
            return
        if not activity.text and activity.value is not None:
            # A legacy Action.Submit from an old card: nothing to do.
            return
        text, people = act.split_mentions(activity)
        parsed = parse_command(text)
        admin = parse_admin(text, parsed)
        cached = admin is None and parsed.kind in _UNPRIVILEGED
        thanks = admin is None and parsed.kind is CommandKind.THANKS
        turn = await self._turn(turn_context, cached=cached, people=people if thanks else None)
        try:
            reply = await self._command(turn, text, people, parsed, admin)
        except KizunaError as error:
            reply = error_message(error, turn.locale)
        except Exception:
            log.exception("message %s failed", activity.id)
            reply = ErrorMessage(turn.locale, translate(turn.locale, "error.internal"))
        if reply is not None:
            await self._reply(turn_context, card_activity(reply))

    @staticmethod
    async def _reply(context: TurnContext, reply: Activity) -> None:
        """``context.send_activity(reply)`` for an activity this turn just built, without its ``deepcopy``.

        The SDK copies every outgoing activity (the whole card) so that a caller's object is never
        changed; ``reply`` is built here and used once, so it is addressed in place, exactly as
        ``send_activities`` would address the copy (conversation reference, input hint, no id), and
        handed to the adapter (``KizunaCloudAdapter.send_activities``: retries, same wire JSON).
        With send handlers registered or ``expectReplies`` delivery, the SDK's path is taken.
        """
        if context._on_send_activities or context.activity.delivery_mode == DeliveryModes.expect_replies:
            await context.send_activity(reply)
            return
        TurnContext.apply_conversation_reference(reply, TurnContext.get_conversation_reference(context.activity))
        reply.type = reply.type or ActivityTypes.message
        reply.input_hint = reply.input_hint or "acceptingInput"
        reply.id = None
        await context.adapter.send_activities(context, [reply])
        context.responded = True

    async def _command(self, turn: Turn, text: str, people: list[act.Mention], parsed: ParsedCommand,
                       admin: AdminCommand | None) -> Message | dict[str, Any] | None:
        if admin is not None:
            return await self._admin(turn, admin, people)
        if parsed.kind is CommandKind.THANKS:
            return await self._thanks(turn, parsed.rest, people)
        if parsed.kind is CommandKind.MEETING:
            return await self._meeting_command(turn, parsed.rest)
        answer = await answer_info_command(turn.workspace, turn.member, parsed, turn.locale, "teams")
        if answer is not None:
            return answer
        return ErrorMessage(turn.locale, translate(turn.locale, "error.unknown_command", command=parsed.word))

    async def _thanks(self, turn: Turn, rest: str, people: list[act.Mention]) -> Message | None:
        recipients = turn.recipients
        if recipients is None:
            recipients = await self._people(
                turn.workspace, [Person(p.id, p.name, is_bot=p.is_bot) for p in people], cached=True,
                addresses=lambda members: self._recipient_addresses(turn.activity, list(members.values())))
        message, tags = split_tags(act.message_without_mentions(rest, people))
        channel = act.base_conversation_id(turn.activity.conversation.id)
        result = await give_thanks(turn.workspace, turn.member, recipients, message, tags,
                                   idempotency_key=act.idempotency_key(turn.activity, "msg"),
                                   channel_ref=channel, notify_recipients=True)
        if not result.created:
            log.info("activity %s was delivered again; thanks %s already exists", turn.activity.id, result.view.id)
            return None
        return thanks_message(result.view, turn.locale, turn.workspace.timezone)

    async def _admin(self, turn: Turn, command: AdminCommand, people: list[act.Mention]) -> Message:
        workspace, actor, lang = turn.workspace, turn.member, turn.locale
        if command.kind == "feed_here":
            channel = act.base_conversation_id(turn.activity.conversation.id)
            await update_settings(workspace, actor, feed_channel=channel)
            await self._store_addresses(workspace, [AddressWrite(channel_key(channel),
                                                                 act.channel_reference(turn.activity, channel))])
            return notice_message(lang, "notice.feed_set")
        if command.kind == "feed_off":
            await update_settings(workspace, actor, feed_channel="")
            return notice_message(lang, "teams.notice.feed_unset")
        if command.kind == "department":
            if len(people) != 1:
                return ErrorMessage(lang, translate(lang, "teams.usage.department"))
            name = act.message_without_mentions(command.rest, people).strip()
            # Rights first: a refused command must not create the target's member row.
            require_admin(actor)
            target = await ensure_member(workspace, people[0].id, display_name=people[0].name,
                                         is_bot=people[0].is_bot)
            await set_department(workspace, actor, target, name or None)
            return notice_message(lang, "notice.department_set", name=target.display_name,
                                  department=name or "—")
        if command.kind == "value_add":
            words = list(command.words)
            emoji = words.pop() if len(words) > 2 and is_emoji(words[-1]) else ""
            if len(words) < 2:
                return ErrorMessage(lang, translate(lang, "teams.usage.value_add"))
            key, name_en = words[0], words[1]
            name_ja = " ".join(words[2:]) if len(words) > 2 else ""
            value = await add_value(workspace, actor, key, name_en, name_ja, emoji)
            return notice_message(lang, "notice.value_added", key=value.key)
        if command.words:
            active = command.kind == "value_restore"
            value = await set_value_active(workspace, actor, command.words[0], active)
            return notice_message(lang, "notice.value_restored" if active else "notice.value_archived", key=value.key)
        return ErrorMessage(lang, translate(lang, "teams.usage.value_add"))

    # ---- installation -------------------------------------------------------------------------

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added = [m for m in (activity.members_added or []) if m is not None and m.id]  # untrusted: [null] happens
        if bot_id and any(m.id == bot_id for m in added) and activity.from_property is not None:
            await self._installed(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self._installed(turn_context)

    async def _installed(self, turn_context: TurnContext) -> None:
        """The bot was added: whoever added it is the first admin of a new workspace; say hello."""
        activity = turn_context.activity
        if activity.from_property is None or not activity.from_property.id:
            return
        turn = await self._turn(turn_context)
        if not act.aad_object_id(activity):
            # Teams always names the installer's Entra id; without it we cannot trust "who installed".
            granted = False
        else:
            granted = await grant_installer_admin(turn.workspace, turn.member)
        text_id = "teams.welcome.admin" if granted else "teams.welcome"
        try:
            await turn_context.send_activity(card_activity(notice_message(turn.locale, text_id)))
        except Exception as error:  # a welcome that cannot be posted is not worth failing the install
            log.warning("welcome message not sent: %s", error_detail(error))

    # ---- meetings (text) ----------------------------------------------------------------------

    async def _meeting_command(self, turn: Turn, rest: str) -> Message | dict[str, Any]:
        """``meeting`` (a button that opens the dialog), ``meeting list|show|edit|skip|move|pause|resume|cancel …``."""
        workspace, member, lang = turn.workspace, turn.member, turn.locale
        command = parse_meeting_text(rest)
        if command.action == "create":
            return launcher_card(lang)
        if command.action == "help":
            text = translate(lang, "teams.meeting.help") + "\n" + translate(lang, "teams.meeting.help.more")
            return NoticeMessage(lang, text, translate(lang, "meeting.help.title"))
        if command.action == "list":
            return meeting_list_message(await meetings.list_meetings(workspace), lang)
        if not command.args:
            raise meeting_errors.InvalidMeetingCommand(hint=f"meeting {command.action} ID")
        meeting_id = command.args[0]
        if command.action == "show":
            view = await meetings.get_meeting(workspace, meeting_id)
            return await self._meeting_card(turn, view, "meeting.details", 5)
        if command.action == "edit":
            # A message cannot open a dialog: answer with a button that does.
            return edit_launcher_card(lang, await meetings.get_meeting(workspace, meeting_id))
        if command.action == "pause":
            view = await meetings.pause_meeting(workspace, member, meeting_id)
            return await self._meeting_card(turn, view, "meeting.paused")
        if command.action == "resume":
            view = await meetings.resume_meeting(workspace, member, meeting_id)
            return await self._meeting_card(turn, view, "meeting.resumed")
        if command.action == "move":
            occurrence, new_start = parse_move(meeting_id, command.args[1:])
            key = await meetings.resolve_occurrence(workspace, meeting_id, occurrence)
            view = await meetings.move_occurrence(workspace, member, meeting_id, key, new_start)
            return await self._meeting_card(turn, view, "meeting.moved")
        if command.action == "cancel":
            view = await meetings.end_meeting(workspace, member, meeting_id)
            return NoticeMessage(lang, f"#{view.id} {view.title}", translate(lang, "meeting.ended", title=view.title))
        # skip ID DATE
        if len(command.args) < 2:
            raise meeting_errors.InvalidMeetingCommand(hint=f"meeting skip {meeting_id} YYYY-MM-DD")
        key = await meetings.resolve_occurrence(workspace, meeting_id, " ".join(command.args[1:3]))
        view = await meetings.skip_occurrence(workspace, member, meeting_id, key)
        return await self._meeting_card(turn, view, "meeting.skipped")

    async def _meeting_card(self, turn: Turn, view: meetings.MeetingView, title_id: str,
                            upcoming: int = 3) -> dict[str, Any]:
        """A meeting's details under ``title_id``, its next dates, and "Edit"."""
        next_dates = await meetings.upcoming_occurrences(turn.workspace, view.id, upcoming)
        card = render_card(meeting_details_message(view, turn.locale, title_id, next_dates))
        return with_edit_button(card, turn.locale, view)

    # ---- invokes ------------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        name = turn_context.activity.name
        handlers = {
            "adaptiveCard/action": (self._card_action, text_invoke_response),
            "composeExtension/fetchTask": (self._fetch_task, task_message),
            "composeExtension/submitAction": (self._submit_action, task_message),
            "task/fetch": (self._task_fetch, task_message),
            "task/submit": (self._task_submit, task_message),
        }
        if name not in handlers:
            # Anything else (search, link unfurling, sign-in…) is not a Kizuna feature: answer politely.
            log.debug("ignoring invoke %r", name)
            return invoke({})
        handler, answer = handlers[name]
        sender = turn_context.activity.from_property
        if sender is None or not sender.id:
            # Every Kizuna invoke acts for someone; with nobody named there is no one to act for
            # (the message path ignores such an activity; an invoke must be answered).
            return answer(translate(self._locale_of(turn_context), "teams.error.no_sender"))
        # Like the message path: a failure is answered in the user's language, in the invoke's own
        # shape (a message in the dialog, or next to the card), never as an HTTP error Teams shows
        # as "Something went wrong".
        try:
            return await handler(turn_context)
        except KizunaError as error:
            return answer(error.localized(self._locale_of(turn_context)))
        except Exception:
            log.exception("invoke %s (%s) failed", name, turn_context.activity.id)
            return answer(translate(self._locale_of(turn_context), "error.internal"))

    @staticmethod
    def _locale_of(context: TurnContext) -> str:
        """The turn's language if it was resolved, else the one the activity names."""
        locale = context.turn_state.get(_TURN_LOCALE)
        return str(locale) if locale else resolve_locale(context.activity.locale)

    async def _card_action(self, context: TurnContext) -> InvokeResponse:
        value = _dict(context.activity.value)
        action = _dict(value.get("action"))
        if action.get("type") != "Action.Execute":
            return invoke({"statusCode": 400, "type": "application/vnd.microsoft.error",
                           "value": {"code": "BadRequest", "message": "expected Action.Execute"}})
        turn = await self._turn(context, cached=True)  # claps and RSVPs need no rights
        data = _dict(action.get("data"))
        verb = str(action.get("verb") or "")
        card_locale = normalize_locale(str(data.get("locale") or "")) or turn.locale
        if verb in (RSVP_VERB, REMINDER_REFRESH_VERB):
            return await self._reminder_action(context, turn, verb, data, card_locale)
        try:
            thanks_id = int(str(data.get("thanks_id")))
        except ValueError:
            return text_invoke_response(translate(turn.locale, "error.thanks_not_found"))
        try:
            if verb == "clap":
                result = await clap(turn.workspace, thanks_id, turn.member)
                card = thanks_message(result.view, card_locale, turn.workspace.timezone)
                if not result.changed:
                    return text_invoke_response(translate(turn.locale, "notice.already_clapped"))
                await self._update_for_everyone(context, card)
                return card_invoke_response(card)
            if verb == "refresh":
                view = await load_thanks_view(turn.workspace, thanks_id)
                return card_invoke_response(thanks_message(view, card_locale, turn.workspace.timezone))
        except KizunaError as error:
            return text_invoke_response(error.localized(turn.locale))
        return text_invoke_response(translate(turn.locale, "error.generic"))

    async def _reminder_action(self, context: TurnContext, turn: Turn, verb: str, data: dict[str, Any],
                               card_locale: str) -> InvokeResponse:
        """An RSVP button (record the answer, refresh everyone's counts) or the card's refresh."""
        meeting_id = str(data.get("meeting_id") or "")
        occurrence = str(data.get("occurrence") or "")
        try:
            if verb == RSVP_VERB:
                summary = await meetings.answer_rsvp(turn.workspace, turn.member, meeting_id, occurrence,
                                                     str(data.get("answer") or ""))
            else:
                summary = await meetings.rsvp_summary(turn.workspace, meeting_id, occurrence)
            message = await reminder_message(turn.workspace, summary.meeting_id, occurrence, card_locale)
        except KizunaError as error:
            return text_invoke_response(error.localized(turn.locale))
        if verb == RSVP_VERB:
            await self._update_for_everyone(context, message)
        # The presser's own view marks their answer.
        card = reminder_card(message, your_answer=summary.answer_of(turn.member.id))
        check_size(card)
        return invoke({"statusCode": 200, "type": CARD_RESPONSE, "value": card})

    async def _update_for_everyone(self, context: TurnContext, message: Message) -> None:
        """Replace the posted card so everyone sees the new count (best effort, bounded)."""
        message_id = context.activity.reply_to_id
        if not message_id:
            return
        update = card_activity(message)
        update.id = message_id
        try:
            await asyncio.wait_for(context.update_activity(update), timeout=self.host.invoke_budget / 2)
        except Exception as error:
            log.warning("could not update card %s for everyone: %s", message_id, error_detail(error))

    async def _fetch_task(self, context: TurnContext) -> InvokeResponse:
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        turn = await self._turn(context)
        if value.get("commandId") == MEETING_COMMAND_ID:
            return invoke(meeting_task(turn.locale, await self._meeting_form(turn)))
        prefill = ""
        if value.get("commandContext") == "message":
            prefill = message_text(value.get("messagePayload"))
        form = thanks_form(turn.locale, await list_values(turn.workspace),
                           max_length=turn.workspace.max_message_length, message=prefill)
        return invoke(task_continue(turn.locale, form))

    async def _submit_action(self, context: TurnContext) -> InvokeResponse:
        """A compose-extension dialog was submitted: send thanks, or schedule a meeting."""
        deadline = asyncio.get_running_loop().time() + self.host.invoke_budget
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        data = _dict(value.get("data"))
        if value.get("commandId") == MEETING_COMMAND_ID:
            return await self._create_meeting(await self._turn(context), data, deadline)
        if value.get("commandId") not in (None, COMMAND_ID):
            return invoke({})
        return await self._send_thanks(await self._turn(context), data, deadline, compose=True)

    async def _task_fetch(self, context: TurnContext) -> InvokeResponse:
        """A card button opened a dialog: the meeting form, who answered, or thanks for attendees."""
        data = _dict(_dict(context.activity.value).get("data"))
        turn = await self._turn(context)
        marker = data.get("kizuna")
        lang = normalize_locale(str(data.get("locale") or "")) or turn.locale
        try:
            if marker == OPEN_MEETING_FORM:
                return invoke(meeting_task(turn.locale, await self._meeting_form(turn)))
            if marker == OPEN_MEETING_EDIT:
                view = await meetings.get_meeting(turn.workspace, str(data.get("meeting_id") or ""))
                form = await self._meeting_form(turn, submission_from_view(view), meeting_id=view.id)
                return invoke(meeting_task(turn.locale, form, editing=True))
            if marker == RSVP_DETAILS:
                return invoke(await self._rsvp_details(turn, data, lang))
            if marker == THANK_ATTENDEES:
                return invoke(task_continue(turn.locale, await self._attendees_form(turn, data)))
        except KizunaError as error:
            return task_message(error.localized(turn.locale))
        return task_message(translate(turn.locale, "error.generic"))

    async def _task_submit(self, context: TurnContext) -> InvokeResponse:
        """A dialog opened from a card was submitted (``data.kizuna`` says which)."""
        deadline = asyncio.get_running_loop().time() + self.host.invoke_budget
        data = _dict(_dict(context.activity.value).get("data"))
        turn = await self._turn(context)
        if data.get("kizuna") == SUBMIT_MEETING_FORM:
            return await self._create_meeting(turn, data, deadline)
        if data.get("kizuna") == SUBMIT_MEETING_EDIT:
            return await self._edit_meeting(turn, data, deadline)
        if data.get("kizuna") == SUBMIT_MARKER:
            return await self._send_thanks(turn, data, deadline, compose=False)
        return invoke({})

    # ---- meetings (dialogs) -------------------------------------------------------------------

    async def _meeting_form(self, turn: Turn, submission: Any = None, error: str | None = None, *,
                            meeting_id: int | None = None) -> dict[str, Any]:
        departments = [d.name for d in await list_departments(turn.workspace)]
        return meeting_form(turn.locale, departments, turn.workspace.timezone, submission=submission, error=error,
                            meeting_id=meeting_id)

    async def _edit_meeting(self, turn: Turn, data: dict[str, Any], deadline: float) -> InvokeResponse:
        """Save a submitted "Edit meeting" dialog; whether this person may is the core's to say."""
        submission = parse_meeting_submission(data)
        raw_id = str(data.get("meeting_id") or "")
        try:
            before = await meetings.get_meeting(turn.workspace, raw_id)
            view = await meetings.edit_meeting(turn.workspace, turn.member, before.id,
                                               **edit_changes(before, submission))
        except KizunaError as error:
            meeting_id = int(raw_id) if raw_id.isdigit() else None
            form = await self._meeting_form(turn, submission, error.localized(turn.locale), meeting_id=meeting_id)
            return invoke(meeting_task(turn.locale, form, editing=True))
        card = await self._meeting_card(turn, view, "meeting.edited")
        await self._post_within(turn, card, deadline, what=f"meeting {view.id} (edited)")
        return invoke({})

    async def _create_meeting(self, turn: Turn, data: dict[str, Any], deadline: float) -> InvokeResponse:
        """Schedule the meeting of a submitted dialog; reminders go to the conversation it came from."""
        submission = parse_meeting_submission(data)
        activity = turn.activity
        channel = act.base_conversation_id(activity.conversation.id)
        try:
            view = await meetings.create_meeting(turn.workspace, turn.member, channel=channel,
                                                 idempotency_key=act.idempotency_key(activity, "meeting"),
                                                 **submission.fields())
        except KizunaError as error:
            form = await self._meeting_form(turn, submission, error.localized(turn.locale))
            return invoke(meeting_task(turn.locale, form))
        # The scheduler posts to ``channel:<conversation id>``: make sure that address exists (a 1:1
        # chat only stores a member address otherwise).
        await self._store_addresses(turn.workspace, [AddressWrite(channel_key(channel),
                                                                  act.channel_reference(activity, channel))])
        card = await self._meeting_card(turn, view, "meeting.created")
        status = await self._post_within(turn, card, deadline, what=f"meeting {view.id}")
        if status in (403, 404):
            # Kizuna is not in this chat, so it could never post the reminders here.
            await meetings.end_meeting(turn.workspace, turn.member, view.id)
            form = await self._meeting_form(turn, submission, translate(turn.locale, "teams.meeting.bot_not_here"))
            return invoke(meeting_task(turn.locale, form))
        return invoke({})

    async def _post_within(self, turn: Turn, message: Message | dict[str, Any], deadline: float, *,
                           what: str) -> int | None:
        """Post a card into the turn's conversation; wait until ``deadline`` at most (it goes on after).

        Returns the HTTP status of a failure that happened in time, else None.
        """
        loop = asyncio.get_running_loop()
        posting = asyncio.ensure_future(self.host.post(act.reference_payload(turn.activity), card_activity(message)))
        self.host.track(posting)
        done, _ = await asyncio.wait({posting}, timeout=max(0.0, deadline - loop.time()))
        if posting not in done:
            log.warning("posting %s takes longer than the invoke budget; it continues", what)
            return None
        error = posting.exception()
        if error is None:
            return None
        status = status_of(error)
        if status not in (403, 404):
            log.error("%s: its card was not posted: %s", what, error_detail(error))
        return status

    async def _rsvp_details(self, turn: Turn, data: dict[str, Any], lang: str) -> dict[str, Any]:
        """"Who's coming": the answers by name, for the organiser (or an admin), in a dialog."""
        summary = await meetings.rsvp_details(turn.workspace, turn.member, str(data.get("meeting_id") or ""),
                                              str(data.get("occurrence") or ""))
        card = render_card(rsvp_details_message(summary, lang))
        return {"task": {"type": "continue", "value": {
            "title": translate(lang, "teams.meeting.who"), "height": "medium", "width": "medium",
            "card": attachment(card)}}}

    async def _attendees_form(self, turn: Turn, data: dict[str, Any]) -> dict[str, Any]:
        """The thanks dialog with the meeting's attendees (those who said "going") already picked."""
        meeting_id = str(data.get("meeting_id") or "")
        occurrence = str(data.get("occurrence") or "")
        attendees = await meetings.attendees(turn.workspace, meeting_id, occurrence)
        people: list[tuple[str, str]] = []
        for person in attendees:
            if person.platform_user_id == turn.member.platform_user_id:
                continue
            # The people picker knows people by Entra object id; fall back to the Teams id.
            known = await get_address(turn.workspace, aad_reverse_key(person.platform_user_id))
            people.append((str((known or {}).get("aad") or person.platform_user_id), person.display_name))
        return thanks_form(turn.locale, await list_values(turn.workspace),
                           max_length=turn.workspace.max_message_length, people=people,
                           submission=ThanksSubmission(tuple(p for p, _ in people), (), ""),
                           submit_data={"meeting_id": meeting_id, "occurrence": occurrence})

    # ---- thanks (dialogs) ---------------------------------------------------------------------

    async def _send_thanks(self, turn: Turn, data: dict[str, Any], deadline: float, *,
                           compose: bool) -> InvokeResponse:
        """Send thanks from the dialog within Teams' 5 seconds: store, post the card, close the dialog."""
        submission = parse_submission(data)
        try:
            recipients = await self._resolve_people(turn, submission.recipient_ids, deadline)
            await self._store_addresses(turn.workspace, self._recipient_addresses(turn.activity, recipients))
            result = await give_thanks(turn.workspace, turn.member, recipients, submission.message,
                                       list(submission.value_keys),
                                       idempotency_key=act.idempotency_key(turn.activity, "ext"),
                                       channel_ref=act.base_conversation_id(turn.activity.conversation.id),
                                       notify_recipients=True)
        except KizunaError as error:
            people: list[tuple[str, str]] = []
            submit_data: dict[str, str] = {}
            if data.get("meeting_id") and data.get("occurrence"):
                # Came from "Thank someone from this meeting": keep the attendees on offer.
                submit_data = {"meeting_id": str(data["meeting_id"]), "occurrence": str(data["occurrence"])}
                try:
                    form = await self._attendees_form(turn, submit_data)
                    people = [(c["value"], c["title"]) for c in form["body"][0]["choices"]]
                except KizunaError:
                    submit_data = {}
            form = thanks_form(turn.locale, await list_values(turn.workspace),
                               max_length=turn.workspace.max_message_length, submission=submission,
                               error=error.localized(turn.locale), people=people, submit_data=submit_data)
            return invoke(task_continue(turn.locale, form))
        card = thanks_message(result.view, turn.locale, turn.workspace.timezone)
        if not result.created:
            return invoke({})
        status = await self._post_within(turn, card, deadline, what=f"thanks {result.view.id}")
        if status in (403, 404) and compose:
            # The bot is not in this conversation (e.g. a chat between two people): hand the card
            # to the compose box instead, so the sender posts it.
            return invoke({"composeExtension": {"type": "result", "attachmentLayout": "list",
                                                "attachments": [{"contentType": CARD_CONTENT_TYPE,
                                                                 "content": render_card(card)}]}})
        return invoke({})

    async def _resolve_people(self, turn: Turn, ids: tuple[str, ...], deadline: float) -> list[Member]:
        """People-picker ids (Entra object ids, or Teams ``29:`` ids) → members of this workspace.

        Entra ids seen before are mapped with one read of the stored mappings; the others are
        asked of Teams at the same time, within the dialog's deadline. Then every member, and the
        new mappings, are stored in one ``ensure_members``.
        """
        for raw in ids:
            if len(raw) > act.MAX_ID_LENGTH:  # no Teams or Entra id is that long
                raise UnknownMember(name=f"{raw[:40]}…")
        entra = [raw for raw in dict.fromkeys(ids) if not raw.startswith(("29:", "8:", act.BOT_ID_PREFIX))]
        stored = await get_addresses(turn.workspace, [f"aad:{raw}" for raw in entra])
        people: dict[str, Person] = {raw: Person(raw, is_bot=raw.startswith(act.BOT_ID_PREFIX))
                                     for raw in ids if raw not in entra}
        for raw in entra:
            mapped = (stored.get(f"aad:{raw}") or {}).get("id")
            if mapped:
                people[raw] = Person(str(mapped))
        unknown = [raw for raw in entra if raw not in people]
        remaining = deadline - asyncio.get_running_loop().time() - 1.0
        if unknown and remaining <= 0:
            raise UnknownMember(name=unknown[0])
        accounts = await asyncio.gather(*(
            asyncio.wait_for(call_with_retries(partial(TeamsInfo.get_member, turn.context, raw), self.host.retry,
                                               what="get member"), timeout=remaining)
            for raw in unknown), return_exceptions=True)
        writes: list[AddressWrite] = []
        for raw, account in zip(unknown, accounts, strict=True):
            if isinstance(account, BaseException):
                log.warning("could not resolve person %s: %s", raw, error_detail(account))
                raise UnknownMember(name=raw)
            people[raw] = Person(account.id, account.name)
            writes += [AddressWrite(f"aad:{raw}", {"id": account.id, "name": account.name}),
                       AddressWrite(aad_reverse_key(account.id), {"aad": raw})]
        members = await ensure_members(turn.workspace, [people[raw] for raw in ids], writes)
        self._keep(turn.workspace, writes)
        return members

    async def on_unrecognized_activity_type(self, turn_context: TurnContext) -> None:
        log.debug("ignoring activity of type %r", turn_context.activity.type)

