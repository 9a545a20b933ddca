"""Bot Connector tokens on ``POST /api/messages``, checked with PyJWT against keys fetched off the request path.

A token is judged in two steps. Everything that can be decided without the signing keys — the
``Bearer`` scheme, the shape, the algorithm (RS256 only), the issuer, the audience (this bot's app
id), the ``serviceurl`` claim (the activity's service URL), the required claims, and expiry and
not-before with five minutes of clock skew — is checked first, so such a token is refused (401)
even while the keys cannot be fetched. Only a token that passes needs the keys: its signature is
checked against the key its ``kid`` names, and, if that key lists endorsements, the activity's
channel must be one of them (platform notes A.2, the rules of botframework-connector 4.17).

``SigningKeys`` fetches the OpenID metadata and its JWKS with aiohttp (the SDK uses a blocking
``requests.get`` on the event loop), keeps them, and refreshes them in the background before they
expire. A failed refresh keeps serving the cached keys for as long as they are valid; only when no
valid keys are left does a token that needs them get a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

log = logging.getLogger("kizuna.teams.auth")

CHANNEL_ISSUER = "https://api.botframework.com"
OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ALGORITHMS = ("RS256",)
CLOCK_SKEW = 5 * 60
REQUIRED_CLAIMS = ("iss", "aud", "exp", "serviceurl")


class TokenRefused(Exception):
    """The token is not a valid Bot Connector token for this bot (401). The message never quotes the token."""


class SigningKeysUnavailable(Exception):
    """The token needs the signing keys, and none that are still valid could be fetched (503)."""


@dataclass(frozen=True)
class KeyPolicy:
    """How the signing keys are kept (seconds)."""

    # After a successful fetch the keys are fetched again in the background after this long…
    refresh_every: float = 3600.0
    # …and used for this long even if every refresh fails (the SDK keeps them for a day).
    lifetime: float = 86_400.0
    # After a failed fetch: when the background refresh tries again, and how long a request that
    # finds no valid keys is answered 503 at once instead of trying itself.
    retry_every: float = 30.0
    # A token naming a key id that is not cached makes at most one fetch per this interval, so
    # made-up key ids cannot turn requests into fetches.
    unknown_key_every: float = 300.0
    # One fetch (metadata and keys) gives up after this long.
    timeout: float = 10.0


@dataclass(frozen=True)
class SigningKey:
    """One key of the JWKS and the channels it is endorsed for (empty: any)."""

    key: jwt.PyJWK
    endorsements: frozenset[str]


def parse_keys(jwks: Any) -> dict[str, SigningKey]:
    """The RSA signing keys of a JWKS document by key id; ``ValueError`` if it has none."""
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS has no keys list")
    keys: dict[str, SigningKey] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("kid"), str) or entry.get("kty") != "RSA":
            continue
        try:
            key = jwt.PyJWK(dict(entry), algorithm=ALGORITHMS[0])
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        endorsements = entry.get("endorsements") or []
        names = frozenset(e for e in endorsements if isinstance(e, str)) if isinstance(endorsements, list) \
            else frozenset()
        keys[entry["kid"]] = SigningKey(key, names)
    if not keys:
        raise ValueError("the JWKS has no usable RSA keys")
    return keys


class SigningKeys:
    """The Bot Framework signing keys from ``metadata_url``, fetched once, shared and refreshed ahead of expiry.

    Fetches never run on a request's behalf twice at once: concurrent callers wait for the one in
    flight and share its result. Once keys are held, a background task refreshes them every
    ``policy.refresh_every`` seconds (``retry_every`` after a failure); ``close`` stops it.
    """

    def __init__(self, metadata_url: str, policy: KeyPolicy | None = None, *, label: str = "Bot Framework") -> None:
        self.metadata_url = metadata_url
        self.label = label  # whose keys, in the log
        self.policy = policy or KeyPolicy()
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._failed_at: float | None = None  # … of the last failed one, if it came after it
        self._failures = 0  # failed fetches in a row (the first and the end of the run are logged)
        self._attempts = 0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._refresher: asyncio.Task[None] | None = None

    async def get(self, kid: str) -> SigningKey | None:
        """The key ``kid`` (None if the keys have no such key); ``SigningKeysUnavailable`` if no keys are valid."""
        if not self._valid():
            if self._failed_at is not None and time.monotonic() - self._failed_at < self.policy.retry_every:
                raise SigningKeysUnavailable(self.metadata_url)
            await self._fetch_shared()
            if not self._valid():
                raise SigningKeysUnavailable(self.metadata_url)
        key = self._keys.get(kid)
        if key is None and self._may_look_for_new_keys():
            await self._fetch_shared()
            key = self._keys.get(kid)
        self._keep_refreshed()
        return key

    async def close(self) -> None:
        """Stop the background refresh and close the HTTP session."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- internals ------------------------------------------------------------------------------

    def _valid(self) -> bool:
        return bool(self._keys) and self._fetched_at is not None \
            and time.monotonic() - self._fetched_at < self.policy.lifetime

    def _may_look_for_new_keys(self) -> bool:
        last = max(self._fetched_at or 0.0, self._failed_at or 0.0)
        return time.monotonic() - last >= self.policy.unknown_key_every

    def _keep_refreshed(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever(),
                                                                     name="teams-signing-keys")

    async def _refresh_forever(self) -> None:
        while True:
            if self._failed_at is not None:
                wait = self.policy.retry_every - (time.monotonic() - self._failed_at)
            else:
                wait = self.policy.refresh_every - (time.monotonic() - (self._fetched_at or 0.0))
            await asyncio.sleep(max(wait, 0.0))
            await self._fetch_shared()

    async def _fetch_shared(self) -> None:
        attempt = self._attempts
        async with self._lock:
            if self._attempts != attempt:
                return  # a fetch ended while this caller waited: its result is the answer
            try:
                await self._fetch()
            finally:
                self._attempts += 1

    async def _fetch(self) -> None:
        try:
            keys = await asyncio.wait_for(self._download(), self.policy.timeout)
        except (aiohttp.ClientError, TimeoutError, ValueError, RecursionError) as error:
            self._failed_at = time.monotonic()
            self._failures += 1
            cause = f"{type(error).__name__}: {error}".rstrip(": ")
            if self._failures == 1:
                held = "the cached keys are used until they expire" if self._valid() else "no valid keys are cached"
                log.warning("cannot fetch the %s signing keys from %s (%s); %s; retrying every %.0f s",
                            self.label, self.metadata_url, cause, held, self.policy.retry_every)
            else:
                log.debug("signing keys still unavailable (%d failures): %s", self._failures, cause)
            return
        if self._failures:
            log.warning("the %s signing keys can be fetched again (after %d failed attempts)",
                        self.label, self._failures)
        self._keys, self._fetched_at, self._failed_at, self._failures = keys, time.monotonic(), None, 0
        log.debug("fetched %d %s signing keys", len(keys), self.label)

    async def _download(self) -> dict[str, SigningKey]:
        session = self._http()
        async with session.get(self.metadata_url) as response:
            response.raise_for_status()
            metadata = await response.json(content_type=None)
        jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, Mapping) else None
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ValueError("the OpenID metadata has no jwks_uri")
        async with session.get(jwks_uri) as response:
            response.raise_for_status()
            return parse_keys(await response.json(content_type=None))

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout))
        return self._session


class ChannelTokens:
    """Validates the ``Authorization`` header of an activity from the Bot Connector; returns the token's claims."""

    def __init__(self, app_id: str, keys: SigningKeys, *, issuer: str = CHANNEL_ISSUER) -> None:
        self.app_id = app_id
        self.keys = keys
        self.issuer = issuer

    async def validate(self, header: str, *, service_url: str, channel_id: str | None) -> dict[str, Any]:
        """The claims of a valid token; ``TokenRefused`` or ``SigningKeysUnavailable`` otherwise."""
        token, kid = self.check_without_keys(header, service_url=service_url)
        key = await self.keys.get(kid)
        if key is None:
            raise TokenRefused("the token names a signing key that is not published")
        if channel_id and key.endorsements and channel_id not in key.endorsements:
            raise TokenRefused(f"the signing key is not endorsed for channel {channel_id[:40]!r}")
        return self._decode(token, key.key)

    def check_without_keys(self, header: str, *, service_url: str) -> tuple[str, str]:
        """Everything that needs no key: the token and its key id, or ``TokenRefused``."""
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise TokenRefused("the Authorization header is not a Bearer token")
        if not token.isascii():  # a JWT is base64url; PyJWT would fail to encode a lone surrogate
            raise TokenRefused("the token is not a JWT")
        try:
            header_fields = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("the token is not a JWT") from None
        if header_fields.get("alg") not in ALGORITHMS:
            raise TokenRefused(f"the token is not signed with {' or '.join(ALGORITHMS)}")
        kid = header_fields.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no signing key")
        claims = self._decode(token, None)
        if claims["serviceurl"] != service_url:
            raise TokenRefused("the token's serviceurl is not the activity's serviceUrl")
        return token, kid

    def _decode(self, token: str, key: jwt.PyJWK | None) -> dict[str, Any]:
        verify = key is not None
        options: dict[str, Any] = {
            "verify_signature": verify, "verify_exp": True, "verify_nbf": True, "verify_iat": True,
            "verify_aud": True, "verify_iss": True, "strict_aud": True, "require": list(REQUIRED_CLAIMS),
        }
        try:
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=list(ALGORITHMS), options=options,  # type: ignore[arg-type]
                                                audience=self.app_id, issuer=self.issuer, leeway=CLOCK_SKEW)
        except jwt.PyJWTError as error:
            raise TokenRefused(reason_of(error)) from None
        return claims


def reason_of(error: jwt.PyJWTError) -> str:
    """Why PyJWT refused a token, in our words (its messages may quote parts of the token)."""
    reasons: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
        (jwt.ExpiredSignatureError, "the token has expired"),
        (jwt.ImmatureSignatureError, "the token is not valid yet"),
        (jwt.InvalidAudienceError, "the token is for another audience"),
        (jwt.InvalidIssuerError, "the token has another issuer"),
        (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
        (jwt.InvalidSignatureError, "the token's signature does not verify"),
        (jwt.InvalidAlgorithmError, "the token's algorithm is not allowed"),
        (jwt.DecodeError, "the token cannot be decoded"),
    )
    for kind, reason in reasons:
        if isinstance(error, kind):
            if isinstance(error, jwt.MissingRequiredClaimError):
                return f"{reason} ({error.claim})"
            return reason
    return f"the token is invalid ({type(error).__name__})"
