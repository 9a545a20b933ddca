"""Discord's 3-second rule: slow work is deferred and completed through the interaction webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from adapters.discord import DiscordAdapter, handlers, wire
from core.config import Settings
from core.models import Thanks
from tests.discord.kit import APP_ID, BOB, CAROL, Discord, FakeDiscord, clap_id, serve

SLOW = 0.3


@pytest_asyncio.fixture
async def slow_discord(db, settings: Settings, signing_key, monkeypatch) -> AsyncIterator[Discord]:
    """The app with a 50 ms deferral threshold and a core that takes 300 ms to run any command."""
    real = handlers.execute

    async def slow(*args, **kwargs):
        await asyncio.sleep(SLOW)
        return await real(*args, **kwargs)

    monkeypatch.setattr(handlers, "execute", slow)
    adapter = DiscordAdapter(settings, defer_after=0.05)
    async with serve(settings, adapter, signing_key) as discord:
        yield discord


async def test_slow_thanks_is_deferred_then_completed_by_editing_the_original(slow_discord: Discord,
                                                                              fake_discord: FakeDiscord):
    payload = slow_discord.thanks(BOB)
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await slow_discord.send(payload)
    assert loop.time() - started < SLOW
    assert answer == {"type": wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
    await slow_discord.adapter.endpoint.drain()
    [edit] = fake_discord.calls("PATCH")
    assert edit.path == f"/webhooks/{APP_ID}/{payload['token']}/messages/@original"
    assert "Authorization" not in edit.headers
    assert edit.body["embeds"][0]["description"] == "great release notes"
    assert edit.body["allowed_mentions"] == {"parse": [], "users": [BOB]}
    assert fake_discord.problems == []
    assert await Thanks.all().count() == 1


async def test_slow_error_replaces_the_public_placeholder_with_a_private_follow_up(slow_discord: Discord,
                                                                                    fake_discord: FakeDiscord):
    payload = slow_discord.thanks(BOB, message="  ")
    assert (await slow_discord.send(payload))["type"] == wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    await slow_discord.adapter.endpoint.drain()
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in fake_discord.requests] == [
        ("DELETE", "@original"), ("POST", payload["token"])]
    follow_up = fake_discord.calls("POST")[0].body
    assert follow_up["flags"] == wire.EPHEMERAL and "add a message" in follow_up["content"]
    assert fake_discord.problems == []


async def test_slow_clap_is_a_deferred_update_then_an_edit(slow_discord: Discord, fake_discord: FakeDiscord):
    await slow_discord.adapter.endpoint.drain()
    posted = await slow_discord.send(slow_discord.thanks(BOB))
    await slow_discord.adapter.endpoint.drain()
    thanks = await Thanks.get()
    custom_id = f"kizuna:clap:thanks_id={thanks.id}:en"
    click = slow_discord.click(custom_id, user=CAROL)
    assert (await slow_discord.send(click)) == {"type": wire.DEFERRED_UPDATE_MESSAGE}
    await slow_discord.adapter.endpoint.drain()
    edit = fake_discord.calls("PATCH", click["token"])[0]
    assert "1 clap" in edit.body["embeds"][0]["footer"]["text"]
    assert posted["type"] == wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE and clap_id({"data": edit.body}) == custom_id


async def test_a_modal_cannot_be_deferred_so_a_slow_one_says_try_again(slow_discord: Discord):
    data = {"id": "2", "name": "Send thanks", "type": wire.USER_COMMAND, "target_id": BOB,
            "resolved": slow_discord.resolved(BOB)}
    answer = await slow_discord.send(slow_discord.interaction(wire.APPLICATION_COMMAND, data, locale="ja"))
    assert answer["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE and answer["data"]["flags"] == wire.EPHEMERAL
    assert "もう一度" in answer["data"]["content"]


@pytest.mark.parametrize("command", ["help", "kizuna"])
async def test_private_commands_defer_privately(command: str):
    from adapters.discord.transport import deferral_for

    interaction = {"type": wire.APPLICATION_COMMAND, "data": {"name": command}}
    assert deferral_for(interaction) == {"type": 5, "data": {"flags": wire.EPHEMERAL}}  # type: ignore[arg-type]


def test_a_thanks_that_opens_the_form_is_never_deferred():
    from adapters.discord.transport import deferral_for

    def thanks(*names: str) -> dict:
        options = [{"name": n, "type": 3, "value": "x"} for n in names]
        return {"type": wire.APPLICATION_COMMAND, "data": {"name": "thanks", "options": options}}

    assert deferral_for(thanks()) is None  # a modal cannot follow a deferral
    assert deferral_for(thanks("message")) is None
    assert deferral_for(thanks("user")) is None
    assert deferral_for(thanks("user", "message")) == {"type": wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
