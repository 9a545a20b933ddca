"""Database outages: ``kizuna serve`` on PostgreSQL through a TCP proxy the test cuts and restores.

While the database is cut, ``/readyz`` says so at once, chat requests get their polite answers (a
Teams reply card, a Discord ephemeral message: never a 5xx), and the log says "the database does not
answer" once, with its cause, instead of a traceback per request and per background pass. When the
database is back, the server serves again by itself, and says so once.
On any database, a failure the database does not explain keeps its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from nacl.signing import SigningKey

from adapters.teams.botframework import testing as t
from core import outage
from core.i18n import translate
from kizuna.server import last_resort
from tests.discord.kit import APP_ID, BOB, CHANNEL, FakeDiscord
from tests.discord.kit import Discord as DiscordKit
from tests.faults import TcpProxy, free_port

ROOT = Path(__file__).resolve().parents[1]
OUTAGE_SECONDS = 5.0
APOLOGY = translate("en", "error.internal")


@dataclass
class Server:
    """A ``kizuna serve`` process, its address, and what it logged (JSON lines)."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def logs(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest_asyncio.fixture
async def database() -> AsyncIterator[tuple[str, str, int, str]]:
    """A fresh PostgreSQL database: (user, host, port, name), dropped after the test."""
    import asyncpg

    base = urlsplit(os.environ["KIZUNA_TEST_POSTGRES_URL"])
    name = f"kizuna_outage_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=base.hostname, port=base.port or 5432, user=base.username,
                                  password=base.password, database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.username or "postgres", base.hostname or "127.0.0.1", base.port or 5432, name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.postgres_only
async def test_a_database_cut_is_one_warning_polite_answers_and_recovery_without_a_restart(database, tmp_path):
    user, host, port, name = database
    proxy = TcpProxy(host, port)
    await proxy.restore()
    connector = t.FakeBotConnector().start()
    fake_discord = FakeDiscord()
    discord_api = web.Application()
    discord_api.router.add_route("*", "/{tail:.*}", fake_discord.handle)
    api_server = TestServer(discord_api, host="127.0.0.1")
    await api_server.start_server()
    key = SigningKey.generate()
    http_port = free_port()
    password = os.environ.get("PGPASSWORD", "") or (urlsplit(os.environ["KIZUNA_TEST_POSTGRES_URL"]).password or "")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIZUNA_PORT": str(http_port), "KIZUNA_AUTO_MIGRATE": "1",
           "KIZUNA_DATABASE_URL": f"postgres://{user}:{password}@127.0.0.1:{proxy.port}/{name}",
           "KIZUNA_ADAPTERS": "teams,discord", "MICROSOFT_APP_ID": "", "DISCORD_APPLICATION_ID": APP_ID,
           "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(), "DISCORD_BOT_TOKEN": "test-bot-token",
           "DISCORD_API_BASE": str(api_server.make_url("/api/v10")), "KIZUNA_LOG_LEVEL": "INFO"}
    log_path = tmp_path / "serve.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "kizuna.cli", "serve", cwd=tmp_path,
                                                       env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log_file)
    server = Server(process, f"http://127.0.0.1:{http_port}", log_path)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            # The kit only builds and signs interactions here; the server is reached over HTTP.
            chat = Chat(http, server.url, connector, DiscordKit(None, key, None))  # type: ignore[arg-type]
            await wait_until_ready(http, server)
            assert await chat.teams_thanks("before") == 201
            assert "before" in json.dumps(connector.activities()[-1].card())
            assert (await chat.discord_thanks("before"))[0] == 200

            await proxy.cut()
            cut_at = time.monotonic()
            assert (await http.get(f"{server.url}/readyz")).status == 503  # at once
            while time.monotonic() - cut_at < OUTAGE_SECONDS:
                assert (await http.get(f"{server.url}/readyz")).status == 503
                assert await chat.teams_thanks("during") == 201
                assert APOLOGY in json.dumps(connector.activities()[-1].card(), ensure_ascii=False)
                status, answer = await chat.discord_thanks("during")
                assert status == 200 and answer["data"]["flags"] == 64, answer  # an ephemeral apology
                await asyncio.sleep(0.5)
            await proxy.restore()

            await wait_until_ready(http, server)  # no restart
            assert await chat.teams_thanks("after") == 201
            assert "after" in json.dumps(connector.activities()[-1].card())
            status, answer = await chat.discord_thanks("after")
            assert status == 200 and "after" in json.dumps(answer), answer
            await wait_for_log(server, "the database answers again")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connector.stop()
        await api_server.close()
        await proxy.close()

    logs = server.logs()
    traces = [entry for entry in logs if "exc" in entry]
    assert traces == [], "\n\n".join(f"{e['logger']}: {e['message']}\n{e['exc']}" for e in traces)
    down = [e for e in logs if e["message"].startswith("the database does not answer")]
    assert [e["level"] for e in down] == ["warning"]
    assert "Connect" in down[0]["message"] or "Connection" in down[0]["message"], down[0]  # its cause
    back = [e for e in logs if e["message"].startswith("the database answers again")]
    assert [e["level"] for e in back] == ["info"]
    assert not [e for e in logs if e["level"] in ("error", "critical")], logs


class Chat:
    """Thanks as Teams and Discord send them, over real HTTP to the server."""

    def __init__(self, http: aiohttp.ClientSession, url: str, connector: t.FakeBotConnector,
                 discord: DiscordKit) -> None:
        self.http, self.url, self.connector, self.discord = http, url, connector, discord

    async def teams_thanks(self, why: str) -> int:
        activity = t.message(self.connector.url, t.ALICE, f"thanks {t.BOB.tag} for {why}", [t.BOB])
        async with self.http.post(f"{self.url}/api/messages", json=activity) as response:
            return response.status

    async def discord_thanks(self, why: str) -> tuple[int, Any]:
        body = json.dumps(self.discord.thanks(BOB, message=f"thanks for {why}", channel=CHANNEL)).encode()
        async with self.http.post(f"{self.url}/api/discord/interactions", data=body,
                                  headers=self.discord.sign(body)) as response:
            text = await response.text()
            return response.status, json.loads(text) if text.startswith("{") else text


async def wait_until_ready(http: aiohttp.ClientSession, server: Server) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                async with http.get(f"{server.url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            assert server.process.returncode is None, server.log_path.read_text(encoding="utf-8")
            await asyncio.sleep(0.1)


async def wait_for_log(server: Server, start: str) -> None:
    """Until a line starting with ``start`` is logged, for 10 s at most (the assertions on the log say the rest)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while True:
                if any(e["message"].startswith(start) for e in server.logs()):
                    return
                await asyncio.sleep(0.1)


async def test_a_failure_the_database_does_not_explain_keeps_its_traceback(db, caplog):
    async def broken(request: web.Request) -> web.Response:
        raise KeyError("a bug")

    app = web.Application(middlewares=[last_resort])
    app.router.add_get("/broken", broken)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(str(server.make_url("/broken"))) as response:
            assert response.status == 503
    finally:
        await server.close()
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.getMessage(), type(r.exc_info[1])) for r in failed] == [("unhandled error on GET /broken", KeyError)]
    assert await outage.check() is None
