"""The REST client against the fake Discord API: buckets, 429s, the global limit, 5xx, invalid-request counts."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.discord.rest import DiscordHTTPError, InvalidRequestBudgetExceeded, RestClient
from tests.discord.kit import FakeDiscord

MESSAGE = {"content": "hi", "allowed_mentions": {"parse": []}}


@pytest.fixture
async def rest(fake_discord: FakeDiscord):
    client = RestClient(fake_discord.url, "test-bot-token", backoff=0.01)
    yield client
    await client.close()


async def test_a_429_with_retry_after_is_waited_out_and_retried(rest: RestClient, fake_discord: FakeDiscord):
    fake_discord.script("POST", "/channels/1/messages", (429, {"message": "You are being rate limited.",
                                                                "retry_after": 0.3, "global": False},
                                                          {"X-RateLimit-Bucket": "b-msg", "X-RateLimit-Scope": "user",
                                                           "Via": "1.1 google"}))
    started = time.monotonic()
    answer = await rest.create_message("1", MESSAGE)
    assert time.monotonic() - started >= 0.3
    assert answer["content"] == "hi"
    first, second = fake_discord.calls("POST")
    assert second.at - first.at >= 0.29
    assert first.headers["Authorization"] == "Bot test-bot-token"
    assert rest.stats.invalid == {401: 0, 403: 0, 429: 1}
    assert rest.stats.rate_limited_waits == 1 and rest.invalid_recently() == 1


async def test_retry_after_header_is_honoured_too(rest: RestClient, fake_discord: FakeDiscord):
    fake_discord.script("POST", "/channels/1/messages", (429, {"message": "slow down"}, {"Retry-After": "0.2"}))
    started = time.monotonic()
    await rest.create_message("1", MESSAGE)
    assert time.monotonic() - started >= 0.2


async def test_an_exhausted_bucket_waits_for_its_reset_but_other_channels_do_not(rest: RestClient,
                                                                                 fake_discord: FakeDiscord):
    headers = {"X-RateLimit-Bucket": "b-msg", "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset-After": "0.3"}
    fake_discord.script("POST", "/channels/1/messages", (200, {"id": "1"}, headers))
    await rest.create_message("1", MESSAGE)
    started = time.monotonic()
    await rest.create_message("2", MESSAGE)
    assert time.monotonic() - started < 0.2
    await rest.create_message("1", MESSAGE)
    assert time.monotonic() - started >= 0.28
    assert rest.stats.statuses[429] == 0


async def test_a_global_429_pauses_every_route(rest: RestClient, fake_discord: FakeDiscord):
    fake_discord.script("POST", "/channels/1/messages",
                        (429, {"message": "global", "retry_after": 0.3, "global": True},
                         {"X-RateLimit-Global": "true"}))
    started = time.monotonic()
    await asyncio.gather(rest.create_message("1", MESSAGE), asyncio.sleep(0.05))
    other = time.monotonic()
    await rest.create_message("9", MESSAGE)
    assert other - started >= 0.3
    times = [r.at for r in fake_discord.requests]
    assert times[1] - times[0] >= 0.29


async def test_at_most_the_global_rate_per_second(fake_discord: FakeDiscord):
    client = RestClient(fake_discord.url, "t", global_rate=4)
    try:
        started = time.monotonic()
        await asyncio.gather(*(client.create_message(str(i), MESSAGE) for i in range(6)))
        assert time.monotonic() - started >= 0.9
        # Interaction webhooks are exempt from the global limit.
        started = time.monotonic()
        await asyncio.gather(*(client.create_followup("7", f"tok{i}", MESSAGE) for i in range(6)))
        assert time.monotonic() - started < 0.5
    finally:
        await client.close()


async def test_server_errors_are_retried_with_backoff(rest: RestClient, fake_discord: FakeDiscord):
    fake_discord.script("POST", "/channels/1/messages", (502, {"message": "bad gateway"}, {}),
                        (503, {"message": "unavailable"}, {}))
    assert (await rest.create_message("1", MESSAGE))["content"] == "hi"
    assert len(fake_discord.requests) == 3 and rest.stats.server_error_retries == 2
    fake_discord.script("POST", "/channels/2/messages", *[(500, {"message": "boom"}, {})] * 5)
    with pytest.raises(DiscordHTTPError) as caught:
        await rest.create_message("2", MESSAGE)
    assert caught.value.status == 500


async def test_403_is_raised_and_counted_and_too_many_stop_the_client(fake_discord: FakeDiscord):
    client = RestClient(fake_discord.url, "t", invalid_budget=3)
    try:
        fake_discord.script("POST", "/channels/1/messages",
                            *[(403, {"message": "Missing Access", "code": 50001}, {})] * 3)
        for _ in range(3):
            with pytest.raises(DiscordHTTPError) as caught:
                await client.create_message("1", MESSAGE)
            assert caught.value.status == 403 and caught.value.code == 50001
        assert client.stats.invalid[403] == 3
        sent = len(fake_discord.requests)
        with pytest.raises(InvalidRequestBudgetExceeded):
            await client.create_message("2", MESSAGE)
        assert len(fake_discord.requests) == sent
    finally:
        await client.close()


async def test_a_wait_longer_than_allowed_is_raised_with_its_retry_after(fake_discord: FakeDiscord):
    client = RestClient(fake_discord.url, "t", max_wait=1.0)
    try:
        fake_discord.script("POST", "/channels/1/messages", (429, {"message": "slow", "retry_after": 30.0}, {}))
        with pytest.raises(DiscordHTTPError) as caught:
            await client.create_message("1", MESSAGE)
        assert caught.value.status == 429 and caught.value.retry_after == 30.0
    finally:
        await client.close()


async def test_audit_log_reason_and_scheduled_events(rest: RestClient, fake_discord: FakeDiscord):
    event = {"name": "情報交換会", "privacy_level": 2, "entity_type": 3, "channel_id": None,
             "scheduled_start_time": "2026-12-07T01:00:00+00:00", "scheduled_end_time": "2026-12-07T02:00:00+00:00",
             "entity_metadata": {"location": "本社 3F"}}
    await rest.create_scheduled_event("42", event, reason="Kizuna: 部署間ミーティング")
    [call] = fake_discord.calls("POST", "/guilds/42/scheduled-events")
    assert call.body == event
    assert call.headers["X-Audit-Log-Reason"].startswith("Kizuna")


async def test_connection_refused_is_a_discord_http_error():
    client = RestClient("http://127.0.0.1:9/api/v10", "t", max_attempts=2, backoff=0.01)
    try:
        with pytest.raises(DiscordHTTPError) as caught:
            await client.create_message("1", MESSAGE)
        assert caught.value.status == 0
    finally:
        await client.close()
