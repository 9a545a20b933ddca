"""Real RS256 channel tokens against a fake OpenID metadata + JWKS server on loopback (platform notes A.2)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace

import jwt
import pytest
from botframework.connector.auth import ChannelValidation, JwtTokenExtractor
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import teams as teams_package
from adapters.contract import AdapterContext
from adapters.teams import testing as t
from adapters.teams.adapter import TeamsAdapter
from adapters.teams.settings import TeamsSettings
from adapters.teams.testing import ALICE, BOB, CHANNEL_ISSUER, StaticCredentialsFactory
from core.config import ConfigurationError, Settings
from core.models import Thanks

APP_ID = "11111111-2222-3333-4444-555555555555"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    data.update(kid=kid, use="sig", endorsements=["msteams"])
    return data


@pytest.fixture(autouse=True)
def fresh_key_cache() -> Iterator[None]:
    # The SDK caches metadata per URL for a day in a class-level dict.
    JwtTokenExtractor.metadataCache.clear()
    yield
    JwtTokenExtractor.metadataCache.clear()


@pytest.fixture
def jwt_settings(settings: Settings) -> Settings:
    return replace(settings, environ={"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "secret",
                                      "MICROSOFT_APP_TENANT_ID": "tenant-0000", "MICROSOFT_APP_TYPE": "SingleTenant"})


def token(service_url: str, *, key=KEY, kid="test-kid", aud=APP_ID, iss=CHANNEL_ISSUER, expires_in=600,
          serviceurl=None, algorithm="RS256") -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "serviceurl": serviceurl or service_url, "nbf": now - 10, "iat": now - 10,
              "exp": now + expires_in}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture
async def secured(db, jwt_settings, make_client, connector):
    connector.jwks[:] = [jwk(KEY, "test-kid")]
    adapter = TeamsAdapter(jwt_settings, auth_overrides=t.auth_overrides(connector),
                           credentials_factory=StaticCredentialsFactory(APP_ID, "secret", "tenant-0000"))
    client = await make_client(adapter)
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
