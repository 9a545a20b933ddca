"""/dashboard from Discord: the sign-in link, answered so that only the person sees it."""

from __future__ import annotations

from dataclasses import replace

from adapters.discord import DiscordAdapter, wire
from core.dashboard.access import peek_link
from core.dashboard.models import DashboardLink
from core.models import Member
from tests.discord.kit import BOB, Discord, serve


async def test_dashboard_answers_ephemerally_with_a_link_for_the_caller(db, settings, signing_key):
    https = replace(settings, public_url="https://kizuna.example.com")
    async with serve(https, DiscordAdapter(https), signing_key) as discord:
        await _asks(discord)


async def test_a_local_http_link_is_in_the_text(discord: Discord):
    answer = await discord.send(discord.command("dashboard", user=BOB))
    data = answer["data"]
    assert data["flags"] == wire.EPHEMERAL and "components" not in data
    url = data["content"].rsplit("<", 1)[1].rstrip(">")
    assert url.startswith("http://127.0.0.1:") and (await peek_link(url.rsplit("/", 1)[1])).state == "valid"


async def _asks(discord: Discord) -> None:
    answer = await discord.send(discord.command("dashboard", user=BOB, locale="ja"))
    data = answer["data"]
    assert data["flags"] == wire.EPHEMERAL
    assert "/dashboard/signin/" not in data["content"]  # escaped text would not be a working link
    [[button]] = [row["components"] for row in data["components"]]
    assert button["style"] == wire.BUTTON_LINK and button["label"] == "ダッシュボードを開く"
    url = button["url"]
    assert url.startswith("https://kizuna.example.com/dashboard/signin/")
    assert (await peek_link(url.rsplit("/", 1)[1])).state == "valid"
    link = await DashboardLink.get()
    assert link.member_id == (await Member.get(platform_user_id=BOB)).id and link.locale == "ja"
