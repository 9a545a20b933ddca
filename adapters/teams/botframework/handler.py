"""The thin ``TeamsActivityHandler``: reads each activity into plain data, hands it to ``text`` (messages)
or the ``invokes`` table, and sends back what they answer.

Only this module, ``activity``, ``adapter``, ``sdk`` and ``wire`` speak the Bot Framework SDK; the bot
reaches its transport through the narrow ``TeamsHost`` port (post a card, track a task, budgets).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, DeliveryModes

from adapters.teams import invokes
from adapters.teams.botframework import activity as act
from adapters.teams.botframework.sdk import call_with_retries, error_detail, status_of
from adapters.teams.host import TeamsHost
from adapters.teams.incoming import PLATFORM, Incoming
from adapters.teams.invokes import InvokeTurn
from adapters.teams.people import People
from adapters.teams.render import render_card
from adapters.teams.text import answer_message
from cards.build import notice_message
from cards.model import ErrorMessage
from core import outage
from core.i18n import resolve_locale, translate
from core.services.installs import forget_welcome, record_install
from core.services.members import Person

log = logging.getLogger("kizuna.teams")


async def reply(context: TurnContext, answer: Activity) -> None:
    """``context.send_activity(answer)`` for an activity this turn just built, without its ``deepcopy``.

    The SDK copies every outgoing activity (the whole card) so that a caller's object is never
    changed; ``answer`` is built here and used once, so it is addressed in place, exactly as
    ``send_activities`` would address the copy (conversation reference, input hint, no id), and
    handed to the adapter (``KizunaCloudAdapter.send_activities``: retries, same wire JSON).
    With send handlers registered or ``expectReplies`` delivery, the SDK's path is taken.
    """
    if context._on_send_activities or context.activity.delivery_mode == DeliveryModes.expect_replies:
        await context.send_activity(answer)
        return
    TurnContext.apply_conversation_reference(answer, TurnContext.get_conversation_reference(context.activity))
    answer.type = answer.type or ActivityTypes.message
    answer.input_hint = answer.input_hint or "acceptingInput"
    answer.id = None
    await context.adapter.send_activities(context, [answer])
    context.responded = True


class KizunaTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    """Routes Teams activities to the core, through ``text`` and ``invokes``."""

    def __init__(self, host: TeamsHost) -> None:
        self.host = host
        self.people = People(host.identity_ttl, host.admin_ids)

    # ---- messages -----------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        incoming = act.read_incoming(activity)
        if incoming is None:
            return
        if not activity.text and activity.value is not None:
            return  # a legacy Action.Submit from an old card: nothing to do
        text, mentions = act.split_mentions(activity)
        try:
            card = await answer_message(self.people, incoming, text, mentions, public_url=self.host.public_url,
                                        shared=act.conversation_type(activity) != "personal")
        except Exception as error:
            await outage.report(log, error, "message %s failed", activity.id)
            locale = resolve_locale(activity.locale)
            card = render_card(ErrorMessage(locale, translate(locale, "error.internal")))
        if card is not None:
            await reply(turn_context, act.card_activity(card))

    # ---- installation -------------------------------------------------------------------------

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if not bot_id or activity.from_property is None:
            return
        added = [m for m in (activity.members_added or []) if m is not None and m.id]  # untrusted: [null] happens
        removed = [m for m in (activity.members_removed or []) if m is not None and m.id]
        if any(m.id == bot_id for m in added):
            await self._installed(turn_context)
        elif any(m.id == bot_id for m in removed):
            await self._removed(turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        if turn_context.activity.action == "add":  # not "add-upgrade": a new version is no new install
            await self._installed(turn_context)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        if turn_context.activity.action == "remove":  # not "remove-upgrade": the app stays
            await self._removed(turn_context)

    async def _installed(self, turn_context: TurnContext) -> None:
        """The bot was added: whoever added it is the first admin of a new workspace; say hello, once.

        Teams announces an install twice (``conversationUpdate`` and ``installationUpdate``), in
        either order: the first to claim the conversation's welcome posts it.
        """
        incoming = act.read_incoming(turn_context.activity)
        if incoming is None:
            return
        caller = await self.people.caller(incoming, fresh=True)
        try:
            # Teams always names the installer's Entra id; without it we cannot trust "who installed".
            install = await record_install(caller.workspace, caller.member, incoming.channel,
                                           may_grant=bool(incoming.aad))
        finally:
            self.people.forget(caller.workspace)
        if not install.welcome:
            return
        text_id = "teams.welcome.admin" if install.granted_admin else "teams.welcome"
        try:
            await turn_context.send_activity(act.card_activity(render_card(notice_message(caller.locale, text_id))))
        except Exception as error:  # a welcome that cannot be posted is not worth failing the install
            log.warning("welcome message not sent: %s", error_detail(error))
            if status_of(error) is not None:  # refused, so not posted: the install's other event may try
                await forget_welcome(PLATFORM, caller.workspace.external_id, incoming.channel)

    async def _removed(self, turn_context: TurnContext) -> None:
        """The bot was removed: installing it again welcomes again."""
        incoming = act.read_incoming(turn_context.activity)
        if incoming is None:
            return
        await forget_welcome(PLATFORM, incoming.tenant, incoming.channel)

    # ---- invokes ------------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        name = str(activity.name or "")
        if not invokes.known(name):
            # Anything else (search, link unfurling, sign-in…) is not a Kizuna feature: answer politely.
            log.debug("ignoring invoke %r", name)
            return InvokeResponse(status=200, body={})
        incoming = act.read_incoming(activity)
        if incoming is None:
            answer = invokes.no_sender(name, activity.locale)
        else:
            deadline = asyncio.get_running_loop().time() + self.host.invoke_budget
            turn = InvokeTurn(incoming, name, activity.value if isinstance(activity.value, dict) else {},
                              self.people, deadline, post=partial(self._post_within, incoming, deadline),
                              update_shared=partial(self._update_for_everyone, turn_context),
                              lookup=partial(self._lookup, turn_context))
            answer = await invokes.answer(turn)
        return InvokeResponse(status=answer.status, body=answer.body)

    async def _post_within(self, incoming: Incoming, deadline: float, card: dict[str, Any], what: str) -> int | None:
        """Post a card into the conversation; wait until ``deadline`` at most (it goes on after).

        Returns the HTTP status of a failure that happened in time, else None.
        """
        loop = asyncio.get_running_loop()
        posting = asyncio.ensure_future(self.host.post_card(incoming.reference, card))
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

    async def _update_for_everyone(self, context: TurnContext, card: dict[str, Any]) -> None:
        """Replace the posted card so everyone sees the new count (best effort, bounded)."""
        message_id = context.activity.reply_to_id
        if not message_id:
            return
        update = act.card_activity(card)
        update.id = message_id
        try:
            await asyncio.wait_for(context.update_activity(update), timeout=self.host.invoke_budget / 2)
        except Exception as error:
            log.warning("could not update card %s for everyone: %s", message_id, error_detail(error))

    async def _lookup(self, context: TurnContext, entra_id: str) -> Person:
        """Who an Entra object id is in this team (Teams id and name)."""
        try:
            account = await call_with_retries(partial(TeamsInfo.get_member, context, entra_id), self.host.retry,
                                              what="get member")
        except Exception as error:
            log.warning("could not resolve person %s: %s", entra_id, error_detail(error))
            raise
        return Person(account.id, account.name)

    async def on_unrecognized_activity_type(self, turn_context: TurnContext) -> None:
        log.debug("ignoring activity of type %r", turn_context.activity.type)
