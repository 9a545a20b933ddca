"""The console adapter: the Teams words in a terminal, with @name for a person."""

from __future__ import annotations

from adapters.console import ConsoleSession
from cards.text import render_text
from core.i18n import format_datetime
from core.models import Clap, Thanks


async def test_thanks_clap_and_unclap_in_both_languages(db):
    alice = await ConsoleSession.open("demo", "alice", "en")
    bob = await ConsoleSession.open("demo", "bob", "ja")
    carol = await ConsoleSession.open("demo", "carol", "en")
    posted = render_text(await alice.handle("thanks @bob for the demo #teamwork"))
    number = (await Thanks.get()).id
    assert f"#{number}" in posted and "0 claps" in posted
    # A terminal shows the workspace's time, and says which zone that is.
    sent = format_datetime((await Thanks.get()).created_at, "en", "Asia/Tokyo")
    assert f"0 claps · {sent} (Asia/Tokyo) · #{number}" in posted
    assert "1 clap" in render_text(await carol.handle(f"clap {number}"))
    assert "already clapped" in render_text(await carol.handle(f"clap #{number}"))
    assert "拍手はできません" in render_text(await bob.handle(f"拍手 {number}"))
    assert "0 claps" in render_text(await carol.handle(f"unclap {number}"))
    assert await Clap.all().count() == 0
    assert "Usage: clap NUMBER" in render_text(await carol.handle("clap soon"))
    assert "Usage: clap NUMBER" in render_text(await carol.handle("clap"))
    assert "no longer exists" in render_text(await carol.handle("clap 999"))


async def test_notifications_switch_and_help_in_japanese(db):
    session = await ConsoleSession.open("demo", "alice", "ja")
    assert "停止" in render_text(await session.handle("通知 オフ"))
    assert session.member.notifications_enabled is False
    help_text = render_text(await session.handle("ヘルプ"))
    assert "ありがとう @名前" in help_text and "拍手" in help_text


async def test_setup_checklist_speaks_the_console_s_own_words(db):
    session = await ConsoleSession.open("demo", "alice", "ja")
    text = render_text(await session.handle("セットアップ"))
    assert "⬜ フィードチャンネル" in text and "フィード ここ" in text
    assert "⬜ 最初のミーティング" in text and "ミーティング 作成 「タイトル」 開始=" in text and "[" not in text
    english = await ConsoleSession.open("demo", "alice", "en")
    assert "Steps left: 3 of 4" in render_text(await english.handle("setup"))
