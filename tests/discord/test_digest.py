"""The digest and the recap reach Discord through the outbox: an embed in the feed channel, a DM for the recap,
each valid against Discord's OpenAPI document (the fake checks every call) and pinging nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.discord import validate, wire
from core import digest_scheduler
from core.config import Settings
from core.models import Workspace
from kizuna.worker import OutboxWorker
from tests.discord.kit import ALICE, BOB, FEED, GUILD, Discord, FakeDiscord


async def test_the_digest_is_an_embed_in_the_feed_channel_in_the_workspace_language(discord: Discord,
                                                                                   fake_discord: FakeDiscord):
    await discord.send(discord.admin("feed-channel", [{"name": "channel", "type": wire.OPT_CHANNEL, "value": FEED}]))
    answer = await discord.send(discord.admin("digest", [
        {"name": "schedule", "type": wire.OPT_STRING, "value": "weekly"}], locale="ja"))
    assert "毎週月曜" in answer["data"]["content"]
    refused = await discord.send(discord.admin("digest", [
        {"name": "schedule", "type": wire.OPT_STRING, "value": "monthly"}], admin=False, user=BOB, locale="en"))
    assert "Only an admin" in str(refused)
    await discord.send(discord.thanks(BOB, message="for the on-call <@1003> @everyone", user=ALICE))
    await OutboxWorker([discord.adapter]).drain()  # the thanks' own feed post
    workspace = await Workspace.get(platform="discord", external_id=GUILD)
    due = workspace.next_digest_at
    assert due is not None and due > datetime.now(UTC)
    # A pass at the due moment (in the future: a test of the clock).
    result = await digest_scheduler.run_due(due + timedelta(seconds=5))
    assert result.sent == 1 and not result.late
    # The worker as the server builds it: KIZUNA_PUBLIC_URL reaches the digest's line to the dashboard.
    settings = Settings(public_url="https://kizuna.example.com/")
    assert await OutboxWorker.from_settings([discord.adapter], settings).drain() == 1
    post = fake_discord.calls("POST", f"/channels/{FEED}/messages")[-1]
    body = post.body
    assert validate.check_message(body) == [] and fake_discord.problems == []
    embed = body["embeds"][0]
    assert embed["title"].startswith("📬 週間感謝ダイジェスト")  # the workspace's language (ja by default)
    assert body["allowed_mentions"] == {"parse": [], "users": []}  # names are shown, nobody is pinged
    assert "components" not in body
    assert embed["fields"][-1]["value"] == "[📊 ダッシュボード](https://kizuna.example.com/dashboard)"


async def test_a_recap_is_a_private_message_to_the_member_who_asked(discord: Discord, fake_discord: FakeDiscord):
    answer = await discord.send(discord.command("recap", [{"name": "switch", "type": wire.OPT_STRING, "value": "on"}],
                                                user=ALICE, locale="en"))
    assert "personal recap" in answer["data"]["content"] and answer["data"]["flags"] == wire.EPHEMERAL
    workspace = await Workspace.get(platform="discord", external_id=GUILD)
    assert workspace.next_recap_at is not None
    result = await digest_scheduler.run_due(workspace.next_recap_at + timedelta(seconds=5))
    assert result.recaps == 1
    settings = Settings(public_url="https://kizuna.example.com")
    assert await OutboxWorker.from_settings([discord.adapter], settings).drain() == 1
    [dm] = fake_discord.calls("POST", "/users/@me/channels")
    assert dm.body["recipient_id"] == ALICE
    [post] = [c for c in fake_discord.calls("POST") if c.path.endswith("/messages")]
    assert validate.check_message(post.body) == [] and fake_discord.problems == []
    assert post.body["embeds"][0]["title"].startswith("📬 Your month in thanks")  # the member's language
    assert post.body["embeds"][0]["fields"][-1]["value"] == "[📊 The dashboard](https://kizuna.example.com/dashboard)"
    assert post.body["allowed_mentions"] == {"parse": [], "users": []}
