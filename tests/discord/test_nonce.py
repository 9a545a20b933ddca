"""Every message Kizuna posts on its own carries its delivery's nonce, so a repeat after a crash is one message."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from adapters.discord import DiscordAdapter, validate
from adapters.discord.rest import RestClient
from core import outbox
from core.models import Delivery
from core.services.workspaces import ensure_workspace
from kizuna.worker import OutboxWorker
from tests.discord.kit import BOB, FEED, Discord, FakeDiscord

NOTICE = {"type": "message", "message": {"kind": "notice", "locale": "en", "text": "hello", "title": ""}}


async def _feed_channel() -> None:
    workspace = await ensure_workspace("discord", "900000000000000001")
    workspace.feed_channel = FEED
    await workspace.save()


async def test_every_outbox_create_carries_its_deliverys_nonce_on_every_attempt(discord: Discord,
                                                                                 fake_discord: FakeDiscord):
    await _feed_channel()
    await discord.send(discord.thanks(BOB, message="thanks for the on-call"))
    # The first feed post is refused for longer than the client waits: the outbox tries again later.
    fake_discord.script("POST", f"/channels/{FEED}/messages", (429, {"message": "slow", "retry_after": 90.0}, {}))
    worker = OutboxWorker([discord.adapter])
    await worker.drain()
    feed = await Delivery.get(kind="feed")
    assert feed.status == outbox.PENDING and feed.attempts == 1
    await Delivery.filter(id=feed.id).update(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    await worker.drain()
    first, second = fake_discord.calls("POST", f"/channels/{FEED}/messages")
    key = outbox.idempotency_key(await Delivery.get(id=feed.id))
    assert first.body["nonce"] == second.body["nonce"] == key and len(key) <= 25
    assert first.body["enforce_nonce"] is True and second.body["enforce_nonce"] is True
    # A direct message has its own.
    await outbox.enqueue(feed.workspace_id, "discord", f"member:{BOB}", "notification", NOTICE)
    await worker.drain()
    [dm] = [c for c in fake_discord.calls("POST", "/messages") if not c.path.startswith(f"/channels/{FEED}/")]
    assert dm.body["enforce_nonce"] is True and dm.body["nonce"] not in (key, None)
    assert fake_discord.problems == []
    assert await Delivery.filter(status=outbox.DELIVERED).count() == 2


async def test_a_create_sent_again_after_a_crash_is_one_message_on_discord(db, adapter: DiscordAdapter,
                                                                           fake_discord: FakeDiscord, caplog):
    await _feed_channel()
    workspace = await ensure_workspace("discord", "900000000000000001")
    await outbox.enqueue(workspace, "discord", f"channel:{FEED}", "feed", NOTICE)
    lease = timedelta(seconds=1)
    # The first worker's create reaches Discord, then the worker dies before it hears back.
    fake_discord.delay = 30.0
    dying = asyncio.create_task(OutboxWorker([adapter], worker_id="dying", lease=lease).run_once())
    for _ in range(500):
        if fake_discord.in_flight[""]:
            break
        await asyncio.sleep(0.01)
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    assert (await Delivery.get()).claimed_by == "dying"
    fake_discord.delay = 0.0
    # Another worker finds the claim in flight, waits for its lease to run out, takes it over.
    caplog.set_level(logging.WARNING, "kizuna.outbox")
    started = asyncio.get_running_loop().time()
    assert await OutboxWorker([adapter], worker_id="survivor", lease=lease).drain() == 1
    assert asyncio.get_running_loop().time() - started < 5
    creates = fake_discord.calls("POST", f"/channels/{FEED}/messages")
    assert len(creates) == 2 and creates[0].body["nonce"] == creates[1].body["nonce"]
    assert len(fake_discord.made(FEED)) == 1 and fake_discord.deduplicated == 1
    row = await Delivery.get()
    assert (row.status, row.claimed_by, row.attempts) == (outbox.DELIVERED, "survivor", 1)
    assert "the claim of dying ran out" in caplog.text
    await adapter.close()


async def test_the_fake_api_deduplicates_like_discord(fake_discord: FakeDiscord):
    rest = RestClient(fake_discord.url, "test-bot-token")
    other_bot = RestClient(fake_discord.url, "another-bot-token")
    message = {"content": "hi", "allowed_mentions": {"parse": []}}
    try:
        first = await rest.create_message(FEED, message, nonce="kz1")
        again = await rest.create_message(FEED, message, nonce="kz1")
        assert again["id"] == first["id"]
        assert (await rest.create_message("555000000000000009", message, nonce="kz1"))["id"] != first["id"]
        assert (await other_bot.create_message(FEED, message, nonce="kz1"))["id"] != first["id"]
        assert (await rest.create_message(FEED, message))["id"] != first["id"]  # no nonce: a new message
        fake_discord.nonce_window = 0.0  # the window has passed
        assert (await rest.create_message(FEED, message, nonce="kz1"))["id"] != first["id"]
        assert len(fake_discord.messages) == 5 and fake_discord.deduplicated == 1
        with pytest.raises(ValueError, match="1 to 25 characters"):
            await rest.create_message(FEED, message, nonce="k" * 26)
    finally:
        await rest.close()
        await other_bot.close()


def test_the_validator_knows_the_nonce_rules():
    message = {"content": "hi", "allowed_mentions": {"parse": []}}
    assert validate.check_message({**message, "nonce": "kz1", "enforce_nonce": True}) == []
    assert validate.check_message({**message, "nonce": "k" * 26})
    assert validate.check_message({**message, "enforce_nonce": True})


async def test_keys_are_stable_per_delivery_and_distinct_between_them(db):
    workspace = await ensure_workspace("discord", "900000000000000001")
    made = [await outbox.enqueue(workspace, "discord", f"channel:{FEED}", "feed", {"type": "message"},
                                 dedupe_key=f"k{n}") for n in range(50)]
    keys = {outbox.idempotency_key(await Delivery.get(id=d.id)) for d in made if d is not None}
    assert len(keys) == 50 and all(len(k) <= 25 for k in keys)
    again = {outbox.idempotency_key(d) for d in await Delivery.all()}
    assert again == keys
