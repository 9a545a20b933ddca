"""``kizuna serve`` as a real process on a SQLite file, and Discord thanks sent to it over loopback (crash and backup
tests).

The server's Discord adapter answers signed interactions; its outgoing calls (the feed, notifications) go to a fake
Discord API on loopback. A thanks counts as acknowledged only when its answer is the public thanks message itself:
the server sends that after the thanks was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from nacl.signing import SigningKey

from adapters.discord import wire
from tests.discord.kit import APP_ID, BOB, CHANNEL, FakeDiscord
from tests.discord.kit import Discord as DiscordKit
from tests.faults import free_port

ROOT = Path(__file__).resolve().parents[2]
KIZUNA = [sys.executable, "-m", "kizuna.cli"]


@contextlib.asynccontextmanager
async def fake_discord_api() -> AsyncIterator[str]:
    """A fake Discord REST API on loopback; yields its base URL (``DISCORD_API_BASE``)."""
    fake = FakeDiscord()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/api/v10"))
    finally:
        await server.close()


def environment(database: Path, *, key: SigningKey | None = None, api_base: str = "http://127.0.0.1:9/api/v10",
                port: int | None = None) -> dict[str, str]:
    """The environment of a ``kizuna`` process on the SQLite file ``database``, with the Discord adapter on."""
    key = key or SigningKey.generate()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIZUNA_DATABASE_URL": f"sqlite://{database}",
           "KIZUNA_ADAPTERS": "discord", "MICROSOFT_APP_ID": "", "DISCORD_APPLICATION_ID": APP_ID,
           "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(), "DISCORD_BOT_TOKEN": "test-bot-token",
           "DISCORD_API_BASE": api_base, "KIZUNA_LOG_LEVEL": "WARNING"}
    env.pop("KIZUNA_AUTO_MIGRATE", None)
    if port is not None:
        env["KIZUNA_PORT"] = str(port)
    return env


async def kizuna(database: Path, *args: str, cwd: Path) -> tuple[int, str, str]:
    """Run one ``kizuna`` command on ``database`` (a minute at most): (exit status, standard output and error)."""
    process = await asyncio.create_subprocess_exec(*KIZUNA, *args, cwd=cwd, env=environment(database),
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Server:
    """A running ``kizuna serve`` and a client that sends it signed Discord thanks."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path
    http: aiohttp.ClientSession
    kit: DiscordKit
    ids: itertools.count[int]  # senders' and interactions' ids: pass one counter to a restarted server

    async def thanks(self, message: str, *, interaction_id: str | None = None) -> bool:
        """Send ``/thanks @bob message`` from a new member; True when the answer is that thanks, posted."""
        sender = str(next(self.ids))  # one sender each: the daily limit is per sender
        payload = self.kit.thanks(BOB, message=message, channel=CHANNEL, user=sender,
                                  interaction_id=interaction_id or str(next(self.ids)))
        body = json.dumps(payload).encode()
        async with self.http.post(f"{self.url}/api/discord/interactions", data=body,
                                  headers=self.kit.sign(body)) as response:
            text = await response.text()
        if response.status != 200:
            return False
        answer: dict[str, Any] = json.loads(text)
        data = answer.get("data") or {}
        shown = str(data.get("embeds", [{}])[0].get("description"))
        return (answer.get("type") == wire.CHANNEL_MESSAGE_WITH_SOURCE and "flags" not in data
                and re.sub(r"\\(.)", r"\1", shown) == message)  # Discord markdown escapes, undone

    async def leaderboard(self) -> str:
        """The all-time leaderboard's text, as Discord would show it."""
        payload = self.kit.command("leaderboard", [{"name": "period", "type": 3, "value": "all"}], user="1001",
                                   interaction_id=str(next(self.ids)))
        body = json.dumps(payload).encode()
        async with self.http.post(f"{self.url}/api/discord/interactions", data=body,
                                  headers=self.kit.sign(body)) as response:
            assert response.status == 200, await response.text()
            answer = await response.json()
        return str(answer["data"]["embeds"][0]["description"])

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    async def stop(self) -> None:
        """SIGTERM, as an admin stops it; it must exit cleanly."""
        self.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(self.process.wait(), 15) == 0, self.logs()

    def kill(self) -> None:
        """SIGKILL, at once: no shutdown, no last commit."""
        self.process.send_signal(signal.SIGKILL)


@contextlib.asynccontextmanager
async def serving(database: Path, api_base: str, key: SigningKey, *, log_path: Path,
                  ids: itertools.count[int] | None = None, database_url: str | None = None,
                  serve_args: tuple[str, ...] = ()) -> AsyncIterator[Server]:
    """``kizuna serve`` on the SQLite file ``database`` (or on ``database_url``; migrated first if new), ready to
    answer; stopped after."""
    port = free_port()
    env = {**environment(database, key=key, api_base=api_base, port=port), "KIZUNA_AUTO_MIGRATE": "1"}
    if database_url is not None:
        env["KIZUNA_DATABASE_URL"] = database_url
    with log_path.open("a", encoding="utf-8") as log_file:
        process = await asyncio.create_subprocess_exec(*KIZUNA, "serve", *serve_args, cwd=database.parent, env=env,
                                                       stdout=asyncio.subprocess.DEVNULL, stderr=log_file)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15),
                                         connector=aiohttp.TCPConnector(limit=0)) as http:
            server = Server(process, f"http://127.0.0.1:{port}", log_path, http,
                            DiscordKit(None, key, None),  # type: ignore[arg-type]  (it only builds and signs)
                            ids or itertools.count(3000000000000000001))
            await _wait_until_ready(server)
            yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _wait_until_ready(server: Server) -> None:
    async with asyncio.timeout(30):
        while True:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with server.http.get(f"{server.url}/readyz") as response:
                    if response.status == 200:
                        return
            assert server.process.returncode is None, server.logs()
            await asyncio.sleep(0.1)


def thanks_messages(database: Path) -> list[str]:
    """Every thanks message in the SQLite file, read directly (the server may be running or dead)."""
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10)) as conn:
        return [str(row[0]) for row in conn.execute("SELECT message FROM thanks ORDER BY id")]
