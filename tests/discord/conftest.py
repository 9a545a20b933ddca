"""Discord fixtures: the fake Discord API, the signing key, the adapter and the app under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
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


