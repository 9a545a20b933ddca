"""``POST /api/discord/interactions``: Ed25519 verification, parsing, and Discord's 3-second rule.

Every request is verified over ``timestamp + raw body`` before anything else (401 otherwise, as
Discord requires and probes); a timestamp more than five minutes from our clock is refused too, so a captured
request cannot be replayed later. A PING gets ``{"type": 1}``. Anything else goes to the handler; if
it has answered within ``defer_after`` seconds the answer is the HTTP response itself, otherwise
the interaction is deferred (type 5, or 6 for a button) and the handler's answer follows through
the interaction webhook (``PATCH …/messages/@original``, or an ephemeral follow-up).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import web
from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey

from adapters.discord import wire
from adapters.discord.handlers import (
    EPHEMERAL_COMMANDS,
    InteractionHandler,
    ephemeral_error,
    interaction_locale,
    opens_form,
)
from adapters.discord.meetings import EPHEMERAL_SUBCOMMANDS
from adapters.discord.rest import DiscordHTTPError, RestClient
from adapters.discord.wire import Interaction, InteractionResponse
from core.text import NestedTooDeeply, parse_json

log = logging.getLogger("kizuna.discord")

ROUTE = "/api/discord/interactions"
# Discord waits 3 s for the first answer; leave room for the network on both sides.
DEFAULT_DEFER_AFTER = 2.0
# Buttons answered with a modal.
MODAL_ACTIONS = ("kizuna:thank_attendees:", "kizuna:thank_project:", "kizuna:thank_group:")
_NEEDS_TOKEN = (wire.APPLICATION_COMMAND, wire.MESSAGE_COMPONENT, wire.APPLICATION_COMMAND_AUTOCOMPLETE,
                wire.MODAL_SUBMIT)


def load_verify_key(public_key_hex: str) -> VerifyKey:
    """The application's Ed25519 public key (64 hex characters); ValueError if it is not one."""
    try:
        raw = bytes.fromhex(public_key_hex)
        if len(raw) != 32:
            raise ValueError
        return VerifyKey(raw)
    except (ValueError, CryptoError):
        raise ValueError("DISCORD_PUBLIC_KEY must be the application's public key: 64 hexadecimal characters") \
            from None


# A signed request whose timestamp is further than this from our clock is a replay (or a clock far off): refused.
MAX_CLOCK_SKEW = 300.0


def signature_ok(key: VerifyKey, signature: str | None, timestamp: str | None, body: bytes, *,
                 now: float | None = None) -> bool:
    """True if ``signature`` (hex) signs ``timestamp + body`` and ``timestamp`` (Unix seconds) is within
    ``MAX_CLOCK_SKEW`` of ``now``; False for anything missing, malformed or stale."""
    if not signature or not timestamp or len(signature) != 128:
        return False
    try:
        skew = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError:
        return False
    if not skew <= MAX_CLOCK_SKEW:  # also refuses nan
        return False
    try:
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (CryptoError, ValueError, TypeError, UnicodeError):
        return False
    return True


def shape_problem(payload: Any) -> str | None:
    """Why a verified body is not an interaction Kizuna can answer (None if it is)."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    kind = payload.get("type")
    if kind == wire.PING:
        return None
    if kind not in _NEEDS_TOKEN:
        return f"unknown interaction type {kind!r}"
    for key in ("id", "token", "application_id"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            return f"missing {key}"
    for key in ("id", "application_id"):  # stored where an id goes (255 characters at most)
        if not wire.is_snowflake(payload[key]):
            return f"malformed {key}"
    data = payload.get("data")
    if not isinstance(data, dict):
        return "missing data"
    for key in ("locale", "guild_locale"):
        if not _optional(payload.get(key), str):
            return f"malformed {key}"
    for key in ("guild_id", "channel_id"):
        if payload.get(key) is not None and not wire.is_snowflake(payload[key]):
            return f"malformed {key}"
    member = payload.get("member")
    if member is not None and not (isinstance(member, dict) and _user_ok(member.get("user"))
                                   and _optional(member.get("nick"), str)
                                   and _optional(member.get("permissions"), str)
                                   and _snowflakes(member.get("roles", []))):
        return "malformed member"
    message = payload.get("message")
    if message is not None and not (isinstance(message, dict) and isinstance(message.get("embeds", []), list)
                                    and all(isinstance(e, dict) for e in message.get("embeds", []))):
        return "malformed message"
    if kind == wire.MESSAGE_COMPONENT and not isinstance(data.get("custom_id"), str):
        return "missing custom_id"
    if kind == wire.MODAL_SUBMIT and not (isinstance(data.get("custom_id"), str)
                                          and isinstance(data.get("components", []), list)):
        return "malformed modal submit"
    if kind in (wire.APPLICATION_COMMAND, wire.APPLICATION_COMMAND_AUTOCOMPLETE) and not (
            isinstance(data.get("name"), str) and _options_ok(data.get("options", []))
            and (data.get("target_id") is None or wire.is_snowflake(data["target_id"]))):
        return "malformed command"
    if not _resolved_ok(data.get("resolved")):
        return "malformed resolved"
    return None


def _optional(value: Any, kind: type) -> bool:
    """``value`` is absent (None) or of ``kind``."""
    return value is None or isinstance(value, kind)


def _snowflakes(value: Any) -> bool:
    return isinstance(value, list) and all(wire.is_snowflake(item) for item in value)


def _options_ok(options: Any) -> bool:
    """Command options as Discord sends them: objects with a string name, sub-commands holding their own."""
    return isinstance(options, list) and all(
        isinstance(o, dict) and isinstance(o.get("name"), str) and _optional(o.get("focused"), bool)
        and (o.get("options") is None or _options_ok(o["options"])) for o in options)


def _resolved_ok(resolved: Any) -> bool:
    """``data.resolved`` (absent, or users and members by id, as objects)."""
    if resolved is None:
        return True
    if not isinstance(resolved, dict):
        return False
    users, members = resolved.get("users", {}), resolved.get("members", {})
    return (isinstance(users, dict) and all(wire.is_snowflake(k) and _user_ok(u) for k, u in users.items())
            and isinstance(members, dict) and all(
                wire.is_snowflake(k) and isinstance(m, dict) and _optional(m.get("nick"), str)
                and _snowflakes(m.get("roles", [])) for k, m in members.items()))


def _user_ok(user: Any) -> bool:
    """A Discord user object as Kizuna reads it: a snowflake id, string names, a boolean ``bot``."""
    return (isinstance(user, dict) and wire.is_snowflake(user.get("id")) and _optional(user.get("username"), str)
            and _optional(user.get("global_name"), str) and _optional(user.get("bot"), bool))


def deferral_for(interaction: Interaction) -> InteractionResponse | None:
    """The deferred answer for a slow interaction, or None where Discord allows no deferral."""
    kind = interaction["type"]
    data = interaction.get("data", {})
    if kind == wire.MESSAGE_COMPONENT:
        if str(data.get("custom_id", "")).startswith(MODAL_ACTIONS):
            return None  # its answer is a modal, which cannot follow a deferral
        return {"type": wire.DEFERRED_UPDATE_MESSAGE}
    if kind == wire.APPLICATION_COMMAND and opens_form(interaction):
        return None
    if kind in (wire.APPLICATION_COMMAND, wire.MODAL_SUBMIT):
        sub = (data.get("options") or [{}])[0]
        if data.get("name") in EPHEMERAL_COMMANDS or (
                data.get("name") == "meeting" and sub.get("name") in EPHEMERAL_SUBCOMMANDS):
            return {"type": wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": wire.EPHEMERAL}}
        return {"type": wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
    return None


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
                        status=status, content_type="application/json")


class InteractionEndpoint:
    """The aiohttp view of the interactions endpoint."""

    def __init__(self, verify_key: VerifyKey, handler: InteractionHandler, rest: RestClient | None = None, *,
                 defer_after: float = DEFAULT_DEFER_AFTER) -> None:
        self.verify_key = verify_key
        self.handler = handler
        self.rest = rest
        self.defer_after = defer_after
        self.pending: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        """Verify, parse and answer one interaction request."""
        body = await request.read()
        if not signature_ok(self.verify_key, request.headers.get("X-Signature-Ed25519"),
                            request.headers.get("X-Signature-Timestamp"), body):
            return _json({"error": "invalid request signature"}, 401)
        try:
            payload = parse_json(body)  # strings made storable: no NUL, no lone surrogates (core.text)
        except NestedTooDeeply as deep:
            return _json({"error": str(deep)}, 400)
        except (ValueError, UnicodeDecodeError):
            return _json({"error": "the body is not JSON"}, 400)
        problem = shape_problem(payload)
        if problem is not None:
            return _json({"error": problem}, 400)
        if payload["type"] == wire.PING:
            return _json({"type": wire.PONG})
        interaction: Interaction = payload
        task = asyncio.ensure_future(self.handler.handle(interaction))
        done, _ = await asyncio.wait((task,), timeout=self.defer_after)
        if done:
            return _json(task.result())
        deferral = deferral_for(interaction)
        if deferral is None:
            task.cancel()
            if interaction["type"] == wire.APPLICATION_COMMAND_AUTOCOMPLETE:
                return _json({"type": wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}})
            return _json(ephemeral_error("discord.busy", interaction_locale(interaction)))
        follow_up = asyncio.ensure_future(self._complete(interaction, task, deferral))
        self.pending.add(follow_up)
        follow_up.add_done_callback(self.pending.discard)
        return _json(deferral)

    async def _complete(self, interaction: Interaction, task: asyncio.Future[InteractionResponse],
                        deferral: InteractionResponse) -> None:
        """Send the slow handler's answer through the interaction webhook."""
        response = await task
        if self.rest is None:
            log.error("interaction %s was deferred but there is no REST client to complete it", interaction["id"])
            return
        app_id, token = interaction["application_id"], interaction["token"]
        data = dict(response.get("data", {}))
        result_ephemeral = bool(data.get("flags", 0) & wire.EPHEMERAL)
        try:
            if deferral["type"] == wire.DEFERRED_UPDATE_MESSAGE:
                if response["type"] == wire.UPDATE_MESSAGE:
                    await self.rest.edit_original(app_id, token, data)
                else:
                    await self.rest.create_followup(app_id, token, {**data, "flags": wire.EPHEMERAL})
                return
            deferred_ephemeral = bool(deferral.get("data", {}).get("flags", 0) & wire.EPHEMERAL)
            if result_ephemeral and not deferred_ephemeral:
                # A public "thinking…" cannot become private: remove it and answer privately.
                await self.rest.delete_original(app_id, token)
                await self.rest.create_followup(app_id, token, data)
                return
            data.pop("flags", None)
            await self.rest.edit_original(app_id, token, data)
        except DiscordHTTPError as error:
            log.error("could not complete deferred interaction %s: %s", interaction["id"], error)

    async def drain(self) -> None:
        """Wait for follow-ups still on their way (at shutdown, and in tests)."""
        while self.pending:
            await asyncio.gather(*list(self.pending), return_exceptions=True)
