"""The Teams bot: a thin ``TeamsActivityHandler`` that turns activities into core calls and cards back.

Every rule (who may thank whom, admin rights, limits) is in ``core``; this module only reads
the activity, calls a service, and renders the neutral message it gets back.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, Attachment

from adapters.teams import activity as act
from adapters.teams.commands import AdminCommand, is_emoji, parse_admin
from adapters.teams.dialog import COMMAND_ID, message_text, parse_submission, task_continue, thanks_form
from adapters.teams.render import CARD_CONTENT_TYPE, render_card
from adapters.teams.sdk import call_with_retries, error_detail, status_of
from cards.build import (
    error_message,
    help_message,
    leaderboard_message,
    notice_message,
    thanks_message,
    values_message,
)
from cards.model import ErrorMessage, Message
from core.commands import CommandKind, parse_command, parse_leaderboard_options, split_tags
from core.errors import KizunaError, UnknownMember
from core.i18n import normalize_locale, resolve_locale, translate
from core.models import Member, Workspace
from core.services.addresses import get_address, member_key, remember_address
from core.services.installs import grant_configured_admin, grant_installer_admin
from core.services.members import ensure_member, get_department, set_department, set_notifications
from core.services.stats import leaderboard
from core.services.thanks import clap, give_thanks, load_thanks_view
from core.services.values import add_value, list_values, set_value_active
from core.services.workspaces import ensure_workspace, update_settings

if TYPE_CHECKING:
    from adapters.teams.adapter import TeamsAdapter

log = logging.getLogger("kizuna.teams")

CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
_PRESENT = object()
_ON = {"on", "yes", "true", "オン", "有効", "はい"}
_OFF = {"off", "no", "false", "オフ", "無効", "いいえ"}


def card_activity(message: Message) -> Activity:
    """A message activity carrying the message's Adaptive Card."""
    return Activity(type=ActivityTypes.message,
                    attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=render_card(message))])


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


class Turn:
    """Who and where, resolved once per activity."""

    def __init__(self, context: TurnContext, workspace: Workspace, member: Member, locale: str) -> None:
        self.context = context
        self.activity = context.activity
        self.workspace = workspace
        self.member = member
        self.locale = locale


class KizunaTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    """Routes Teams activities to the core."""

    def __init__(self, host: TeamsAdapter) -> None:
        self.host = host
        # What this process last stored per (workspace, address key): every activity would otherwise
        # re-read the same conversation reference. ``_PRESENT`` marks keys known to exist.
        self._addresses: dict[tuple[int, str], Any] = {}

    async def _store_address(self, workspace: Workspace, key: str, payload: dict[str, Any], *,
                             replace: bool = True) -> None:
        cache_key = (workspace.id, key)
        known = self._addresses.get(cache_key)
        if known is not None and (not replace or known == payload):
            return
        await remember_address(workspace, key, payload, replace=replace)
        if len(self._addresses) >= 50_000:
            self._addresses.clear()
        self._addresses[cache_key] = payload if replace else _PRESENT

    # ---- who and where ------------------------------------------------------------------------

    async def _turn(self, context: TurnContext) -> Turn:
        activity = context.activity
        workspace = await ensure_workspace(act.PLATFORM, act.tenant_id(activity),
                                           default_locale=normalize_locale(activity.locale))
        sender = activity.from_property
        member = await ensure_member(workspace, sender.id, display_name=sender.name, locale=activity.locale)
        aad = act.aad_object_id(activity)
        if aad and aad in self.host.settings.teams_admin_ids:
            await grant_configured_admin(member)
        await self._remember(workspace, activity, member)
        locale = resolve_locale(activity.locale, member.locale or workspace.default_locale)
        return Turn(context, workspace, member, locale)

    async def _remember(self, workspace: Workspace, activity: Activity, member: Member) -> None:
        """Store how to reach this person/conversation again, and their Entra id → Teams id."""
        for key, payload in act.address_keys(activity):
            await self._store_address(workspace, key, payload)
        aad = act.aad_object_id(activity)
        if aad:
            await self._store_address(workspace, f"aad:{aad}", {"id": member.platform_user_id,
                                                                "name": member.display_name})

    async def _remember_recipients(self, turn: Turn, recipients: list[Member]) -> None:
        """Recipients without a 1:1 reference yet get a "create a 1:1 chat" address for their notification."""
        activity = turn.activity
        for recipient in recipients:
            await self._store_address(turn.workspace, member_key(recipient.platform_user_id), {
                "create": {"serviceUrl": activity.service_url, "tenantId": act.tenant_id(activity),
                           "user": {"id": recipient.platform_user_id, "name": recipient.display_name},
                           "bot": {"id": activity.recipient.id, "name": activity.recipient.name or "Kizuna"}},
            }, replace=False)

    # ---- messages -----------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.from_property is None or not activity.from_property.id:
            return
        if not activity.text and activity.value is not None:
            # A legacy Action.Submit from an old card: nothing to do.
            return
        turn = await self._turn(turn_context)
        try:
            reply = await self._command(turn)
        except KizunaError as error:
            reply = error_message(error, turn.locale)
        except Exception:
            log.exception("message %s failed", activity.id)
            reply = ErrorMessage(turn.locale, translate(turn.locale, "error.internal"))
        if reply is not None:
            await turn_context.send_activity(card_activity(reply))

    async def _command(self, turn: Turn) -> Message | None:
        text, people = act.split_mentions(turn.activity)
        parsed = parse_command(text)
        admin = parse_admin(text, parsed)
        if admin is not None:
            return await self._admin(turn, admin, people)
        if parsed.kind is CommandKind.THANKS:
            return await self._thanks(turn, parsed.rest, people)
        if parsed.kind is CommandKind.LEADERBOARD:
            options = parse_leaderboard_options(parsed.rest)
            department = await get_department(turn.workspace, options.department) if options.department else None
            board = await leaderboard(turn.workspace, options.period, options.direction, department=department)
            return leaderboard_message(board, turn.locale)
        if parsed.kind is CommandKind.VALUES:
            return values_message(await list_values(turn.workspace), turn.locale)
        if parsed.kind is CommandKind.NOTIFICATIONS:
            word = parsed.rest.strip().lower()
            if word in _ON | _OFF:
                await set_notifications(turn.member, word in _ON)
                return notice_message(turn.locale, "notice.notifications_on" if word in _ON
                                      else "notice.notifications_off")
            return help_message("teams", turn.locale)
        if parsed.kind in (CommandKind.HELP, CommandKind.EMPTY):
            return help_message("teams", turn.locale)
        return ErrorMessage(turn.locale, translate(turn.locale, "error.unknown_command", command=parsed.word))

    async def _thanks(self, turn: Turn, rest: str, people: list[act.Mention]) -> Message | None:
        recipients = [await ensure_member(turn.workspace, p.id, display_name=p.name) for p in people]
        message, tags = split_tags(act.message_without_mentions(rest, people))
        channel = act.base_conversation_id(turn.activity.conversation.id)
        result = await give_thanks(turn.workspace, turn.member, recipients, message, tags,
                                   idempotency_key=act.idempotency_key(turn.activity, "msg"),
                                   channel_ref=channel, notify_recipients=True)
        if not result.created:
            log.info("activity %s was delivered again; thanks %s already exists", turn.activity.id, result.view.id)
            return None
        await self._remember_recipients(turn, recipients)
        return thanks_message(result.view, turn.locale, turn.workspace.timezone)

    async def _admin(self, turn: Turn, command: AdminCommand, people: list[act.Mention]) -> Message:
        workspace, actor, lang = turn.workspace, turn.member, turn.locale
        if command.kind == "feed_here":
            channel = act.base_conversation_id(turn.activity.conversation.id)
            await update_settings(workspace, actor, feed_channel=channel)
            await self._store_address(workspace, f"channel:{channel}",
                                   act.reference_payload(turn.activity, conversation_id=channel))
            return notice_message(lang, "notice.feed_set")
        if command.kind == "feed_off":
            await update_settings(workspace, actor, feed_channel="")
            return notice_message(lang, "teams.notice.feed_unset")
        if command.kind == "department":
            if len(people) != 1:
                return ErrorMessage(lang, translate(lang, "teams.usage.department"))
            name = act.message_without_mentions(command.rest, people).strip()
            target = await ensure_member(workspace, people[0].id, display_name=people[0].name)
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
        added = [m for m in (activity.members_added or []) if m.id]
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

    # ---- invokes ------------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        name = turn_context.activity.name
        if name == "adaptiveCard/action":
            return await self._card_action(turn_context)
        if name == "composeExtension/fetchTask":
            return await self._fetch_task(turn_context)
        if name == "composeExtension/submitAction":
            return await self._submit_action(turn_context)
        # Anything else (search, link unfurling, sign-in…) is not a Kizuna feature: answer politely.
        log.debug("ignoring invoke %r", name)
        return invoke({})

    async def _card_action(self, context: TurnContext) -> InvokeResponse:
        value = _dict(context.activity.value)
        action = _dict(value.get("action"))
        if action.get("type") != "Action.Execute":
            return invoke({"statusCode": 400, "type": "application/vnd.microsoft.error",
                           "value": {"code": "BadRequest", "message": "expected Action.Execute"}})
        turn = await self._turn(context)
        data = _dict(action.get("data"))
        verb = str(action.get("verb") or "")
        card_locale = normalize_locale(str(data.get("locale") or "")) or turn.locale
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
        prefill = ""
        if value.get("commandContext") == "message":
            prefill = message_text(value.get("messagePayload"))
        form = thanks_form(turn.locale, await list_values(turn.workspace),
                           max_length=turn.workspace.max_message_length, message=prefill)
        return invoke(task_continue(turn.locale, form))

    async def _submit_action(self, context: TurnContext) -> InvokeResponse:
        """Send thanks from the dialog within Teams' 5 seconds: store, post the card, close the dialog."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.host.invoke_budget
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        if value.get("commandId") not in (None, COMMAND_ID):
            return invoke({})
        turn = await self._turn(context)
        submission = parse_submission(value.get("data") if isinstance(value.get("data"), dict) else {})
        try:
            recipients = await self._resolve_people(turn, submission.recipient_ids, deadline)
            result = await give_thanks(turn.workspace, turn.member, recipients, submission.message,
                                       list(submission.value_keys),
                                       idempotency_key=act.idempotency_key(turn.activity, "ext"),
                                       channel_ref=act.base_conversation_id(turn.activity.conversation.id),
                                       notify_recipients=True)
        except KizunaError as error:
            form = thanks_form(turn.locale, await list_values(turn.workspace),
                               max_length=turn.workspace.max_message_length, submission=submission,
                               error=error.localized(turn.locale))
            return invoke(task_continue(turn.locale, form))
        await self._remember_recipients(turn, recipients)
        card = thanks_message(result.view, turn.locale, turn.workspace.timezone)
        if not result.created:
            return invoke({})
        reference = act.reference_payload(turn.activity)
        posting = asyncio.ensure_future(self.host.post(reference, card_activity(card)))
        self.host.track(posting)
        done, _ = await asyncio.wait({posting}, timeout=max(0.0, deadline - loop.time()))
        if posting in done and posting.exception() is not None:
            status = status_of(posting.exception())  # type: ignore[arg-type]
            if status in (403, 404):
                # The bot is not in this conversation (e.g. a chat between two people): hand the card
                # to the compose box instead, so the sender posts it.
                return invoke({"composeExtension": {"type": "result", "attachmentLayout": "list",
                                                    "attachments": [{"contentType": CARD_CONTENT_TYPE,
                                                                     "content": render_card(card)}]}})
            log.error("thanks %s stored but its card was not posted: %s", result.view.id,
                      error_detail(posting.exception()))  # type: ignore[arg-type]
        elif posting not in done:
            log.warning("posting thanks %s takes longer than the invoke budget; it continues", result.view.id)
        return invoke({})

    async def _resolve_people(self, turn: Turn, ids: tuple[str, ...], deadline: float) -> list[Member]:
        """People-picker ids (Entra object ids, or Teams ``29:`` ids) → members of this workspace."""
        members: list[Member] = []
        loop = asyncio.get_running_loop()
        for raw in ids:
            if raw.startswith(("29:", "8:")):
                members.append(await ensure_member(turn.workspace, raw))
                continue
            known = await get_address(turn.workspace, f"aad:{raw}")
            if known and known.get("id"):
                members.append(await ensure_member(turn.workspace, str(known["id"])))
                continue
            remaining = deadline - loop.time() - 1.0
            if remaining <= 0:
                raise UnknownMember(name=raw)
            try:
                account = await asyncio.wait_for(
                    call_with_retries(partial(TeamsInfo.get_member, turn.context, raw), self.host.retry,
                                      what="get member"), timeout=remaining)
            except Exception as error:
                log.warning("could not resolve person %s: %s", raw, error_detail(error))
                raise UnknownMember(name=raw) from None
            member = await ensure_member(turn.workspace, account.id, display_name=account.name)
            await self._store_address(turn.workspace, f"aad:{raw}", {"id": account.id, "name": account.name})
            members.append(member)
        return members

    async def on_unrecognized_activity_type(self, turn_context: TurnContext) -> None:
        log.debug("ignoring activity of type %r", turn_context.activity.type)

