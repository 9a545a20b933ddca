"""``POST /dashboard/teams/session``: a Teams tab's single sign-on turned into a dashboard session.

The tab page (``kizuna.dashboard``, ``/dashboard/teams``) gets the person's Entra ID token from TeamsJS and
posts it here as ``{"token": …, "locale": "ja"|"en"}``. The token is checked (``adapters.teams.entra``);
its tenant must be the bot's (``MICROSOFT_APP_TENANT_ID``, a single-tenant bot) or, for a multi-tenant
bot, one where Kizuna has a workspace; its ``oid`` is mapped to the member the same way the people
picker maps Entra ids: the ``aad:{oid}`` address stored from that person's own activities (Teams
activities carry ``from.aadObjectId``). A person Kizuna has never seen is asked of Teams (``lookup``:
the Bot Connector's member of a channel Kizuna is in, by Entra id) and becomes a member, as the people
picker does; someone Teams does not know there is told to send Kizuna a message first. The answer is
``{"token", "expires", "locale"}`` — the session token the page sends as a bearer token — or a
localised ``{"error", "reason"}``: 401 a token that does not check, 403 an unknown tenant or member,
503 (with ``Retry-After``) Entra's keys out of reach, 404 single sign-on not set up (emulator mode).

``GET /dashboard/teams/consent/parameters``: what the consent window (``/dashboard/teams/consent``, opened by
TeamsJS ``authentication.authenticate`` when ``getAuthToken`` says the person has not consented yet) sends to
Entra's authorize endpoint: the app id, the ``access_as_user`` scope of its Application ID URI and the
redirect URI on the public URL. The code Entra sends back is never redeemed: the window only lets the person
consent, after which ``getAuthToken`` succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.teams.entra import AUTHORIZE_URL, SCOPE, EntraTokens
from adapters.teams.incoming import PLATFORM
from adapters.teams.settings import TeamsSettings
from adapters.teams.tokens import SigningKeysUnavailable, TokenRefused
from core.dashboard import access
from core.i18n import resolve_locale, translate
from core.models import Member, Workspace
from core.services.addresses import get_address
from core.text import NestedTooDeeply, parse_json

log = logging.getLogger("kizuna.teams.tab")

ROUTE = "/dashboard/teams/session"
CONSENT_PARAMETERS = "/dashboard/teams/consent/parameters"
CONSENT_END = "/dashboard/teams/consent/end"
MAX_BODY = 32 * 1024
RETRY_AFTER = 30
# Who an Entra object id is, asked of Teams, stored as a member (None: Teams does not know them here).
Lookup = Callable[[Workspace, str], Awaitable[Member | None]]


class TeamsTab:
    """The tab's sign-in route; ``tokens`` is None where single sign-on cannot work (no app id)."""

    def __init__(self, teams: TeamsSettings, tokens: EntraTokens | None, lookup: Lookup | None = None, *,
                 public_url: str = "") -> None:
        self.teams = teams
        self.tokens = tokens
        self.lookup = lookup
        self.public_url = public_url.rstrip("/")

    def mount(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.session)
        app.router.add_get(CONSENT_PARAMETERS, self.consent_parameters)

    async def consent_parameters(self, request: web.Request) -> web.Response:
        """The authorize request's fixed parameters for the consent window (the page adds tenant, state, PKCE)."""
        lang = resolve_locale(request.headers.get("Accept-Language", "").split(",")[0].strip() or None, "ja")
        if self.tokens is None:
            return _refusal(lang, 404, "not_set_up")
        return web.json_response({
            "authorize": AUTHORIZE_URL, "client_id": self.teams.app_id,
            "scope": f"{self.teams.app_id_uri(self.public_url)}/{SCOPE}",
            "redirect_uri": self.public_url + CONSENT_END}, headers=_NO_STORE)

    async def close(self) -> None:
        if self.tokens is not None:
            await self.tokens.close()

    async def session(self, request: web.Request) -> web.Response:
        """Check the posted token, find its member, open a session."""
        lang = resolve_locale(request.headers.get("Accept-Language", "").split(",")[0].strip() or None, "ja")
        if self.tokens is None:
            return _refusal(lang, 404, "not_set_up")
        body = await _body(request)
        if body is None:
            return _refusal(lang, 400, "refused")
        asked = body.get("locale")
        lang = asked if asked in ("ja", "en") else lang
        token = body.get("token")
        token = token if isinstance(token, str) else ""
        try:
            kid, unverified = self.tokens.check_without_keys(token)
            tenant = unverified["tid"]
            workspace = await self._workspace(tenant)
            if workspace is None:
                log.info("tab sign-in refused: tenant %s has no Kizuna workspace", tenant)
                return _refusal(lang, 403, "not_member")
            claims = await self.tokens.verify(token, kid, tenant)
        except TokenRefused as error:
            log.info("tab sign-in refused: %s", error)
            return _refusal(lang, 401, "refused")
        except SigningKeysUnavailable:
            return _refusal(lang, 503, "unavailable", retry_after=RETRY_AFTER)
        member = await _member(workspace, claims["oid"])
        if member is None and self.lookup is not None:
            member = await self.lookup(workspace, claims["oid"])
        if member is None:
            log.info("tab sign-in refused: no member of workspace %s has Entra object id %s", workspace.id,
                     claims["oid"])
            return _refusal(lang, 403, "not_member")
        opened = await access.open_session(workspace, member, lang)
        return web.json_response({"token": opened.token, "expires": opened.expires_at.isoformat(),
                                  "locale": opened.locale}, headers=_NO_STORE)

    async def _workspace(self, tenant: str) -> Workspace | None:
        """The workspace of a tenant that may sign in: the bot's own tenant (single-tenant), else any with one."""
        if self.teams.app_type.lower() != "multitenant" and self.teams.app_tenant_id \
                and tenant.lower() != self.teams.app_tenant_id.lower():
            return None
        return await Workspace.get_or_none(platform=PLATFORM, external_id=tenant)


async def _member(workspace: Workspace, object_id: str) -> Member | None:
    """The member whose Teams activities carried this Entra object id (address ``aad:{oid}``)."""
    for key in (f"aad:{object_id}", f"aad:{object_id.lower()}"):
        stored = await get_address(workspace, key)
        platform_user_id = (stored or {}).get("id")
        if isinstance(platform_user_id, str) and platform_user_id:
            return await Member.get_or_none(workspace_id=workspace.id, platform_user_id=platform_user_id,
                                            is_bot=False)
    return None


async def _body(request: web.Request) -> dict[str, Any] | None:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return None
    try:
        body = parse_json(raw)
    except (ValueError, NestedTooDeeply):
        return None
    return body if isinstance(body, dict) else None


_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _refusal(lang: str, status: int, reason: str, *, retry_after: int | None = None) -> web.Response:
    headers = dict(_NO_STORE)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return web.json_response({"error": translate(lang, f"dashboard.teams.{reason}"), "reason": reason},
                             status=status, headers=headers)
