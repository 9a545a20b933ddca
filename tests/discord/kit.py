"""Discord test kit: a fake Discord API on loopback and a sender of signed interactions.

Interactions are POSTed, signed with a real Ed25519 key, through the aiohttp test client into
the real app (``build_app``); every outgoing REST call lands on the fake API, which records it
and checks it against Discord's published OpenAPI document (``openapi.py``) and with the same limit
validator as every interaction response; the fixtures fail a test whose requests had problems. Like Discord, the fake
de-duplicates message creates that carry ``nonce`` with ``enforce_nonce: true``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from nacl.signing import SigningKey

from adapters.discord import DiscordAdapter, validate, wire
from adapters.discord.commands import BOT_PERMISSIONS
from core.config import Settings
from kizuna.server import build_app
from tests.discord import openapi

APP_ID = "777000000000000001"
GUILD = "900000000000000001"
CHANNEL = "555000000000000001"
FEED = "555000000000000002"
ALICE, BOB, CAROL, DAVE, ADMIN, BOT = ("1001", "1002", "1003", "1004", "1009", "1666")
NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave", ADMIN: "root", BOT: "somebot"}


@dataclass
class Recorded:
    """One request the fake API received."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    at: float
    # The path segment before ``/api/v10`` (``http://fake/a/api/v10``): which of several clients sent it.
    client: str = ""


_CREATE = re.compile(r"/channels/(\d+)/messages")


@dataclass
class FakeDiscord:
    """A loopback stand-in for Discord's REST API: records requests, answers from a script.

    A message create is a message made (``messages``), unless it carries ``nonce`` with
    ``enforce_nonce: true`` and the same bot made one with that nonce in that channel within
    ``nonce_window`` seconds: then, as on Discord, that message is the answer and none is made
    (``deduplicated`` counts them). ``delay`` holds every create's answer back that long after
    the message is made, so a client can die with creates in flight (``in_flight``, per client).
    A DM channel (``POST /users/@me/channels``) is the same for the same recipient, as on Discord.
    """

    requests: list[Recorded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    scripts: list[tuple[str, re.Pattern[str], list[tuple[int, Any, dict[str, str]]]]] = field(default_factory=list)
    url: str = ""
    nonce_window: float = 120.0
    delay: float = 0.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    deduplicated: int = 0
    in_flight: collections.Counter[str] = field(default_factory=collections.Counter)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(880000000000000001))
    _nonces: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _dm_channels: dict[str, str] = field(default_factory=dict)

    def script(self, method: str, path: str, *answers: tuple[int, Any, dict[str, str]]) -> None:
        """Answer the next requests matching ``method`` and the ``path`` regex with ``answers``, in order."""
        self.scripts.append((method, re.compile(path), list(answers)))

    def calls(self, method: str | None = None, path: str = "") -> list[Recorded]:
        """Requests received, optionally by method and path regex."""
        return [r for r in self.requests if (method is None or r.method == method) and re.search(path, r.path)]

    def made(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages made by creates (not the repeats answered from a nonce), optionally in one channel."""
        return [m for m in self.messages if channel is None or m["channel_id"] == channel]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        head, api, tail = request.path.partition("/api/v10")
        path, client = (tail, head.strip("/")) if api else (request.path, "")
        self.requests.append(Recorded(request.method, path, body, dict(request.headers), time.monotonic(), client))
        self._check(request.method, path, body)
        for method, pattern, answers in self.scripts:
            if method == request.method and pattern.search(path) and answers:
                status, answer, headers = answers.pop(0)
                return web.json_response(answer, status=status, headers=headers)
        if request.method == "DELETE":
            return web.Response(status=204)
        if request.method == "PUT" and path.endswith("/commands"):
            return web.json_response([{**c, "id": str(next(self._ids))} for c in body])
        if path == "/users/@me/channels":
            recipient = str((body or {}).get("recipient_id"))
            channel = self._dm_channels.setdefault(recipient, str(next(self._ids)))
            return web.json_response({"id": channel, "type": 1})
        create = _CREATE.fullmatch(path)
        if request.method == "POST" and create and isinstance(body, dict):
            return await self._create(request.headers.get("Authorization", ""), create.group(1), body, client)
        return web.json_response({"id": str(next(self._ids)), **(body if isinstance(body, dict) else {})})

    async def _create(self, author: str, channel: str, body: dict[str, Any], client: str) -> web.Response:
        now = time.monotonic()
        key = (author, channel, str(body.get("nonce")))
        seen = self._nonces.get(key) if body.get("enforce_nonce") and "nonce" in body else None
        if seen is not None and now - seen[0] <= self.nonce_window:
            self.deduplicated += 1
            message = seen[1]
        else:
            message = {"id": str(next(self._ids)), "channel_id": channel, **body}
            self.messages.append(message)
            if body.get("enforce_nonce") and "nonce" in body:
                self._nonces[key] = (now, message)
        self.in_flight[client] += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight[client] -= 1
        return web.json_response(message)

    def _check(self, method: str, path: str, body: Any) -> None:
        # Discord's published API first (every request), then its documented limits and Kizuna's mention rules.
        self.problems += openapi.check_request(method, path, body)
        if path.endswith("/commands") and method == "PUT":
            self.problems += validate.check_commands(body)
        elif (path.endswith("/messages") or "/webhooks/" in path) and method in ("POST", "PATCH"):
            self.problems += validate.check_message(body, f"{method} {path}")


class Discord:
    """Sends signed interactions to the app like Discord does, and checks every answer."""

    def __init__(self, client: TestClient, key: SigningKey, adapter: DiscordAdapter) -> None:
        self.client = client
        self.key = key
        self.adapter = adapter
        self._ids = itertools.count(990000000000000001)

    def sign(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        stamp = timestamp or str(int(time.time()))
        signature = self.key.sign(stamp.encode() + body).signature.hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        # A stream: aiohttp warns that a large body sent as bytes blocks the loop.
        response = await self.client.post("/api/discord/interactions", data=io.BytesIO(body), headers=headers)
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    async def send(self, payload: dict[str, Any], *, expect: int = 200) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        status, answer = await self.post_raw(body, self.sign(body))
        assert status == expect, answer
        if status == 200:
            assert validate.check_response(answer) == [], answer
            assert openapi.check_interaction_response(answer) == [], answer
        return answer  # type: ignore[no-any-return]

    def interaction(self, kind: int, data: dict[str, Any], *, user: str = ALICE, locale: str = "en",
                    admin: bool = False, roles: tuple[str, ...] = (), guild: str | None = GUILD,
                    channel: str = CHANNEL, message: dict[str, Any] | None = None,
                    interaction_id: str | None = None, app_permissions: int | None = None) -> dict[str, Any]:
        # The bot's permissions in the channel: by default what its invite link asks for.
        granted = BOT_PERMISSIONS if app_permissions is None else app_permissions
        author = {"id": user, "username": NAMES.get(user, user), "global_name": NAMES.get(user, user).title()}
        payload: dict[str, Any] = {
            "id": interaction_id or str(next(self._ids)), "application_id": APP_ID, "type": kind,
            "token": f"tok-{next(self._ids)}", "version": 1, "data": data, "locale": locale,
            "channel_id": channel, "channel": {"id": channel, "type": 0}, "attachment_size_limit": 8388608,
            "app_permissions": str(granted), "entitlements": [], "authorizing_integration_owners": {"0": GUILD},
            "context": 0,
        }
        if guild:
            payload["guild_id"] = guild
            payload["guild_locale"] = "ja"
            perms = (wire.MANAGE_GUILD | wire.VIEW_CHANNEL) if admin else wire.VIEW_CHANNEL
            payload["member"] = {"user": author, "roles": list(roles), "permissions": str(perms), "nick": None,
                                 "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False}
        else:
            payload["user"] = author
        if message is not None:
            payload["message"] = message
        return payload

    @staticmethod
    def resolved(*user_ids: str, roles: dict[str, list[str]] | None = None) -> dict[str, Any]:
        users = {u: {"id": u, "username": NAMES.get(u, u), "global_name": NAMES.get(u, u).title(),
                     **({"bot": True} if u == BOT else {})} for u in user_ids}
        members = {u: {"nick": None, "roles": (roles or {}).get(u, []), "permissions": "0"} for u in user_ids}
        return {"users": users, "members": members}

    def command(self, name: str, options: list[dict[str, Any]] | None = None, *,
                resolved: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"id": "1", "name": name, "type": wire.CHAT_INPUT, "options": options or []}
        if resolved:
            data["resolved"] = resolved
        return self.interaction(wire.APPLICATION_COMMAND, data, **kw)

    def thanks(self, *recipients: str, message: str = "great release notes", value: str | None = None,
               **kw: Any) -> dict[str, Any]:
        options: list[dict[str, Any]] = []
        for key, uid in zip(("user", "user2", "user3"), recipients, strict=False):
            options.append({"name": key, "type": wire.OPT_USER, "value": uid})
        options.insert(1 if options else 0, {"name": "message", "type": wire.OPT_STRING, "value": message})
        if value is not None:
            options.append({"name": "value", "type": wire.OPT_STRING, "value": value})
        return self.command("thanks", options, resolved=self.resolved(*recipients), **kw)

    def admin(self, sub: str, options: list[dict[str, Any]] | None = None, *, admin: bool = True,
              resolved: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.command("kizuna", [{"name": sub, "type": wire.OPT_SUB_COMMAND, "options": options or []}],
                            admin=admin, resolved=resolved, user=kw.pop("user", ADMIN), **kw)

    def click(self, custom_id: str, *, message: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        data = {"custom_id": custom_id, "component_type": wire.BUTTON}
        return self.interaction(wire.MESSAGE_COMPONENT, data, message=message or {"id": "1", "content": ""}, **kw)



def clap_id(answer: dict[str, Any]) -> str:
    """The custom id of the 👏 button in a thanks message."""
    return str(answer["data"]["components"][0]["components"][0]["custom_id"])


@contextlib.asynccontextmanager
async def serve(settings: Settings, adapter: DiscordAdapter, key: SigningKey) -> AsyncIterator[Discord]:
    """The whole app with this adapter on a loopback test server, and a client that signs with ``key``."""
    app = build_app(settings, adapters=[adapter], manage_database=False, run_workers=False)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Discord(client, key, adapter)
    finally:
        await client.close()
