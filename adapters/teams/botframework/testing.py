"""A test kit for the Teams adapter: a fake Bot Connector (+ OpenID/JWKS) on loopback, and activity builders.

The fake runs in its own thread, because the SDK's msrest clients (creating a 1:1 chat, reading a
member) call it with a *synchronous* ``requests`` session inside the event loop (platform notes A.1):
a fake on the same loop would deadlock.
Tests and ``bench/teams_bench.py`` use it; nothing here is imported by the adapter itself.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from botframework.connector.auth import AppCredentials, PasswordServiceClientCredentialFactory
from msrest.authentication import Authentication

CHANNEL_ISSUER = "https://api.botframework.com"
TENANT = "tenant-0000"
BOT_ID = "28:kizuna-bot"
BOT_NAME = "Kizuna"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def adaptive_cards(payload: Any) -> Iterator[Any]:
    """Every Adaptive Card in a Bot Framework payload.

    Attachments (``{"contentType": "…card.adaptive", "content": card}``: posted activities, dialog
    cards, compose-box results) and ``Action.Execute`` answers (``{"type": "…card.adaptive",
    "value": card}``). A card's own nested cards are part of it, so they are not yielded again.
    """
    if isinstance(payload, dict):
        if payload.get("contentType") == CARD_CONTENT_TYPE:
            yield payload.get("content")
            return
        if payload.get("type") == CARD_CONTENT_TYPE and "value" in payload:
            yield payload["value"]
            return
        for value in payload.values():
            yield from adaptive_cards(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from adaptive_cards(value)


@dataclass
class Captured:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def conversation_id(self) -> str | None:
        parts = self.path.split("/")
        return unquote(parts[3]) if len(parts) > 3 and parts[2] == "conversations" else None

    def card(self) -> dict[str, Any]:
        """The first Adaptive Card of a posted activity."""
        content: dict[str, Any] = self.body["attachments"][0]["content"]
        return content


@dataclass
class Failure:
    """An answer the fake gives instead of success (e.g. 429 with Retry-After)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a bot opening 32 connections at once (the benchmark)
    # had SYNs dropped and retried a second later, which showed up as 1 s replies. A real connector
    # does not do that.
    request_queue_size = 128


class FakeBotConnector:
    """Bot Connector + OpenID metadata + JWKS on ``127.0.0.1:<port>``, in a thread.

    Records every request; ``fail_next`` makes the next activity posts fail; ``members`` answers
    ``GET …/members/{id}``; ``delay`` slows activity posts down; ``jwks`` is served at ``/v1/keys``
    (after ``keys_delay`` seconds, or as ``keys_failure`` when that is set).
    With ``check_card``, every Adaptive Card posted or updated is passed to it, and whatever it
    raises is kept in ``violations`` (a test fixture asserts there are none).
    """

    def __init__(self, *, record: bool = True, port: int = 0,
                 check_card: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.requests: list[Captured] = []
        self.check_card = check_card
        self.violations: list[str] = []
        self.failures: list[Failure] = []
        self.members: dict[str, dict[str, Any]] = {}
        self.jwks: list[dict[str, Any]] = []
        self.keys_failure: Failure | None = None
        self.keys_delay = 0.0
        self.delay = 0.0
        self.record = record
        self.count = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return raw.decode("utf-8", "replace")

            def do_GET(self) -> None:
                fake._capture(self, None)
                if self.path.startswith("/v1/.well-known/openidconfiguration"):
                    self._reply(200, {"issuer": CHANNEL_ISSUER, "jwks_uri": fake.url + "v1/keys",
                                      "id_token_signing_alg_values_supported": ["RS256"]})
                    return
                if self.path.startswith("/v1/keys"):
                    if fake.keys_delay:
                        time.sleep(fake.keys_delay)
                    failure = fake.keys_failure
                    if failure is not None:
                        self._reply(failure.status, failure.body, failure.headers)
                    else:
                        self._reply(200, {"keys": fake.jwks})
                    return
                parts = self.path.split("/")
                if len(parts) == 6 and parts[2] == "conversations" and parts[4] == "members":
                    member = fake.members.get(unquote(parts[5]))
                    if member is None:
                        self._reply(404, {"error": {"code": "MemberNotFoundInConversation",
                                                    "message": "member not found"}})
                    else:
                        self._reply(200, member)
                    return
                self._reply(404, {"error": {"code": "NotFound", "message": self.path}})

            def do_POST(self) -> None:
                body = self._body()
                fake._capture(self, body)
                if fake.delay:
                    time.sleep(fake.delay)
                failure = fake._next_failure()
                if failure is not None:
                    self._reply(failure.status, failure.body or {"error": {"code": "Failure", "message": "fake"}},
                                failure.headers)
                    return
                if self.path.rstrip("/") == "/v3/conversations":
                    members = (body or {}).get("members") or [{}]
                    conversation = f"a:personal-{members[0].get('id', 'x')}"
                    self._reply(201, {"id": conversation, "activityId": str(next(fake._ids)),
                                      "serviceUrl": fake.url})
                    return
                self._reply(201, {"id": f"activity-{next(fake._ids)}"})

            def do_PUT(self) -> None:
                body = self._body()
                fake._capture(self, body)
                failure = fake._next_failure()
                if failure is not None:
                    self._reply(failure.status, failure.body, failure.headers)
                    return
                self._reply(200, {"id": self.path.rsplit("/", 1)[-1]})

        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-bot-connector", daemon=True)

    @property
    def url(self) -> str:
        """The service URL to put in activities (with the trailing slash Teams uses)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> FakeBotConnector:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the benchmark runs the fake as a process)."""
        try:
            self._server.serve_forever(poll_interval=0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeBotConnector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, *failures: Failure) -> None:
        """The next POST/PUT requests get these answers, in order."""
        with self._lock:
            self.failures.extend(failures)

    def _next_failure(self) -> Failure | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def _capture(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        with self._lock:
            self.count += 1
            if self.record:
                self.requests.append(Captured(handler.command, handler.path, dict(handler.headers.items()), body))
        if self.check_card is not None and body is not None:
            for card in adaptive_cards(body):
                try:
                    self.check_card(card)
                except Exception as error:  # an AssertionError from a test's check, or a malformed card
                    with self._lock:
                        self.violations.append(f"{handler.command} {handler.path}: {type(error).__name__}: {error}")

    def activities(self) -> list[Captured]:
        """Activities the bot posted or updated (not GETs, not conversation creation)."""
        with self._lock:
            return [r for r in self.requests if r.method in ("POST", "PUT") and "/activities" in r.path]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Captured]:
        """Wait until at least ``n`` activities arrived (for background posts)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.activities()
            if len(found) >= n:
                return found
            time.sleep(0.01)
        return self.activities()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


class StaticCredentials(AppCredentials):  # type: ignore[misc]
    """Outgoing credentials with a fixed token (no MSAL, no network)."""

    def get_access_token(self, force_refresh: bool = False) -> str:
        return "fake-outbound-token"


class StaticCredentialsFactory(PasswordServiceClientCredentialFactory):  # type: ignore[misc]
    """``PasswordServiceClientCredentialFactory`` whose credentials are ``StaticCredentials``."""

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Authentication:
        if await self.is_authentication_disabled():
            empty: Authentication = await super().create_credentials(app_id, oauth_scope, login_endpoint,
                                                                     validate_authority)
            return empty
        return StaticCredentials(app_id=app_id, oauth_scope=oauth_scope)


def auth_overrides(fake: FakeBotConnector) -> dict[str, str]:
    """Bot Framework settings that validate channel tokens against the fake's OpenID metadata."""
    return {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": fake.url + "v1/.well-known/openidconfiguration",
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": CHANNEL_ISSUER,
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": CHANNEL_ISSUER,
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": "https://login.microsoftonline.com/botframework.com",
    }


# ---- activities ---------------------------------------------------------------------------------

_activity_ids = itertools.count(1)


@dataclass(frozen=True)
class User:
    """A Teams user as activities name them."""

    id: str
    name: str
    aad: str

    def account(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}

    def mention(self) -> dict[str, Any]:
        return {"type": "mention", "text": f"<at>{self.name}</at>", "mentioned": {"id": self.id, "name": self.name}}

    @property
    def tag(self) -> str:
        return f"<at>{self.name}</at>"


BOT = User(BOT_ID, BOT_NAME, "aad-bot")


def base_activity(kind: str, service_url: str, sender: User, *, conversation: str = "19:channel@thread.tacv2",
                  conversation_type: str = "channel", locale: str = "en-US", activity_id: str | None = None,
                  tenant: str = TENANT) -> dict[str, Any]:
    """The fields every Teams activity has."""
    return {
        "type": kind,
        "id": activity_id or f"{int(time.time() * 1000)}{next(_activity_ids):06d}",
        "timestamp": "2026-11-27T03:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": sender.account(),
        "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": tenant,
                         **({"isGroup": True} if conversation_type != "personal" else {})},
        "recipient": BOT.account() | {"aadObjectId": None},
        "locale": locale,
        "channelData": {"tenant": {"id": tenant}},
    }


def message(service_url: str, sender: User, text: str, mentioned: Iterable[User] = (), *,
            mention_bot: bool = True, **kwargs: Any) -> dict[str, Any]:
    """A message activity; ``text`` already contains the ``<at>`` tags of ``mentioned``."""
    activity = base_activity("message", service_url, sender, **kwargs)
    people = ([BOT] if mention_bot else []) + list(mentioned)
    activity["text"] = (f"{BOT.tag} " if mention_bot else "") + text
    activity["textFormat"] = "plain"
    activity["entities"] = [p.mention() for p in people] + [
        {"type": "clientInfo", "locale": activity["locale"], "platform": "Web"}]
    return activity


def invoke(service_url: str, sender: User, name: str, value: Any, **kwargs: Any) -> dict[str, Any]:
    """An invoke activity (``adaptiveCard/action``, ``composeExtension/fetchTask``…)."""
    activity = base_activity("invoke", service_url, sender, **kwargs)
    activity["name"] = name
    activity["value"] = value
    return activity


def clap_invoke(service_url: str, sender: User, thanks_id: int | str, *, reply_to: str = "activity-1",
                verb: str = "clap", **kwargs: Any) -> dict[str, Any]:
    """The invoke Teams sends when someone presses 👏 (``Action.Execute``)."""
    activity = invoke(service_url, sender, "adaptiveCard/action", {
        "action": {"type": "Action.Execute", "id": "clap", "verb": verb,
                   "data": {"thanks_id": str(thanks_id), "locale": kwargs.get("locale", "en-US")[:2]}},
        "trigger": "manual"}, **kwargs)
    activity["replyToId"] = reply_to
    return activity


def installed(service_url: str, installer: User, **kwargs: Any) -> dict[str, Any]:
    """``conversationUpdate`` with the bot in ``membersAdded`` (the app was added to a team or chat)."""
    activity = base_activity("conversationUpdate", service_url, installer, **kwargs)
    activity["membersAdded"] = [{"id": BOT_ID}]
    activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity


def installation_update(service_url: str, installer: User, action: str = "add", **kwargs: Any) -> dict[str, Any]:
    """``installationUpdate`` (``add``, ``remove``, ``add-upgrade``, ``remove-upgrade``): Teams sends it
    next to the ``conversationUpdate`` of an install or removal."""
    activity = base_activity("installationUpdate", service_url, installer, **kwargs)
    activity["action"] = action
    activity["entities"] = [{"type": "clientInfo", "locale": activity["locale"], "country": "US"}]
    return activity


def uninstalled(service_url: str, remover: User, **kwargs: Any) -> dict[str, Any]:
    """``conversationUpdate`` with the bot in ``membersRemoved`` (the app was removed from a team or chat)."""
    activity = base_activity("conversationUpdate", service_url, remover, **kwargs)
    activity["membersRemoved"] = [{"id": BOT_ID}]
    activity["channelData"]["eventType"] = "teamMemberRemoved"
    return activity


def new_id() -> str:
    """A unique activity id."""
    return uuid.uuid4().hex


ALICE = User("29:alice", "Alice", "aad-alice")
BOB = User("29:bob", "Bob", "aad-bob")
CAROL = User("29:carol", "Carol", "aad-carol")
