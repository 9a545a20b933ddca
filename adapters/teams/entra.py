"""Entra ID tokens from a Teams tab's single sign-on (TeamsJS ``authentication.getAuthToken``), checked with PyJWT.

The token is an Entra ID access token for the app's own API: audience the app's Application ID URI
(``KIZUNA_TEAMS_APP_ID_URI``, v1 tokens) or its app id (v2 tokens); issuer
``https://login.microsoftonline.com/{tid}/v2.0`` (v2) or ``https://sts.windows.net/{tid}/`` (v1), where
``tid`` is the token's own tenant; ``oid`` the person's Entra object id; ``scp`` (the delegated scopes) must
include ``access_as_user``, the scope docs/teams.md has the admin expose — an app-only token (no ``scp``,
``roles`` instead) acts for no person and signs nobody in. As for Bot Connector tokens
(``adapters.teams.tokens``), everything that needs no key is decided first — shape, RS256, issuer,
audience, the required claims, expiry and not-before with ``CLOCK_SKEW`` of leeway — so a bad token is
refused (401) even while the keys cannot be fetched. The signature is then checked against the keys the
tenant publishes (its OpenID configuration's ``jwks_uri``), fetched by the same ``SigningKeys``: shared,
refreshed ahead of expiry, looked up again when a token names an unknown key id (at most every
``KeyPolicy.unknown_key_every``), and ``SigningKeysUnavailable`` (503) when none can be had.

Which tenants may sign in is the caller's rule (``adapters.teams.tab``): keys are only fetched for a
tenant it accepted, so made-up tenant ids cannot make Kizuna fetch anything.
"""

from __future__ import annotations

import re
from typing import Any

import jwt

from adapters.teams.tokens import ALGORITHMS, KeyPolicy, SigningKeys, TokenRefused, reason_of

METADATA_URL = "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
# Where the tab's consent window sends the person when Teams cannot get a token without their consent.
AUTHORIZE_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"
ISSUERS = ("https://login.microsoftonline.com/{tenant}/v2.0", "https://sts.windows.net/{tenant}/")
# Entra's tokens live an hour; a minute covers clocks that drift apart, not a replayed old token.
CLOCK_SKEW = 60
REQUIRED_CLAIMS = ("iss", "aud", "exp", "tid", "oid")
# The scope the app exposes for Teams' single sign-on (docs/teams.md, "Expose an API").
SCOPE = "access_as_user"
MAX_TOKEN_LENGTH = 16 * 1024
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class EntraTokens:
    """Validates a tab's Entra ID token for this app; ``check_without_keys`` then ``verify``."""

    def __init__(self, *, app_id: str, app_id_uri: str, metadata_url: str = METADATA_URL,
                 policy: KeyPolicy | None = None) -> None:
        self.audiences = tuple(dict.fromkeys(a for a in (app_id_uri, app_id) if a))
        self.metadata_url = metadata_url
        self.policy = policy
        # One key set per tenant the caller accepted (its workspaces: a bounded few).
        self._keys: dict[str, SigningKeys] = {}

    def check_without_keys(self, token: str) -> tuple[str, dict[str, Any]]:
        """Everything that needs no key: the key id and the (unverified) claims, or ``TokenRefused``."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise TokenRefused("the token is not a JWT")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("the token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenRefused(f"the token is not signed with {' or '.join(ALGORITHMS)}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no signing key")
        claims = self._decode(token, None)
        return kid, claims

    async def verify(self, token: str, kid: str, tenant: str) -> dict[str, Any]:
        """The claims once the signature checks against ``tenant``'s published keys.

        ``TokenRefused`` for an unknown key or a bad signature; ``SigningKeysUnavailable`` when the keys
        cannot be fetched.
        """
        key = await self._tenant_keys(tenant).get(kid)
        if key is None:
            raise TokenRefused("the token names a signing key the tenant does not publish")
        claims = self._decode(token, key.key)
        if claims["tid"] != tenant:
            raise TokenRefused("the token is from another tenant")
        return claims

    async def close(self) -> None:
        """Stop every tenant's key refresh."""
        for keys in self._keys.values():
            await keys.close()
        self._keys.clear()

    def _tenant_keys(self, tenant: str) -> SigningKeys:
        keys = self._keys.get(tenant)
        if keys is None:
            keys = SigningKeys(self.metadata_url.format(tenant=tenant), self.policy, label="Entra ID")
            self._keys[tenant] = keys
        return keys

    def _decode(self, token: str, key: jwt.PyJWK | None) -> dict[str, Any]:
        options: dict[str, Any] = {
            "verify_signature": key is not None, "verify_exp": True, "verify_nbf": True, "verify_iat": True,
            "verify_aud": True, "verify_iss": False, "strict_aud": False, "require": list(REQUIRED_CLAIMS),
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=list(ALGORITHMS), options=options,  # type: ignore[arg-type]
                audience=list(self.audiences), leeway=CLOCK_SKEW)
        except jwt.PyJWTError as error:
            raise TokenRefused(reason_of(error)) from None
        tenant, object_id = claims["tid"], claims["oid"]
        if not isinstance(tenant, str) or not _GUID.match(tenant):
            raise TokenRefused("the token's tenant id is not a GUID")
        if not isinstance(object_id, str) or not _GUID.match(object_id):
            raise TokenRefused("the token's object id is not a GUID")
        if claims["iss"] not in {issuer.format(tenant=tenant) for issuer in ISSUERS}:
            raise TokenRefused("the token has another issuer")
        scopes = claims.get("scp")
        if not isinstance(scopes, str) or SCOPE not in scopes.split():
            raise TokenRefused(f"the token is not a person's, for the {SCOPE} scope")
        return claims
