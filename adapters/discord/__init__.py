"""Discord adapter: HTTP interactions in (slash commands, context menu, modal, 👏 button), webhook
events in (a new install), REST out.

Entry point ``kizuna.adapters: discord = adapters.discord:create_adapter``. Off unless
``DISCORD_PUBLIC_KEY`` is set. See docs/discord.md for installing it in a server.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from adapters.contract import AdapterContext, AdapterDisabled, DeliveryFailed, OutgoingMessage
from adapters.discord.events import EVENTS_ROUTE, EventEndpoint
from adapters.discord.handlers import InteractionHandler
from adapters.discord.meetings import meeting_event_link, reminder_payload
from adapters.discord.mixers import deliver_group
from adapters.discord.render import render
from adapters.discord.rest import DiscordHTTPError, RestClient
from adapters.discord.routing import PLATFORM
from adapters.discord.settings import DiscordSettings
from adapters.discord.transport import DEFAULT_DEFER_AFTER, ROUTE, InteractionEndpoint, load_verify_key
from cards.model import ReminderMessage
from core.config import ConfigurationError, Settings
from core.mixers.service import GROUP_ADDRESS
from core.models import Workspace

__all__ = ["DiscordAdapter", "create_adapter"]


class DiscordAdapter:
    """Kizuna on Discord, as an HTTP-interactions application."""

    name = "discord"
    platform = "discord"

    def __init__(self, settings: Settings, *, logger: logging.Logger | None = None,
                 defer_after: float = DEFAULT_DEFER_AFTER, rest: RestClient | None = None) -> None:
        self.discord = DiscordSettings.read(settings)
        try:
            verify_key = load_verify_key(self.discord.public_key)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        self.log = logger or logging.getLogger("kizuna.discord")
        self.rest = rest or RestClient(self.discord.api_base, self.discord.bot_token)
        self.handler = InteractionHandler(rest=self.rest, public_url=settings.base_url)
        self.endpoint = InteractionEndpoint(verify_key, self.handler, self.rest, defer_after=defer_after)
        self.events = EventEndpoint(verify_key)

    def mount(self, app: web.Application) -> None:
        """``POST /api/discord/interactions`` and ``POST /api/discord/events`` (webhook events)."""
        app.router.add_post(ROUTE, self.endpoint.handle)
        app.router.add_post(EVENTS_ROUTE, self.events.handle)

    async def start(self) -> None:
        """Nothing to open up front: the REST session opens on first use."""

    async def close(self) -> None:
        """Finish follow-ups on their way, then close the REST session."""
        await self.endpoint.drain()
        await self.rest.close()

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        """Post an outbox message to ``channel:<id>`` (or a DM to ``member:<id>``)."""
        if not self.discord.bot_token:
            raise DeliveryFailed("DISCORD_BOT_TOKEN is not set, so Kizuna cannot post on its own", permanent=True)
        kind, _, target = outgoing.address_key.partition(":")
        if kind == GROUP_ADDRESS:
            payload = render(outgoing.message)
            payload.pop("flags", None)
            try:
                await deliver_group(self.rest, outgoing.workspace_external_id, target, payload,
                                    outgoing.idempotency_key or None)
            except DiscordHTTPError as error:
                raise DeliveryFailed.for_status(error.status, str(error), error.retry_after) from error
            except ValueError as error:
                raise DeliveryFailed(str(error), permanent=True) from error
            return
        if not target.isdigit() or kind not in ("channel", "member"):
            raise DeliveryFailed(f"cannot deliver to {outgoing.address_key!r} on Discord", permanent=True)
        payload = await self._payload(outgoing)
        payload.pop("flags", None)
        try:
            if kind == "member":
                channel = await self.rest.request("POST", "/users/@me/channels", {}, payload={"recipient_id": target})
                target = str(channel["id"])
            # The delivery's own key as the nonce: an attempt repeated after a crash (or a lost answer)
            # returns the message the first one made instead of posting it again.
            await self.rest.create_message(target, payload, nonce=outgoing.idempotency_key or None)
        except DiscordHTTPError as error:
            raise DeliveryFailed.for_status(error.status, str(error), error.retry_after) from error

    async def _payload(self, outgoing: OutgoingMessage) -> dict[str, Any]:
        """The message to post; a reminder gets its "who answered" button and its event link."""
        message = outgoing.message
        if not isinstance(message, ReminderMessage):
            return render(message)
        workspace = await Workspace.get_or_none(platform=PLATFORM, external_id=outgoing.workspace_external_id)
        link = await meeting_event_link(workspace, message.meeting_id) if workspace is not None else None
        return reminder_payload(message, link=link)


def create_adapter(context: AdapterContext) -> DiscordAdapter:
    """The entry point: the Discord adapter, or ``AdapterDisabled`` when it is not configured."""
    if not DiscordSettings.read(context.settings).public_key:
        raise AdapterDisabled("DISCORD_PUBLIC_KEY is not set")
    return DiscordAdapter(context.settings, logger=context.logger)
