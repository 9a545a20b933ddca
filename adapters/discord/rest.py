"""A small Discord REST client that honours Discord's rate limits (notes/platform-facts.md B.2).

- Per-route buckets: a route's bucket is learnt from ``X-RateLimit-Bucket`` and kept per major
  parameter (channel, guild, webhook); ``X-RateLimit-Remaining``/``-Reset-After`` make the next
  request wait for the reset instead of earning a 429.
- A 429 is waited out (``retry_after`` in the body, or ``Retry-After``) and retried; a global 429
  pauses every request. At most ``GLOBAL_RATE`` requests per second leave outside interaction
  webhooks, which Discord exempts from the global limit.
- 5xx answers and refused connections are retried with exponential backoff and jitter.
- A message create can carry a nonce that Discord de-duplicates (``create_message(…, nonce=…)``): the
  5xx retries above, and the outbox's retries after a crash, then never post a message twice.
- 401, 403 and 429 answers are counted over ten minutes: Discord bans an IP for a while after
  10,000 of them, so past ``invalid_budget`` the client refuses to send rather than risk it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger("kizuna.discord.rest")

GLOBAL_RATE = 50
NONCE_LENGTH = 25
INVALID_WINDOW = 600.0
USER_AGENT = "DiscordBot (https://github.com/kizuna-bot/kizuna, 0.1)"
_MAJOR = ("channel_id", "guild_id", "webhook_id", "interaction_id")
_RETRY_STATUSES = {500, 502, 503, 504}


class DiscordHTTPError(Exception):
    """Discord answered with an error (or could not be asked)."""

    def __init__(self, status: int, message: str, *, code: int | None = None, retry_after: float | None = None,
                 body: Any = None) -> None:
        super().__init__(f"Discord API {status}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.body = body


class InvalidRequestBudgetExceeded(DiscordHTTPError):
    """Too many 401/403/429 answers recently; sending more could get this IP banned."""


@dataclass
class _Bucket:
    remaining: int | None = None
    reset_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class RestStats:
    """What the client has seen: answers by status, retries and waits."""

    requests: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    rate_limited_waits: int = 0
    server_error_retries: int = 0

    @property
    def invalid(self) -> dict[int, int]:
        """The counts of 401, 403 and 429 answers (Discord's "invalid requests")."""
        return {status: self.statuses[status] for status in (401, 403, 429)}


class RestClient:
    """Calls Discord's REST API at ``api_base`` (``DISCORD_API_BASE``) with a bot token."""

    def __init__(self, api_base: str, token: str, *, session: aiohttp.ClientSession | None = None,
                 max_attempts: int = 5, max_wait: float = 60.0, backoff: float = 0.5,
                 invalid_budget: int = 2000, global_rate: int = GLOBAL_RATE,
                 timeout: float = 10.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.token = token
        self._session = session
        self._own_session = session is None
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self.invalid_budget = invalid_budget
        self.global_rate = global_rate
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.stats = RestStats()
        self._route_buckets: dict[str, str] = {}
        self._buckets: dict[tuple[str, tuple[str, ...]], _Bucket] = {}
        self._global_until = 0.0
        self._sent: collections.deque[float] = collections.deque()
        self._global_lock = asyncio.Lock()
        self._invalid: collections.deque[float] = collections.deque()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers={"User-Agent": USER_AGENT})
            self._own_session = True
        return self._session

    def invalid_recently(self, now: float | None = None) -> int:
        """401/403/429 answers in the last ten minutes."""
        moment = time.monotonic() if now is None else now
        while self._invalid and self._invalid[0] < moment - INVALID_WINDOW:
            self._invalid.popleft()
        return len(self._invalid)

    # ---- the endpoints Kizuna uses ------------------------------------------------------------

    async def create_message(self, channel_id: str, payload: Mapping[str, Any], *, nonce: str | None = None) -> Any:
        """``POST /channels/{channel_id}/messages``.

        With a ``nonce`` (at most 25 characters) the create is idempotent: it goes out with
        ``enforce_nonce: true``, and Discord answers a repeat by the same bot within a few minutes with
        the message the first one made, making none.
        """
        if nonce is not None:
            if not 0 < len(nonce) <= NONCE_LENGTH:
                raise ValueError(f"a Discord nonce has 1 to {NONCE_LENGTH} characters, not {len(nonce)}")
            payload = {**payload, "nonce": nonce, "enforce_nonce": True}
        return await self.request("POST", "/channels/{channel_id}/messages", {"channel_id": channel_id},
                                  payload=payload)

    async def edit_original(self, application_id: str, token: str, payload: Mapping[str, Any]) -> Any:
        """``PATCH /webhooks/{application_id}/{token}/messages/@original`` (completes a deferral)."""
        return await self.request("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
                                  {"webhook_id": application_id, "webhook_token": token}, payload=payload, auth=False)

    async def delete_original(self, application_id: str, token: str) -> Any:
        """``DELETE /webhooks/{application_id}/{token}/messages/@original``."""
        return await self.request("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
                                  {"webhook_id": application_id, "webhook_token": token}, auth=False)

    async def create_followup(self, application_id: str, token: str, payload: Mapping[str, Any]) -> Any:
        """``POST /webhooks/{application_id}/{token}`` (a follow-up message; flags 64 for ephemeral)."""
        return await self.request("POST", "/webhooks/{webhook_id}/{webhook_token}",
                                  {"webhook_id": application_id, "webhook_token": token}, payload=payload, auth=False)

    async def bulk_overwrite_commands(self, application_id: str, commands: list[dict[str, Any]],
                                      guild_id: str | None = None) -> Any:
        """``PUT /applications/{id}[/guilds/{guild_id}]/commands``: replace every command at once."""
        if guild_id:
            return await self.request("PUT", "/applications/{application_id}/guilds/{guild_id}/commands",
                                      {"application_id": application_id, "guild_id": guild_id}, payload=commands)
        return await self.request("PUT", "/applications/{application_id}/commands",
                                  {"application_id": application_id}, payload=commands)

    async def create_scheduled_event(self, guild_id: str, payload: Mapping[str, Any], *,
                                     reason: str | None = None) -> Any:
        """``POST /guilds/{guild_id}/scheduled-events`` (needs CREATE_EVENTS)."""
        return await self.request("POST", "/guilds/{guild_id}/scheduled-events", {"guild_id": guild_id},
                                  payload=payload, reason=reason)

    async def edit_scheduled_event(self, guild_id: str, event_id: str, payload: Mapping[str, Any], *,
                                   reason: str | None = None) -> Any:
        """``PATCH /guilds/{guild_id}/scheduled-events/{event_id}``."""
        return await self.request("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}",
                                  {"guild_id": guild_id, "event_id": event_id}, payload=payload, reason=reason)

    async def delete_scheduled_event(self, guild_id: str, event_id: str, *, reason: str | None = None) -> Any:
        """``DELETE /guilds/{guild_id}/scheduled-events/{event_id}``."""
        return await self.request("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}",
                                  {"guild_id": guild_id, "event_id": event_id}, reason=reason)

    # ---- the machinery ------------------------------------------------------------------------

    def _bucket(self, route_key: str, major: tuple[str, ...]) -> _Bucket:
        key = (self._route_buckets.get(route_key, route_key), major)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        return bucket

    async def _wait_global(self, counted: bool) -> None:
        while True:
            now = time.monotonic()
            if self._global_until > now:
                await asyncio.sleep(self._global_until - now)
                continue
            if not counted:
                return
            async with self._global_lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - 1.0:
                    self._sent.popleft()
                if len(self._sent) < self.global_rate:
                    self._sent.append(now)
                    return
                delay = self._sent[0] + 1.0 - now
            await asyncio.sleep(max(delay, 0.001))

    async def request(self, method: str, template: str, params: Mapping[str, str], *, payload: Any = None,
                      auth: bool = True, reason: str | None = None) -> Any:
        """Send one request, waiting out rate limits and retrying server errors; the parsed JSON body."""
        path = template.format(**{k: quote(str(v), safe="@") for k, v in params.items()})
        route_key = f"{method} {template}"
        major = tuple(str(params[k]) for k in _MAJOR if k in params)
        if "webhook_token" in params:
            major += (str(params["webhook_token"]),)
        # Interaction webhooks are exempt from the global limit; everything else counts.
        counted = auth
        headers = {"User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = f"Bot {self.token}"
        if reason:
            headers["X-Audit-Log-Reason"] = quote(reason, safe=" ")
        for attempt in range(1, self.max_attempts + 1):
            if self.invalid_recently() >= self.invalid_budget:
                raise InvalidRequestBudgetExceeded(
                    0, f"{self.invalid_recently()} invalid requests in 10 minutes; not sending {method} {template}")
            bucket = self._bucket(route_key, major)
            async with bucket.lock:
                now = time.monotonic()
                if bucket.remaining == 0 and bucket.reset_at > now:
                    await asyncio.sleep(bucket.reset_at - now)
                await self._wait_global(counted)
                self.stats.requests += 1
                try:
                    async with self._http().request(method, self.api_base + path, json=payload, headers=headers,
                                                    timeout=self.timeout) as response:
                        status = response.status
                        body = await _read_body(response)
                        self._learn(route_key, major, bucket, response.headers)
                except aiohttp.ClientConnectorError as error:
                    # The request never left: safe to retry even for a POST.
                    if attempt == self.max_attempts:
                        raise DiscordHTTPError(0, f"cannot connect: {error}") from error
                    await asyncio.sleep(self._backoff(attempt))
                    continue
            self.stats.statuses[status] += 1
            if status in (401, 403, 429):
                scope = response.headers.get("X-RateLimit-Scope", "")
                if not (status == 429 and scope == "shared"):
                    self._invalid.append(time.monotonic())
            if status < 300:
                return body
            message, code, retry_after = _error_details(body, response.headers)
            if status == 429:
                is_global = bool(isinstance(body, dict) and body.get("global")) or \
                    response.headers.get("X-RateLimit-Global", "").lower() == "true"
                wait = retry_after if retry_after is not None else 1.0
                if wait > self.max_wait or attempt == self.max_attempts:
                    raise DiscordHTTPError(429, message or "rate limited", code=code, retry_after=wait, body=body)
                self.stats.rate_limited_waits += 1
                log.warning("Discord rate limit on %s %s (%s): waiting %.2f s", method, template,
                            "global" if is_global else "route", wait)
                if is_global:
                    self._global_until = time.monotonic() + wait
                else:
                    bucket.remaining, bucket.reset_at = 0, time.monotonic() + wait
                continue
            if status in _RETRY_STATUSES and attempt < self.max_attempts:
                self.stats.server_error_retries += 1
                await asyncio.sleep(self._backoff(attempt))
                continue
            raise DiscordHTTPError(status, message or response.reason or "error", code=code,
                                   retry_after=retry_after, body=body)
        raise DiscordHTTPError(0, "retries exhausted")  # pragma: no cover - the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        ceiling = self.backoff * (2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _learn(self, route_key: str, major: tuple[str, ...], bucket: _Bucket, headers: Mapping[str, str]) -> None:
        name = headers.get("X-RateLimit-Bucket")
        target = bucket
        if name and self._route_buckets.get(route_key) != name:
            self._route_buckets[route_key] = name
            target = self._buckets.setdefault((name, major), bucket)
        remaining = headers.get("X-RateLimit-Remaining")
        reset_after = headers.get("X-RateLimit-Reset-After")
        try:
            if remaining is not None:
                target.remaining = int(remaining)
            if reset_after is not None:
                target.reset_at = time.monotonic() + float(reset_after)
        except ValueError:
            pass


async def _read_body(response: aiohttp.ClientResponse) -> Any:
    if response.status == 204:
        return None
    text = await response.text()
    if not text:
        return None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _error_details(body: Any, headers: Mapping[str, str]) -> tuple[str, int | None, float | None]:
    message, code, retry_after = "", None, None
    if isinstance(body, dict):
        message = str(body.get("message", ""))
        code = body.get("code") if isinstance(body.get("code"), int) else None
        if isinstance(body.get("retry_after"), int | float):
            retry_after = float(body["retry_after"])
    elif isinstance(body, str):
        message = body[:200]
    if retry_after is None and headers.get("Retry-After"):
        try:
            retry_after = float(headers["Retry-After"])
        except ValueError:
            retry_after = None
    return message, code, retry_after
