"""Real RS256 channel tokens against a fake OpenID metadata + JWKS server on loopback (platform notes A.2)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import replace

import jwt
import pytest
from botframework.connector.auth import ChannelValidation
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import teams as teams_package
from adapters.contract import AdapterContext
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import ALICE, BOB, CHANNEL_ISSUER, Failure, StaticCredentialsFactory
from adapters.teams.settings import TeamsSettings
from adapters.teams.tokens import KeyPolicy
from core.config import ConfigurationError, Settings
from core.models import Thanks

APP_ID = "11111111-2222-3333-4444-555555555555"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    data.update(kid=kid, use="sig", endorsements=["msteams"])
    return data


@pytest.fixture
def jwt_settings(settings: Settings) -> Settings:
    return replace(settings, environ={"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "secret",
                                      "MICROSOFT_APP_TENANT_ID": "tenant-0000", "MICROSOFT_APP_TYPE": "SingleTenant"})


def token(service_url: str, *, key=KEY, kid="test-kid", aud=APP_ID, iss=CHANNEL_ISSUER, expires_in=600,
          valid_in=-10, serviceurl=None, algorithm="RS256", drop=()) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "serviceurl": serviceurl or service_url, "nbf": now + valid_in,
              "iat": now - 10, "exp": now + expires_in}
    for name in drop:
        del claims[name]
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def unreachable_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/.well-known/openidconfiguration"


def key_fetches(connector) -> list[str]:
    """The OpenID metadata and JWKS requests the fake received."""
    return [r.path for r in connector.requests if r.method == "GET" and r.path.startswith("/v1/")]


@pytest.fixture
def secure_adapter(jwt_settings, connector):
    """``secure_adapter(**overrides)`` → a TeamsAdapter that checks tokens against the fake's keys."""
    connector.jwks[:] = [jwk(KEY, "test-kid")]

    def make(*, metadata_url=None, key_policy=None):
        overrides = t.auth_overrides(connector)
        if metadata_url:
            overrides["TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL"] = metadata_url
        return TeamsAdapter(jwt_settings, auth_overrides=overrides, key_policy=key_policy,
                            credentials_factory=StaticCredentialsFactory(APP_ID, "secret", "tenant-0000"))

    return make


@pytest.fixture
async def secured(db, make_client, secure_adapter):
    client = await make_client(secure_adapter())
    yield client
    await client.close()


@pytest.fixture
async def keyless(db, make_client, secure_adapter):
    """The app with its signing-key endpoint unreachable."""
    client = await make_client(secure_adapter(metadata_url=unreachable_url()))
    yield client
    await client.close()


def thanks_activity(connector):
    return t.message(connector.url, ALICE, f"thanks {BOB.tag} for the review", [BOB])


async def test_a_valid_token_is_accepted_and_the_reply_is_authenticated(secured, connector):
    response = await secured.post("/api/messages", json=thanks_activity(connector),
                                  headers={"Authorization": f"Bearer {token(connector.url)}"})
    assert response.status == 201, await response.text()
    posted = connector.activities()
    assert len(posted) == 1
    assert posted[0].headers["Authorization"] == "Bearer fake-outbound-token"
    assert await Thanks.all().count() == 1


@pytest.mark.parametrize(("case", "header"), [
    ("missing", None),
    ("empty bearer", "Bearer "),
    ("garbage", "Bearer abc"),
    ("not bearer", "Basic dXNlcjpwYXNz"),
    ("expired", lambda url: f"Bearer {token(url, expires_in=-3600)}"),
    ("wrong audience", lambda url: f"Bearer {token(url, aud='99999999-2222-3333-4444-555555555555')}"),
    ("wrong service url", lambda url: f"Bearer {token(url, serviceurl='https://evil.example/')}"),
    ("wrong issuer", lambda url: f"Bearer {token(url, iss='https://evil.example')}"),
    ("unknown key id", lambda url: f"Bearer {token(url, kid='other-kid')}"),
    ("signed by another key", lambda url: f"Bearer {token(url, key=OTHER_KEY)}"),
    ("HS256 instead of RS256", lambda url: "Bearer " + jwt.encode(
        {"iss": CHANNEL_ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600},
        "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256", headers={"kid": "test-kid"})),
])
async def test_bad_tokens_get_401_and_nothing_happens(secured, connector, case, header):
    headers = {}
    if header is not None:
        headers["Authorization"] = header(connector.url) if callable(header) else header
    response = await secured.post("/api/messages", json=thanks_activity(connector), headers=headers)
    assert response.status == 401, (case, response.status, await response.text())
    assert connector.activities() == []
    assert await Thanks.all().count() == 0


async def test_the_builtin_public_cloud_path_also_gives_401(db, jwt_settings, make_client, connector, monkeypatch):
    # Production configuration (no overrides) with only the metadata URL redirected to the fake.
    connector.jwks[:] = [jwk(KEY, "test-kid")]
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint",
                        connector.url + "v1/.well-known/openidconfiguration")
    adapter = TeamsAdapter(jwt_settings, credentials_factory=StaticCredentialsFactory(APP_ID, "secret", "tenant-0000"))
    client = await make_client(adapter)
    try:
        for header in ({}, {"Authorization": "Bearer abc"},
                       {"Authorization": f"Bearer {token(connector.url, expires_in=-3600)}"}):
            response = await client.post("/api/messages", json=thanks_activity(connector), headers=header)
            assert response.status == 401, header
        response = await client.post("/api/messages", json=thanks_activity(connector),
                                     headers={"Authorization": f"Bearer {token(connector.url)}"})
        assert response.status == 201
    finally:
        await client.close()


# Everything here is wrong in a way that needs no signing key to see.
REFUSABLE_WITHOUT_KEYS = [
    ("missing", None),
    ("not bearer", "Basic dXNlcjpwYXNz"),
    ("empty bearer", "Bearer "),
    ("garbage", "Bearer abc"),
    ("three garbage parts", "Bearer a.b.c"),
    ("not ascii", "Bearer eyJhbGciOiJSUzI1NiJ9.ｅｙＪ.x"),
    ("HS256 instead of RS256", lambda url: "Bearer " + jwt.encode(
        {"iss": CHANNEL_ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600},
        "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256", headers={"kid": "test-kid"})),
    ("unsigned (alg none)", lambda url: "Bearer " + jwt.encode(
        {"iss": CHANNEL_ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600},
        None, algorithm="none", headers={"kid": "test-kid"})),
    ("RS512", lambda url: f"Bearer {token(url, algorithm='RS512')}"),
    ("no key id", lambda url: f"Bearer {token(url, kid=None)}"),
    ("expired an hour ago", lambda url: f"Bearer {token(url, expires_in=-3600)}"),
    ("expired beyond the clock skew", lambda url: f"Bearer {token(url, expires_in=-330)}"),
    ("not valid for ten minutes", lambda url: f"Bearer {token(url, valid_in=600)}"),
    ("wrong audience", lambda url: f"Bearer {token(url, aud='99999999-2222-3333-4444-555555555555')}"),
    ("audience list", lambda url: f"Bearer {token(url, aud=[APP_ID, 'other'])}"),
    ("wrong issuer", lambda url: f"Bearer {token(url, iss='https://evil.example')}"),
    ("wrong service url", lambda url: f"Bearer {token(url, serviceurl='https://evil.example/')}"),
    ("no exp", lambda url: f"Bearer {token(url, drop=('exp',))}"),
    ("no aud", lambda url: f"Bearer {token(url, drop=('aud',))}"),
    ("no iss", lambda url: f"Bearer {token(url, drop=('iss',))}"),
    ("no serviceurl", lambda url: f"Bearer {token(url, drop=('serviceurl',))}"),
]


def header_for(header, connector) -> dict[str, str]:
    if header is None:
        return {}
    return {"Authorization": header(connector.url) if callable(header) else header}


@pytest.mark.parametrize(("case", "header"), REFUSABLE_WITHOUT_KEYS, ids=[c for c, _ in REFUSABLE_WITHOUT_KEYS])
async def test_tokens_refusable_without_keys_get_401_while_the_keys_are_unreachable(keyless, connector, case,
                                                                                      header):
    response = await keyless.post("/api/messages", json=thanks_activity(connector),
                                  headers=header_for(header, connector))
    assert response.status == 401, (case, response.status, await response.text())
    assert connector.activities() == []
    assert await Thanks.all().count() == 0


async def test_tokens_refusable_without_keys_never_fetch_them(secured, connector):
    for _, header in REFUSABLE_WITHOUT_KEYS:
        response = await secured.post("/api/messages", json=thanks_activity(connector),
                                      headers=header_for(header, connector))
        assert response.status == 401
    assert key_fetches(connector) == []


async def test_a_valid_token_waits_for_keys_that_cannot_be_fetched_with_503(keyless, connector):
    response = await keyless.post("/api/messages", json=thanks_activity(connector),
                                  headers={"Authorization": f"Bearer {token(connector.url)}"})
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert await Thanks.all().count() == 0


@pytest.mark.parametrize("claims", [{"expires_in": -120}, {"valid_in": 120}], ids=["expired", "not yet valid"])
async def test_five_minutes_of_clock_skew_are_allowed(secured, connector, claims):
    response = await secured.post("/api/messages", json=thanks_activity(connector),
                                  headers={"Authorization": f"Bearer {token(connector.url, **claims)}"})
    assert response.status == 201, await response.text()


async def test_the_keys_are_fetched_once_and_shared(secured, connector):
    connector.keys_delay = 0.2  # concurrent requests all arrive while the first fetch is in flight
    responses = await asyncio.gather(*(
        secured.post("/api/messages", json=thanks_activity(connector),
                     headers={"Authorization": f"Bearer {token(connector.url)}"}) for _ in range(5)))
    assert [r.status for r in responses] == [201] * 5
    response = await secured.post("/api/messages", json=thanks_activity(connector),
                                  headers={"Authorization": f"Bearer {token(connector.url)}"})
    assert response.status == 201
    assert key_fetches(connector) == ["/v1/.well-known/openidconfiguration", "/v1/keys"]


async def test_fetching_the_keys_does_not_block_other_requests(secured, connector):
    connector.keys_delay = 1.0
    started = time.monotonic()
    waiting = asyncio.ensure_future(secured.post("/api/messages", json=thanks_activity(connector),
                                                 headers={"Authorization": f"Bearer {token(connector.url)}"}))
    await asyncio.sleep(0.1)
    refused = await secured.post("/api/messages", json=thanks_activity(connector),
                                 headers={"Authorization": f"Bearer {token(connector.url, expires_in=-3600)}"})
    health = await secured.get("/healthz")
    assert refused.status == 401 and health.status == 200
    assert time.monotonic() - started < 0.6, "the key fetch held up the event loop"
    assert (await waiting).status == 201


async def test_an_unknown_key_id_does_not_make_every_request_fetch_the_keys(secured, connector):
    assert (await secured.post("/api/messages", json=thanks_activity(connector),
                               headers={"Authorization": f"Bearer {token(connector.url)}"})).status == 201
    for n in range(5):
        response = await secured.post("/api/messages", json=thanks_activity(connector),
                                      headers={"Authorization": f"Bearer {token(connector.url, kid=f'made-up-{n}')}"})
        assert response.status == 401
    assert len(key_fetches(connector)) == 2


async def wait_until(condition) -> None:
    """Poll what the fake (another thread) saw, for up to 5 s."""
    for _ in range(250):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_keys_are_refreshed_in_the_background_and_kept_when_a_refresh_fails(
        db, make_client, secure_adapter, connector, caplog):
    policy = KeyPolicy(refresh_every=0.2, retry_every=0.1, lifetime=60)
    client = await make_client(secure_adapter(key_policy=policy))
    try:
        def send(**claims):
            return client.post("/api/messages", json=thanks_activity(connector),
                               headers={"Authorization": f"Bearer {token(connector.url, **claims)}"})

        assert (await send()).status == 201
        # Microsoft publishes a new key; the refresh picks it up without any request asking for it.
        connector.jwks.append(jwk(OTHER_KEY, "new-kid"))
        await wait_until(lambda: key_fetches(connector).count("/v1/keys") >= 2)
        # The fake has answered; the refresh stores the keys a moment later.
        for _ in range(50):
            if (await send(key=OTHER_KEY, kid="new-kid")).status == 201:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the new key was never picked up")
        # The keys endpoint fails: the cached keys are still used, and the outage is logged once.
        caplog.set_level(logging.DEBUG, logger="kizuna.teams.auth")
        connector.keys_failure = Failure(503)
        fetched = len(key_fetches(connector))
        await wait_until(lambda: key_fetches(connector).count("/v1/keys") >= fetched // 2 + 3)
        assert (await send()).status == 201
        assert (await send(key=OTHER_KEY, kid="new-kid")).status == 201
        warnings = [r for r in caplog.records if r.name == "kizuna.teams.auth" and r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "cached keys are used" in warnings[0].getMessage()
        connector.keys_failure = None
        await wait_until(lambda: any("can be fetched again" in r.getMessage() for r in caplog.records))
    finally:
        await client.close()


async def test_keys_that_cannot_be_refreshed_are_not_used_after_they_expire(db, make_client, secure_adapter,
                                                                            connector):
    policy = KeyPolicy(refresh_every=0.1, retry_every=0.1, lifetime=0.5)
    client = await make_client(secure_adapter(key_policy=policy))
    try:
        response = await client.post("/api/messages", json=thanks_activity(connector),
                                     headers={"Authorization": f"Bearer {token(connector.url)}"})
        assert response.status == 201
        connector.keys_failure = Failure(500)
        await asyncio.sleep(0.7)
        response = await client.post("/api/messages", json=thanks_activity(connector),
                                     headers={"Authorization": f"Bearer {token(connector.url)}"})
        assert response.status == 503
    finally:
        await client.close()


async def test_emulator_mode_ignores_tokens_and_fetches_nothing(teams, connector):
    client, _ = teams
    response = await client.post("/api/messages", json=thanks_activity(connector),
                                  headers={"Authorization": f"Bearer {token(connector.url)}"})
    assert response.status == 201
    assert key_fetches(connector) == []


def test_single_tenant_without_tenant_id_is_a_startup_error(settings):
    broken = replace(settings, environ={"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "secret",
                                        "MICROSOFT_APP_TYPE": ""})
    with pytest.raises(ConfigurationError, match="MICROSOFT_APP_TENANT_ID"):
        teams_package.create_adapter(AdapterContext(settings=broken))


def test_settings_default_to_single_tenant():
    assert TeamsSettings.read(Settings.from_env({}, env_file=None)).app_type == "SingleTenant"


@pytest.mark.parametrize(("environ", "host", "message"), [
    ({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": "t"}, "127.0.0.1", "MICROSOFT_APP_PASSWORD"),
    ({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "x", "MICROSOFT_APP_TYPE": "Weird"}, "127.0.0.1",
     "MICROSOFT_APP_TYPE"),
    ({}, "0.0.0.0", "only allowed on a loopback address, not KIZUNA_HOST=0.0.0.0.*KIZUNA_ADAPTERS without teams"),
])
def test_other_broken_configurations_are_explained(settings, environ, host, message):
    with pytest.raises(ConfigurationError, match=message):
        TeamsAdapter(replace(settings, environ=environ, host=host))


def test_multi_tenant_and_emulator_configurations_start(settings):
    assert TeamsAdapter(settings).app_id == ""
    legacy = replace(settings, environ={"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "x",
                                        "MICROSOFT_APP_TYPE": "MultiTenant"})
    assert TeamsAdapter(legacy).configuration.APP_TYPE == "MultiTenant"
