"""``POST /api/discord/events``: Discord's webhook events, signed like interactions.

Discord posts ``{"version": 1, "application_id", "type": 0|1, "event": {"type", "timestamp", "data"}}``:
type 0 is the endpoint's PING, type 1 an event; both are answered 204 with no body. Kizuna listens for
``APPLICATION_AUTHORIZED`` on a server (``integration_type`` 0, with ``guild``): the person who added
Kizuna gets the setup checklist as a direct message, through the outbox. Discord repeats an event it
did not see acknowledged for up to ten minutes; the checklist's outbox key is the event (server,
installer, timestamp), so a repeat sends nothing twice. Anything else is acknowledged and ignored.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from aiohttp import web
from nacl.signing import VerifyKey

from adapters.discord import wire
from adapters.discord.routing import PLATFORM, display_name
from adapters.discord.transport import signature_ok
from adapters.discord.wire import User
from core import outage
from core.app import commands as c
from core.app.execute import Context, execute
from core.i18n import normalize_locale
from core.services.members import Person, ensure_members
from core.services.workspaces import ensure_workspace
from core.text import NestedTooDeeply, parse_json

log = logging.getLogger("kizuna.discord")

EVENTS_ROUTE = "/api/discord/events"
PING, EVENT = 0, 1
APPLICATION_AUTHORIZED = "APPLICATION_AUTHORIZED"
GUILD_INSTALL = 0


def _problem(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


def authorized_install(payload: Any) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """The server, the installer and the event's timestamp of a server install, or None for anything else."""
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict) or event.get("type") != APPLICATION_AUTHORIZED:
        return None
    data = event.get("data")
    if not isinstance(data, dict) or data.get("integration_type") != GUILD_INSTALL:
        return None
    guild, user = data.get("guild"), data.get("user")
    if not (isinstance(guild, dict) and wire.is_snowflake(guild.get("id"))
            and all(isinstance(guild.get(k), str | None) for k in ("name", "preferred_locale"))
            and isinstance(user, dict) and wire.is_snowflake(user.get("id"))
            and all(isinstance(user.get(k), str | None) for k in ("username", "global_name", "locale"))
            and isinstance(user.get("bot"), bool | None) and isinstance(event.get("timestamp"), str | None)):
        return None
    return guild, user, str(event.get("timestamp") or "")[:40]


class EventEndpoint:
    """The aiohttp view of the webhook events endpoint."""

    def __init__(self, verify_key: VerifyKey) -> None:
        self.verify_key = verify_key

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(self.verify_key, request.headers.get("X-Signature-Ed25519"),
                            request.headers.get("X-Signature-Timestamp"), body):
            return _problem(401, "invalid request signature")
        try:
            payload = parse_json(body)
        except NestedTooDeeply as deep:
            return _problem(400, str(deep))
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "the body is not JSON")
        if not isinstance(payload, dict) or payload.get("type") not in (PING, EVENT):
            return _problem(400, "not a webhook event")
        install = authorized_install(payload) if payload["type"] == EVENT else None
        if install is not None:
            try:
                await self.welcome(*install)
            except Exception as error:
                if await outage.down():
                    # The database does not answer (logged once as an outage): Discord repeats the event later.
                    return web.Response(status=503, headers={"Retry-After": "5"})
                log.error("APPLICATION_AUTHORIZED for server %s failed", install[0]["id"], exc_info=error)
        return web.Response(status=204)

    async def welcome(self, guild: dict[str, Any], user: dict[str, Any], timestamp: str) -> None:
        """Send the installer the setup checklist (once per install event)."""
        locale = normalize_locale(guild.get("preferred_locale"))
        name = str(guild.get("name") or guild["id"])[:255]
        workspace = await ensure_workspace(PLATFORM, guild["id"], name=name, default_locale=locale)
        person = Person(user["id"], display_name(None, cast(User, user)), user.get("locale"), bool(user.get("bot")))
        (installer,) = await ensure_members(workspace, [person])
        context = Context(workspace, installer, installer.locale or workspace.default_locale, PLATFORM,
                          event_key=f"discord:authorized:{guild['id']}:{user['id']}:{timestamp}")
        await execute(context, c.WelcomeInstaller())
