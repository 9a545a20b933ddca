"""Discord fixtures: the fake Discord API, the signing key, the adapter and the app under test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from nacl.signing import SigningKey

from adapters.discord import DiscordAdapter
from core.config import Settings
from tests.discord.kit import APP_ID, Discord, FakeDiscord, serve


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
    assert fake.problems == [], fake.problems


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def settings(signing_key: SigningKey, fake_discord: FakeDiscord) -> Settings:
    return Settings(database_url="sqlite://:memory:", adapters=("discord",), environ={
        "DISCORD_APPLICATION_ID": APP_ID, "DISCORD_PUBLIC_KEY": signing_key.verify_key.encode().hex(),
        "DISCORD_BOT_TOKEN": "test-bot-token", "DISCORD_API_BASE": fake_discord.url})


@pytest_asyncio.fixture
async def adapter(settings: Settings) -> DiscordAdapter:
    return DiscordAdapter(settings)


@pytest_asyncio.fixture
async def discord(db: Any, settings: Settings, adapter: DiscordAdapter,
                  signing_key: SigningKey) -> AsyncIterator[Discord]:
    async with serve(settings, adapter, signing_key) as discord:
        yield discord


@pytest.fixture
def threaded_fake_discord() -> Iterator[FakeDiscord]:
    """The fake Discord API in its own thread and event loop, for the CLI run in the test (its own loop) or
    in other processes."""
    fake = FakeDiscord()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner: dict[str, web.AppRunner] = {}

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", fake.handle)
        runner["r"] = web.AppRunner(app)
        await runner["r"].setup()
        site = web.TCPSite(runner["r"], "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        fake.url = f"http://127.0.0.1:{port}/api/v10"

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner["r"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert fake.problems == [], fake.problems
