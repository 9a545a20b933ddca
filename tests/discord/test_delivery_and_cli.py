"""Outbox delivery to Discord channels, and ``kizuna discord register-commands`` against the fake API."""

from __future__ import annotations

import argparse
import io

import pytest

from adapters.contract import AdapterContext, AdapterDisabled, DeliveryFailed, OutgoingMessage
from adapters.discord import DiscordAdapter, create_adapter
from adapters.discord.cli import add_cli
from adapters.discord.commands import BOT_PERMISSIONS, command_definitions, invite_url
from adapters.discord.validate import check_commands
from cards.build import notice_message
from core.config import ConfigurationError, Settings
from core.models import Delivery
from core.services.workspaces import ensure_workspace
from kizuna.worker import OutboxWorker
from tests.discord.kit import APP_ID, BOB, FEED, GUILD, Discord, FakeDiscord


def outgoing(address_key: str = f"channel:{FEED}") -> OutgoingMessage:
    return OutgoingMessage(delivery_id=1, workspace_external_id=GUILD, address_key=address_key, address={},
                           message=notice_message("ja", "notice.settings_saved"), kind="feed")


async def test_every_thanks_is_posted_to_the_feed_channel_by_the_outbox(discord: Discord, fake_discord: FakeDiscord):
    workspace = await ensure_workspace("discord", GUILD)
    workspace.feed_channel = FEED
    await workspace.save()
    await discord.send(discord.thanks(BOB, message="thanks for the on-call @everyone"))
    assert await OutboxWorker([discord.adapter]).drain() == 1
    [post] = fake_discord.calls("POST", f"/channels/{FEED}/messages")
    assert post.headers["Authorization"] == "Bot test-bot-token"
    assert post.body["allowed_mentions"] == {"parse": [], "users": [BOB]}
    assert post.body["components"][0]["components"][0]["custom_id"].startswith("kizuna:clap:")
    assert "flags" not in post.body
    assert fake_discord.problems == []
    assert (await Delivery.get()).status == "delivered"


async def test_delivery_failures_are_permanent_for_403_and_404_and_carry_retry_after(adapter: DiscordAdapter,
                                                                                    fake_discord: FakeDiscord):
    fake_discord.script("POST", f"/channels/{FEED}/messages", (403, {"message": "Missing Access", "code": 50001}, {}),
                        (404, {"message": "Unknown Channel", "code": 10003}, {}),
                        (429, {"message": "slow", "retry_after": 120.0}, {}))
    for _ in range(2):
        with pytest.raises(DeliveryFailed) as caught:
            await adapter.deliver(outgoing())
        assert caught.value.permanent
    with pytest.raises(DeliveryFailed) as caught:
        await adapter.deliver(outgoing())
    assert not caught.value.permanent and caught.value.retry_after == 120.0
    with pytest.raises(DeliveryFailed) as caught:
        await adapter.deliver(outgoing("team:abc"))
    assert caught.value.permanent
    await adapter.close()


async def test_a_member_address_is_a_direct_message(adapter: DiscordAdapter, fake_discord: FakeDiscord):
    await adapter.deliver(outgoing(f"member:{BOB}"))
    dm, message = fake_discord.requests
    assert dm.path == "/users/@me/channels" and dm.body == {"recipient_id": BOB}
    assert message.path.startswith("/channels/") and message.body["content"] == "設定を保存しました。"
    await adapter.close()


def test_the_adapter_is_off_without_a_public_key_and_refuses_a_malformed_one():
    with pytest.raises(AdapterDisabled, match="DISCORD_PUBLIC_KEY is not set"):
        create_adapter(AdapterContext(settings=Settings()))
    with pytest.raises(ConfigurationError, match="64 hexadecimal"):
        create_adapter(AdapterContext(settings=Settings(environ={"DISCORD_PUBLIC_KEY": "abc"})))


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kizuna")
    add_cli(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.parametrize(("argv", "path"), [
    ((), f"/applications/{APP_ID}/commands"),
    (("--guild", "4242"), f"/applications/{APP_ID}/guilds/4242/commands"),
])
async def test_register_commands_bulk_overwrites_with_localisations(settings: Settings, fake_discord: FakeDiscord,
                                                                   argv, path):
    args = parse("discord", "register-commands", *argv)
    out = io.StringIO()
    assert await args.handler(settings, args, out) == 0
    [put] = fake_discord.calls("PUT")
    assert put.path == path and put.headers["Authorization"] == "Bot test-bot-token"
    assert fake_discord.problems == []
    commands = {c["name"]: c for c in put.body}
    assert set(commands) == {"thanks", "leaderboard", "values", "help", "kizuna", "meeting", "mixer", "Send thanks",
                             "recap", "project", "dashboard"}
    meeting = commands["meeting"]
    assert meeting["name_localizations"]["ja"] == "ミーティング"
    assert [o["name"] for o in meeting["options"]] == ["create", "list", "skip", "edit", "cancel", "rsvps"]
    repeat = next(o for o in meeting["options"][0]["options"] if o["name"] == "repeat")
    assert [c["value"] for c in repeat["choices"]] == ["none", "weekly", "biweekly", "monthly", "monthly-nth-weekday"]
    assert repeat["choices"][2]["name_localizations"]["ja"] == "隔週"
    thanks = commands["thanks"]
    assert thanks["name_localizations"]["ja"] == "ありがとう"
    assert thanks["description_localizations"]["en-US"] == thanks["description"]
    assert [o["name"] for o in thanks["options"]] == ["user", "message", "value", "user2", "user3", "project"]
    assert thanks["options"][2]["autocomplete"] is True and thanks["options"][5]["autocomplete"] is True
    project = commands["project"]
    assert project["name_localizations"]["ja"] == "プロジェクト"
    assert [o["name"] for o in project["options"]] == ["create", "list", "show", "edit", "add", "remove", "join",
                                                        "close", "reopen"]
    assert commands["kizuna"]["default_member_permissions"] == "32"  # Manage Server, a string as the docs say
    assert commands["Send thanks"]["type"] == 2 and commands["Send thanks"]["name_localizations"]["ja"] == "感謝を送る"
    text = out.getvalue()
    assert invite_url(APP_ID) in text
    assert f"permissions={BOT_PERMISSIONS}" in text and "scope=bot+applications.commands" in text


def test_the_invite_asks_for_exactly_view_send_embed_and_create_events():
    assert BOT_PERMISSIONS == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 44) | (1 << 36) | (1 << 38)


def test_command_definitions_respect_discords_rules():
    assert check_commands(command_definitions()) == []


async def test_register_commands_explains_missing_settings_and_refusals(settings: Settings,
                                                                       fake_discord: FakeDiscord):
    from dataclasses import replace

    args = parse("discord", "register-commands")
    with pytest.raises(ConfigurationError, match="DISCORD_BOT_TOKEN"):
        await args.handler(replace(settings, environ={**settings.environ, "DISCORD_BOT_TOKEN": ""}), args,
                           io.StringIO())
    fake_discord.script("PUT", "/commands", (401, {"message": "401: Unauthorized", "code": 0}, {}))
    with pytest.raises(ConfigurationError, match="check DISCORD_BOT_TOKEN"):
        await args.handler(settings, args, io.StringIO())


def test_the_kizuna_command_line_has_the_discord_commands():
    from kizuna.cli import build_parser

    args = build_parser().parse_args(["discord", "register-commands", "--guild", "1"])
    assert args.guild == "1" and callable(args.handler)
