"""The dashboard as a Teams tab: Entra ID tokens (RS256, signed by a test key) checked against a fake Entra
OpenID configuration and key set on loopback, the session they open, the frame headers, the package's tabs."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import StaticCredentialsFactory
from adapters.teams.manifest import PackageOptions, build_localization, build_manifest
from adapters.teams.settings import TeamsSettings
from adapters.teams.tokens import KeyPolicy
from core.config import Settings
from core.dashboard.models import DashboardSession
from core.models import Member, Workspace
from core.services.addresses import AddressWrite, store_addresses
from core.services.members import ensure_member
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace
from kizuna.dashboard import CSP, STATIC, TEAMS_CSP
from tests.fuzzing import FUZZ, assert_clean

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER_TENANT = "bbbbbbbb-0000-4000-8000-000000000002"
ALICE_OID = "0a11ce00-0000-4000-8000-00000000a11c"
STRANGER_OID = "5a5a5a5a-0000-4000-8000-000000000005"
PUBLIC = "https://kizuna.example.com"
APP_ID_URI = f"api://kizuna.example.com/{APP_ID}"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    data.update(kid=kid, use="sig")
    return data


class FakeEntra:
    """Entra ID's per-tenant OpenID configuration and key set, on loopback; ``requests`` records the paths."""

    def __init__(self) -> None:
        self.keys = [jwk(KEY, "entra-kid")]
        self.requests: list[str] = []
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.metadata)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self.jwks)
        self.server = TestServer(app)

    async def metadata(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        tenant = request.match_info["tenant"]
        return web.json_response({"issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
                                  "jwks_uri": str(self.server.make_url(f"/{tenant}/discovery/v2.0/keys"))})

    async def jwks(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response({"keys": self.keys})

    @property
    def metadata_url(self) -> str:
        return str(self.server.make_url("/")).rstrip("/") + "/{tenant}/v2.0/.well-known/openid-configuration"


def entra_token(*, key: rsa.RSAPrivateKey = KEY, kid: str = "entra-kid", aud: str = APP_ID_URI,
                tid: str = TENANT, iss: str | None = None, oid: str = ALICE_OID, expires_in: int = 3600,
                version: str = "2.0", scp: str | None = "access_as_user") -> str:
    now = int(time.time())
    issuer = iss or (f"https://login.microsoftonline.com/{tid}/v2.0" if version == "2.0"
                     else f"https://sts.windows.net/{tid}/")
    claims = {"iss": issuer, "aud": aud, "tid": tid, "oid": oid, "iat": now - 10, "nbf": now - 10,
              "exp": now + expires_in, "name": "Alice", "ver": version}
    if scp is not None:
        claims["scp"] = scp
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def entra():
    fake = FakeEntra()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
def tab_settings(settings: Settings) -> Settings:
    return replace(settings, public_url=PUBLIC, environ={
        "MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "secret", "MICROSOFT_APP_TENANT_ID": TENANT,
        "MICROSOFT_APP_TYPE": "SingleTenant"})


async def people() -> dict[str, Any]:
    """A Teams workspace (our tenant) where Alice (known Entra id), Bob and Erin thanked each other 3 times,
    and another workspace with 5 thanks of its own (three people each: above the privacy threshold)."""
    workspace = await ensure_workspace("teams", TENANT, name="Contoso", default_locale="en")
    alice = await ensure_member(workspace, "29:alice", display_name="Alice")
    bob = await ensure_member(workspace, "29:bob", display_name="Bob")
    erin = await ensure_member(workspace, "29:erin", display_name="Erin")
    # What Alice's own activities stored (adapters.teams.people.sender_addresses): her Entra id → Teams id.
    await store_addresses(workspace, [AddressWrite(f"aad:{ALICE_OID}", {"id": "29:alice", "name": "Alice"})])
    for sender, recipient in ((alice, bob), (bob, erin), (erin, alice)):
        await give_thanks(workspace, sender, [recipient], "thanks for the review")
    other = await ensure_workspace("teams", OTHER_TENANT, name="Fabrikam", default_locale="en")
    carol = await ensure_member(other, "29:carol", display_name="Carol")
    dave = await ensure_member(other, "29:dave", display_name="Dave")
    frank = await ensure_member(other, "29:frank", display_name="Frank")
    await store_addresses(other, [AddressWrite(f"aad:{ALICE_OID}", {"id": "29:carol", "name": "Carol"})])
    for sender, recipient in ((carol, dave), (dave, frank), (frank, carol), (carol, dave), (dave, frank)):
        await give_thanks(other, sender, [recipient], "thanks from elsewhere")
    return {"workspace": workspace, "other": other}


@pytest.fixture
async def tab(db, make_client, tab_settings, entra):
    """The app with a single-tenant Teams adapter whose tab checks tokens against the fake Entra."""
    await people()
    adapter = TeamsAdapter(tab_settings, entra_metadata_url=entra.metadata_url,
                           key_policy=KeyPolicy(retry_every=0.0, unknown_key_every=0.0))
    client = await make_client(adapter)
    yield client
    await client.close()


async def sign_in(client, token: str, locale: str = "en"):
    return await client.post("/dashboard/teams/session", json={"token": token, "locale": locale})


async def test_a_valid_token_opens_a_session_that_reads_its_workspace_only(tab, entra):
    response = await sign_in(tab, entra_token())
    assert response.status == 200, await response.text()
    body = await response.json()
    assert response.headers["Cache-Control"] == "no-store"
    assert body["locale"] == "en"
    session = await DashboardSession.get()
    workspace = await Workspace.get(external_id=TENANT)
    assert session.workspace_id == workspace.id
    bearer = {"Authorization": f"Bearer {body['token']}"}
    overview = await (await tab.get("/dashboard/api/overview?period=month", headers=bearer)).json()
    assert overview["thanks"]["value"] == 3  # Contoso's three, not Fabrikam's five
    config = await tab.get("/dashboard/api/config?lang=ja", headers=bearer)
    assert config.status == 200
    data = await config.json()
    assert (data["member"], data["workspace"], data["lang"]) == ("Alice", "Contoso", "ja")
    assert data["strings"]["title"]  # the page's strings, in Japanese
    # The keys were fetched from our tenant's OpenID configuration, once.
    assert entra.requests == [f"/{TENANT}/v2.0/.well-known/openid-configuration", f"/{TENANT}/discovery/v2.0/keys"]


async def test_a_v1_token_for_the_app_id_uri_and_a_v2_token_for_the_app_id_are_both_accepted(tab):
    assert (await sign_in(tab, entra_token(version="1.0"))).status == 200
    assert (await sign_in(tab, entra_token(aud=APP_ID))).status == 200
    assert await DashboardSession.all().count() == 2


async def test_the_api_refuses_a_made_up_bearer_token(tab):
    response = await tab.get("/dashboard/api/overview", headers={"Authorization": "Bearer " + "x" * 43})
    assert response.status == 401
    assert (await tab.get("/dashboard/api/config")).status == 401


@pytest.mark.parametrize(("case", "make", "status"), [
    ("wrong audience", lambda: entra_token(aud="api://evil.example/99999999-2222-3333-4444-555555555555"), 401),
    ("another tenant's issuer", lambda: entra_token(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"),
     401),
    ("a foreign issuer", lambda: entra_token(iss="https://evil.example/v2.0"), 401),
    ("expired", lambda: entra_token(expires_in=-600), 401),
    ("signed by another key", lambda: entra_token(key=OTHER_KEY), 401),
    ("unknown key id", lambda: entra_token(kid="not-published"), 401),
    ("not a JWT", lambda: "garbage", 401),
    ("an app-only token (no delegated scope)", lambda: entra_token(scp=None), 401),
    ("another scope", lambda: entra_token(scp="User.Read"), 401),
    ("another tenant", lambda: entra_token(tid=OTHER_TENANT), 403),
    ("unknown member", lambda: entra_token(oid=STRANGER_OID), 403),
])
async def test_a_bad_token_opens_no_session(tab, case, make, status):
    response = await sign_in(tab, make(), locale="ja")
    assert response.status == status, case
    body = await response.json()
    assert body["reason"] in ("refused", "not_member")
    assert "Kizuna" in body["error"] or "Teams" in body["error"]
    assert body["error"].isascii() is False  # Japanese, as the page asked
    assert await DashboardSession.all().count() == 0


async def test_an_unknown_member_is_told_how_to_become_known_in_their_language(tab):
    response = await sign_in(tab, entra_token(oid=STRANGER_OID), locale="en")
    assert response.status == 403
    assert "Send Kizuna any message" in (await response.json())["error"]


async def test_an_unknown_key_id_fetches_the_keys_again(tab, entra):
    assert (await sign_in(tab, entra_token())).status == 200
    entra.keys.append(jwk(OTHER_KEY, "rotated-kid"))  # Entra rotates in a new key
    assert (await sign_in(tab, entra_token(key=OTHER_KEY, kid="rotated-kid"))).status == 200
    assert entra.requests.count(f"/{TENANT}/discovery/v2.0/keys") == 2


@pytest.mark.parametrize("body", [b"", b"[]", b"{\"token\": 5}", b"not json", b"{" * 5000])
async def test_a_malformed_body_is_a_clear_refusal(tab, body):
    response = await tab.post("/dashboard/teams/session", data=body, headers={"Content-Type": "application/json"})
    assert response.status in (400, 401)
    assert "error" in await response.json()
    assert await DashboardSession.all().count() == 0


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)


@FUZZ
@given(body=st.one_of(st.dictionaries(st.sampled_from(["token", "locale", "x"]), _JSON, max_size=3), _JSON,
                      st.builds(lambda t, lang: {"token": t, "locale": lang}, st.text(max_size=300),
                                st.sampled_from(["ja", "en", "fr", ""]))))
async def test_no_body_gets_a_5xx_a_trace_or_a_session(tab, body):
    response = await tab.post("/dashboard/teams/session", json=body)
    assert response.status in (400, 401, 403), await response.text()
    answer = await response.json()
    assert answer["reason"] in ("refused", "not_member")
    assert_clean(answer["error"], json.dumps(body, ensure_ascii=False), "the tab's sign-in")
    assert await DashboardSession.all().count() == 0


async def test_entra_keys_out_of_reach_is_a_503_with_retry_after(db, make_client, tab_settings, entra):
    await people()
    metadata_url = entra.metadata_url
    await entra.server.close()  # nothing listens there any more
    adapter = TeamsAdapter(tab_settings, entra_metadata_url=metadata_url,
                           key_policy=KeyPolicy(retry_every=0.0, timeout=2.0))
    client = await make_client(adapter)
    try:
        response = await sign_in(client, entra_token())
        assert response.status == 503
        assert int(response.headers["Retry-After"]) > 0
        assert "error" in await response.json()
        # A token that fails without the keys is still a plain 401.
        assert (await sign_in(client, entra_token(expires_in=-600))).status == 401
    finally:
        await client.close()
    assert await DashboardSession.all().count() == 0


async def test_a_multi_tenant_bot_signs_in_people_of_any_tenant_with_a_workspace(db, make_client, tab_settings,
                                                                                  entra):
    await people()
    settings = replace(tab_settings, environ={**tab_settings.environ, "MICROSOFT_APP_TYPE": "MultiTenant"})
    adapter = TeamsAdapter(settings, entra_metadata_url=entra.metadata_url, key_policy=KeyPolicy())
    client = await make_client(adapter)
    try:
        response = await sign_in(client, entra_token(tid=OTHER_TENANT))
        assert response.status == 200, await response.text()
        bearer = {"Authorization": f"Bearer {(await response.json())['token']}"}
        overview = await (await client.get("/dashboard/api/overview?period=month", headers=bearer)).json()
        assert overview["thanks"]["value"] == 5  # Fabrikam's, as Carol (the same Entra id maps per workspace)
        unknown = entra_token(tid="cccccccc-0000-4000-8000-000000000003")
        assert (await sign_in(client, unknown)).status == 403
        assert f"/{OTHER_TENANT}/discovery/v2.0/keys" in entra.requests
        assert not any(r.startswith("/cccccccc") for r in entra.requests)  # no fetch for a tenant without Kizuna
    finally:
        await client.close()


async def test_emulator_mode_has_no_single_sign_on(db, make_client, settings):
    client = await make_client(TeamsAdapter(settings))
    try:
        response = await sign_in(client, entra_token())
        assert response.status == 404
        assert (await response.json())["reason"] == "not_set_up"
    finally:
        await client.close()


def frame_ancestors(header: str) -> list[str]:
    for directive in header.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "frame-ancestors":
            return value.split()
    raise AssertionError(f"no frame-ancestors in {header!r}")


async def test_only_the_tab_pages_may_be_framed_and_only_by_teams(tab):
    for path in ("/dashboard/teams", "/dashboard/teams/configure"):
        response = await tab.get(path, headers={"Accept-Language": "ja"})
        assert response.status == 200
        assert response.headers["Content-Security-Policy"] == TEAMS_CSP
        assert frame_ancestors(response.headers["Content-Security-Policy"]) == [
            "https://teams.microsoft.com", "https://*.teams.microsoft.com", "https://teams.cloud.microsoft"]
        html = await response.text()
        assert "<script>" not in html  # no inline script: the CSP forbids it
        assert '<script src="/dashboard/static/MicrosoftTeams.min.js" defer>' in html
        assert '<script src="/dashboard/static/teams.js" defer>' in html
        assert "Teams でサインインしています" in html or "保存" in html  # the request's language until Teams says
    for path in ("/dashboard", "/dashboard/signin/" + "a" * 43, "/dashboard/api/overview"):
        response = await tab.get(path)
        assert frame_ancestors(response.headers["Content-Security-Policy"]) == ["'none'"], path
        assert response.headers["Content-Security-Policy"] == CSP


async def test_teamsjs_is_served_from_the_package_with_its_licence(tab):
    response = await tab.get("/dashboard/static/MicrosoftTeams.min.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    body = await response.read()
    recorded = (STATIC / "TEAMSJS-VERSION").read_text()
    assert "@microsoft/teams-js@2." in recorded
    assert f"sha256 {hashlib.sha256(body).hexdigest()}" in recorded
    assert b"microsoftTeams" in body[:1000]
    licence = await tab.get("/dashboard/static/TEAMSJS-LICENSE")
    assert licence.status == 200 and licence.content_type == "text/plain"
    assert "MIT License" in await licence.text()
    script = await tab.get("/dashboard/static/teams.js")
    assert "getAuthToken" in await script.text()


def test_the_package_has_the_insights_tabs_and_single_sign_on():
    schema = json.loads((SCHEMAS / "teams-manifest-1.29.schema.json").read_text(encoding="utf-8"))
    manifest = build_manifest(PackageOptions(base_url=PUBLIC, app_id=APP_ID))
    assert not sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
    insights = next(tab for tab in manifest["staticTabs"] if tab["entityId"] == "insights")
    assert insights == {"entityId": "insights", "name": "Insights", "contentUrl": f"{PUBLIC}/dashboard/teams",
                        "websiteUrl": f"{PUBLIC}/dashboard", "scopes": ["personal"]}
    assert manifest["staticTabs"][0] == {"entityId": "conversations", "scopes": ["personal"]}  # the chat stays
    (channel,) = manifest["configurableTabs"]
    assert channel["configurationUrl"] == f"{PUBLIC}/dashboard/teams/configure"
    assert set(channel["scopes"]) == {"team", "groupChat"}
    assert manifest["webApplicationInfo"] == {"id": APP_ID, "resource": APP_ID_URI}
    assert "kizuna.example.com" in manifest["validDomains"]
    assert build_localization("ja")["staticTabs[1].name"] == "インサイト"
    custom = build_manifest(PackageOptions(base_url=PUBLIC, app_id=APP_ID, app_id_uri="api://sso.example.com/x"))
    assert custom["webApplicationInfo"]["resource"] == "api://sso.example.com/x"


def test_the_app_id_uri_setting_and_its_default():
    def teams(**environ: str) -> TeamsSettings:
        return TeamsSettings.read(Settings(environ={"MICROSOFT_APP_ID": APP_ID, **environ}))

    assert teams().app_id_uri("https://kizuna.example.com:8443/") == APP_ID_URI
    assert teams(KIZUNA_TEAMS_APP_ID_URI="api://other.example/abc/").app_id_uri(PUBLIC) == "api://other.example/abc"


@pytest.fixture
async def tab_with_teams(db, make_client, tab_settings, entra, connector):
    """The tab, with a Bot Connector on loopback that knows the team's people by Entra id, and Contoso's feed
    channel reference pointing at it."""
    await people()
    workspace = await Workspace.get(external_id=TENANT)
    workspace.feed_channel = "19:feed@thread.tacv2"
    await workspace.save()
    await store_addresses(workspace, [AddressWrite("channel:19:feed@thread.tacv2", {
        "serviceUrl": connector.url, "conversation": {"id": "19:feed@thread.tacv2"}})])
    connector.members[STRANGER_OID] = {"id": "29:sam", "name": "Sam", "aadObjectId": STRANGER_OID}
    adapter = TeamsAdapter(tab_settings, entra_metadata_url=entra.metadata_url,
                           key_policy=KeyPolicy(retry_every=0.0, unknown_key_every=0.0),
                           credentials_factory=StaticCredentialsFactory(APP_ID, "secret", TENANT))
    client = await make_client(adapter)
    yield client
    await client.close()


async def test_a_person_kizuna_never_saw_is_asked_of_teams_once_and_signed_in(tab_with_teams, connector):
    response = await sign_in(tab_with_teams, entra_token(oid=STRANGER_OID), locale="en")
    assert response.status == 200, await response.text()
    workspace = await Workspace.get(external_id=TENANT)
    sam = await Member.get(workspace_id=workspace.id, platform_user_id="29:sam")
    assert sam.display_name == "Sam"
    session = await DashboardSession.get()
    assert (session.workspace_id, session.member_id) == (workspace.id, sam.id)
    lookups = [r.path for r in connector.requests if r.method == "GET" and "/members/" in r.path]
    assert lookups == [f"/v3/conversations/19%3Afeed%40thread.tacv2/members/{STRANGER_OID}"]
    # Known now: the second sign-in does not ask Teams again, and opens a second session for the same member.
    assert (await sign_in(tab_with_teams, entra_token(oid=STRANGER_OID))).status == 200
    assert [r.path for r in connector.requests if "/members/" in r.path] == lookups
    assert {s.member_id for s in await DashboardSession.all()} == {sam.id}


async def test_someone_teams_does_not_know_in_the_team_gets_no_session_and_no_member(tab_with_teams, connector):
    nobody = "0b0d0000-0000-4000-8000-0000000000b0"
    response = await sign_in(tab_with_teams, entra_token(oid=nobody), locale="ja")
    assert response.status == 403
    assert (await response.json())["reason"] == "not_member"
    assert await DashboardSession.all().count() == 0
    assert await Member.filter(display_name="Sam").count() == 0
    assert [r.path for r in connector.requests if "/members/" in r.path] == [
        f"/v3/conversations/19%3Afeed%40thread.tacv2/members/{nobody}"]


async def test_the_consent_window_gets_the_apps_authorize_parameters(tab):
    response = await tab.get("/dashboard/teams/consent/parameters")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.json() == {
        "authorize": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize", "client_id": APP_ID,
        "scope": f"{APP_ID_URI}/access_as_user", "redirect_uri": f"{PUBLIC}/dashboard/teams/consent/end"}
    for path in ("/dashboard/teams/consent", "/dashboard/teams/consent/end"):
        page = await tab.get(path, headers={"Accept-Language": "en"})
        assert page.status == 200
        assert frame_ancestors(page.headers["Content-Security-Policy"]) == ["'none'"]  # a window, never framed
        html = await page.text()
        assert 'data-teams="consent' in html and "Opening Microsoft sign-in" in html
        assert "dashboard.js" not in html


async def test_emulator_mode_has_no_consent_window_parameters(db, make_client, settings):
    client = await make_client(TeamsAdapter(settings))
    try:
        response = await client.get("/dashboard/teams/consent/parameters", headers={"Accept-Language": "en"})
        assert response.status == 404
        assert (await response.json())["reason"] == "not_set_up"
    finally:
        await client.close()


async def test_someone_outside_the_feeds_team_is_asked_of_the_channel_heard_from_last(tab_with_teams, connector):
    workspace = await Workspace.get(external_id=TENANT)
    await store_addresses(workspace, [AddressWrite("channel:19:other@thread.tacv2", {
        "serviceUrl": connector.url, "conversation": {"id": "19:other@thread.tacv2"}})])
    nobody = "0b0d0000-0000-4000-8000-0000000000b0"
    assert (await sign_in(tab_with_teams, entra_token(oid=nobody))).status == 403
    # Both channels asked, once each; the feed first.
    assert [r.path.split("/")[3] for r in connector.requests if "/members/" in r.path] == [
        "19%3Afeed%40thread.tacv2", "19%3Aother%40thread.tacv2"]
