"""Secrets stay secret: no token, password or signature in a log line, an answer, CLI output or an exported file.

The app runs with recognisable secrets (the Teams client secret, the Discord bot token, a database
password) and is driven the way operators and attackers drive it: start-up, Teams and Discord
requests (good ones, forged ones, ones whose turn fails), outbox deliveries that fail, the CLI's
export and its database errors. Every log line (at DEBUG, through the product's own logging set-up),
every HTTP answer (status line, headers, body), every CLI output and exported file is then searched
for every secret, including the per-request ones: the Teams tokens' signatures, the outbound access
token, Discord's request signatures and interaction tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import pytest
import pytest_asyncio
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from nacl.signing import SigningKey

from adapters.discord import DiscordAdapter
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import (
    ALICE,
    BOB,
    CHANNEL_ISSUER,
    Failure,
    FakeBotConnector,
    StaticCredentialsFactory,
)
from core.config import Settings
from core.services.workspaces import ensure_workspace
from kizuna.logs import Redactor, configure_logging, secrets_in
from kizuna.server import UnmigratedDatabase, build_app, ensure_migrated
from kizuna.worker import OutboxWorker
from tests.conftest import BACKEND
from tests.discord.kit import BOB as DISCORD_BOB
from tests.discord.kit import FEED, GUILD, Discord, FakeDiscord
from tests.teams.cards import no_sleep_policy

ROOT = Path(__file__).resolve().parents[1]
TEAMS_APP_ID = "11111111-2222-3333-4444-555555555555"
TEAMS_PASSWORD = "S3cr3t~teams.client-secret_4b1d"
DISCORD_TOKEN = "S3cr3t.discord-bot-token.9f2e"
DB_PASSWORD = "S3cr3t-db-p4ssw0rd"
OUTBOUND_TOKEN = "fake-outbound-token"  # what StaticCredentials sends to the Bot Connector
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NOISY = ("msrest", "msal", "urllib3", "aiohttp.access", "tortoise")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unreachable_postgres() -> str:
    return f"postgres://kizuna:{DB_PASSWORD}@127.0.0.1:{free_port()}/kizuna"


class Exposed:
    """Everything an outsider or an operator gets to read, with where it came from."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str, frozenset[str]]] = []
        self.secrets: set[str] = {TEAMS_PASSWORD, DISCORD_TOKEN, DB_PASSWORD, OUTBOUND_TOKEN}

    def add(self, where: str, text: str, *, own: frozenset[str] = frozenset()) -> None:
        """``own``: what the reader of ``text`` sent itself (an answer may echo a request's own header)."""
        self.texts.append((where, text, own))

    async def answer(self, where: str, response: ClientResponse, *,
                     own: frozenset[str] = frozenset()) -> ClientResponse:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.add(where, f"{response.status} {response.reason}\n{headers}\n\n{await response.text()}", own=own)
        return response

    def check(self) -> None:
        leaks = [f"{where}: …{text[max(0, text.find(s) - 80):text.find(s) + len(s) + 20]}…"
                 for where, text, own in self.texts for s in self.secrets - own if s and s in text]
        assert not leaks, "secrets exposed:\n" + "\n".join(leaks)


@pytest.fixture
def exposed() -> Exposed:
    return Exposed()


@pytest.fixture
def product_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """The product's logging set-up (``kizuna.logs``) at DEBUG, writing to the captured stderr."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in NOISY}

    def configure(settings: Settings) -> None:
        configure_logging("DEBUG", environ=settings.environ)

    yield configure
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    data.update(kid=kid, use="sig", endorsements=["msteams"])
    return dict(data)


def teams_token(exposed: Exposed, service_url: str, *, key: rsa.RSAPrivateKey = KEY, kid: str = "test-kid",
                expires_in: int = 600) -> str:
    now = int(time.time())
    token = jwt.encode({"iss": CHANNEL_ISSUER, "aud": TEAMS_APP_ID, "serviceurl": service_url, "nbf": now - 10,
                        "iat": now - 10, "exp": now + expires_in}, key, algorithm="RS256", headers={"kid": kid})
    exposed.secrets.add(token.rsplit(".", 1)[1])  # the signature is what makes a token usable
    return token


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("/api/v10"))
    try:
        yield fake
    finally:
        await server.close()


@pytest.fixture
def connector() -> Iterator[FakeBotConnector]:
    fake = FakeBotConnector().start()
    fake.jwks[:] = [jwk(KEY, "test-kid")]
    fake.members.update({u.aad: {"id": u.id, "name": u.name, "aadObjectId": u.aad, "tenantId": t.TENANT}
                         for u in (ALICE, BOB)})
    try:
        yield fake
    finally:
        fake.stop()


async def test_the_running_app_exposes_no_secret(db: Any, exposed: Exposed, product_logs: Any,
                                                 capsys: pytest.CaptureFixture[str], connector: FakeBotConnector,
                                                 fake_discord: FakeDiscord) -> None:
    discord_key = SigningKey.generate()
    settings = Settings(database_url=unreachable_postgres(), adapters=("teams", "discord"), environ={
        "KIZUNA_DATABASE_URL": unreachable_postgres(),
        "MICROSOFT_APP_ID": TEAMS_APP_ID, "MICROSOFT_APP_PASSWORD": TEAMS_PASSWORD,
        "MICROSOFT_APP_TENANT_ID": t.TENANT, "MICROSOFT_APP_TYPE": "SingleTenant",
        "DISCORD_APPLICATION_ID": "777000000000000001", "DISCORD_PUBLIC_KEY": discord_key.verify_key.encode().hex(),
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN, "DISCORD_API_BASE": fake_discord.url})
    product_logs(settings)
    teams = TeamsAdapter(settings, auth_overrides=t.auth_overrides(connector), retry=no_sleep_policy(),
                         credentials_factory=StaticCredentialsFactory(TEAMS_APP_ID, TEAMS_PASSWORD, t.TENANT))
    discord_adapter = DiscordAdapter(settings, defer_after=0.0)
    app = build_app(settings, adapters=[teams, discord_adapter], manage_database=False, run_workers=False)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        await drive_teams(client, connector, exposed)
        await drive_discord(client, discord_adapter, discord_key, fake_discord, exposed)
        # The outbox: the 1:1 notifications and feed posts of those thanks, every one refused.
        connector.fail_next(*[Failure(403, body={"error": {"code": "Forbidden", "message": "no"}})] * 10)
        fake_discord.script("POST", "/users/@me/channels", *[(403, {"message": "Cannot DM", "code": 50007}, {})] * 5)
        fake_discord.script("POST", f"/channels/{FEED}/messages", *[(403, {"message": "Missing Access"}, {})] * 5)
        await OutboxWorker([teams, discord_adapter]).drain(max_passes=5)
    finally:
        await client.close()
    exposed.add("logs", capsys.readouterr().err)
    exposed.check()


async def drive_teams(client: TestClient, connector: FakeBotConnector, exposed: Exposed) -> None:
    url = connector.url

    async def post(where: str, header: str | None, *, own: frozenset[str] = frozenset()) -> int:
        body = t.message(url, ALICE, f"thanks {BOB.tag} for the review", [BOB])
        headers = {"Authorization": header} if header is not None else {}
        response = await client.post("/api/messages", json=body, headers=headers)
        return (await exposed.answer(f"teams {where}", response, own=own)).status

    assert await post("valid", f"Bearer {teams_token(exposed, url)}") == 201
    assert await post("forged", f"Bearer {teams_token(exposed, url, key=OTHER_KEY)}") == 401
    assert await post("expired", f"Bearer {teams_token(exposed, url, expires_in=-3600)}") == 401
    assert await post("unknown key", f"Bearer {teams_token(exposed, url, kid='other')}") == 401
    exposed.secrets.add("S3cr3tGarbageBearer")
    assert await post("garbage", "Bearer S3cr3tGarbageBearer") == 401
    exposed.secrets.add("S3cr3tBasicCredentials")
    assert await post("basic", "Basic S3cr3tBasicCredentials") == 401
    exposed.secrets.add("S3cr3tHugeHeader")
    # aiohttp's 400 quotes the start of the oversized header back to its sender (who knows it); not to the logs.
    assert await post("huge header", "Bearer " + "S3cr3tHugeHeader" * 600,
                      own=frozenset({"S3cr3tHugeHeader"})) == 400
    # A turn whose reply the Bot Connector keeps refusing: the turn fails (logged with its trace).
    connector.fail_next(*[Failure(502)] * 4)
    assert await post("failing turn", f"Bearer {teams_token(exposed, url)}") == 503
    connector.fail_next(Failure(401, body={"error": {"code": "Unauthorized", "message": "token rejected"}}))
    assert await post("refused reply", f"Bearer {teams_token(exposed, url)}") in (201, 503)


async def drive_discord(client: TestClient, adapter: DiscordAdapter, key: SigningKey, fake: FakeDiscord,
                        exposed: Exposed) -> None:
    discord = Discord(client, key, adapter)

    async def post(where: str, payload: dict[str, Any], *, signer: SigningKey = key,
                   headers: dict[str, str] | None = None) -> int:
        exposed.secrets.add(payload["token"])
        body = json.dumps(payload).encode()
        sent = headers if headers is not None else Discord(client, signer, adapter).sign(body)
        if "X-Signature-Ed25519" in sent:
            exposed.secrets.add(sent["X-Signature-Ed25519"])
        response = await client.post("/api/discord/interactions", data=body, headers=sent)
        return (await exposed.answer(f"discord {where}", response)).status

    workspace = await ensure_workspace("discord", GUILD)
    workspace.feed_channel = FEED
    await workspace.save()
    # Deferred at once; completing it through the interaction webhook fails (the token is in its URL).
    fake.script("PATCH", "/webhooks/", (404, {"message": "Unknown Webhook", "code": 10015}, {}))
    fake.script("POST", "/webhooks/", (404, {"message": "Unknown Webhook", "code": 10015}, {}))
    assert await post("thanks", discord.thanks(DISCORD_BOB)) == 200
    await adapter.endpoint.drain()
    assert await post("forged", discord.thanks(DISCORD_BOB), signer=SigningKey.generate()) == 401
    assert await post("unsigned", discord.thanks(DISCORD_BOB), headers={"Content-Type": "application/json"}) == 401


# ---- the CLI -----------------------------------------------------------------------------------------


def kizuna(exposed: Exposed, tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIZUNA_", "MICROSOFT_", "DISCORD_"))}
    env.update(KIZUNA_DATABASE_URL=database_url, KIZUNA_LOG_LEVEL="DEBUG", MICROSOFT_APP_ID=TEAMS_APP_ID,
               MICROSOFT_APP_PASSWORD=TEAMS_PASSWORD, MICROSOFT_APP_TENANT_ID=t.TENANT,
               DISCORD_BOT_TOKEN=DISCORD_TOKEN, KIZUNA_PORT=str(free_port()),
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "kizuna.cli", *args], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120)
    exposed.add(f"kizuna {' '.join(args)} (stdout)", done.stdout)
    exposed.add(f"kizuna {' '.join(args)} (stderr)", done.stderr)
    return done


def fresh_database(tmp_path: Path) -> tuple[str, Any]:
    """A new, empty database whose URL carries the password; and how to drop it."""
    if BACKEND != "postgres":
        return f"sqlite://{tmp_path / 'kizuna.sqlite3'}", lambda: None
    base = urlsplit(os.environ["KIZUNA_TEST_POSTGRES_URL"])
    name = f"kizuna_secrets_{uuid.uuid4().hex[:12]}"
    admin = urlunsplit(base._replace(path="/postgres"))
    user = base.username or "postgres"
    netloc = f"{user}:{DB_PASSWORD}@{base.hostname}:{base.port or 5432}"

    async def run(sql: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    return urlunsplit(base._replace(netloc=netloc, path=f"/{name}")), \
        lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_cli_exposes_no_secret(tmp_path: Path, exposed: Exposed) -> None:
    database_url, drop = fresh_database(tmp_path)
    try:
        # Serving an unmigrated database is refused, with a message naming the database.
        refused = kizuna(exposed, tmp_path, database_url, "serve")
        assert refused.returncode == 2 and "missing" in refused.stderr
        assert kizuna(exposed, tmp_path, database_url, "migrate").returncode == 0
        out = tmp_path / "thanks.csv"
        assert kizuna(exposed, tmp_path, database_url, "export", "thanks", "--out", str(out)).returncode == 0
        exposed.add("exported file", out.read_text(encoding="utf-8"))
    finally:
        drop()
    # A database that cannot be reached, with the password in its URL.
    for args in (("migrate",), ("export", "thanks"), ("serve",)):
        assert kizuna(exposed, tmp_path, unreachable_postgres(), *args).returncode != 0
    exposed.check()


async def test_refusing_an_unmigrated_database_does_not_quote_its_password(db: Any) -> None:
    settings = Settings(database_url=f"postgres://kizuna:{DB_PASSWORD}@db.example:5432/kizuna")
    with pytest.raises(UnmigratedDatabase) as refused:
        await ensure_migrated(settings)
    assert DB_PASSWORD not in str(refused.value)
    assert "postgres://kizuna:***@db.example:5432/kizuna" in str(refused.value)


@pytest.mark.parametrize("line", [
    "cannot fetch the Bot Framework signing keys from https://login.botframework.com/v1/.well-known/openidconfiguration",
    "unauthorized request to /api/messages: the Authorization header is not a Bearer token",
    "missing Authorization header",
    "Discord rate limit on PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original (route): waiting 1.00 s",
    "the database sqlite:///var/lib/kizuna/kizuna.sqlite3 is missing 1 migration(s)",
])
def test_redaction_leaves_ordinary_log_lines_alone(line: str) -> None:
    assert Redactor(secrets_in({"MICROSOFT_APP_PASSWORD": TEAMS_PASSWORD}))(line) == line
