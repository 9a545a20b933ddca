"""After every meeting, in the console: ``kizuna reminders run-due`` prints the prompt once, with the command
that thanks who came; typed in ``kizuna chat``, that command sends the thanks. The switch is a meeting field
of the text grammar (both languages) and of ``kizuna meeting edit``."""

from __future__ import annotations

import io
import sys

import pytest

from adapters.console import ConsoleSession
from cards.text import render_text
from core.meetings.models import Meeting
from core.models import Thanks
from kizuna.cli import main


@pytest.fixture
def kizuna(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIZUNA_DATABASE_URL", f"sqlite://{tmp_path}/k.sqlite3")
    monkeypatch.setenv("KIZUNA_ADAPTERS", "discord")  # not configured: console messages are printed
    monkeypatch.delenv("DISCORD_PUBLIC_KEY", raising=False)

    def run(*argv: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out = io.StringIO()
        code = main(list(argv), out)
        return code, out.getvalue()

    return run


@pytest.mark.sqlite_only
def test_run_due_prints_the_prompt_once_and_its_command_thanks_who_came(kizuna):
    code, _ = kizuna("meeting", "create", "Sales x Eng sync", "--start", "2030-12-02 10:00", "--timezone",
                     "Asia/Tokyo", "--remind", "15m")
    assert code == 0
    for who, answer in (("bob", "yes"), ("carol", "yes"), ("dave", "no")):
        assert kizuna("chat", "--user", who, stdin=f"meeting rsvp 1 2030-12-02 {answer}\n")[0] == 0
    # Ends at 11:00 Tokyo, 02:00 UTC: the dry run says what would be posted.
    code, dry = kizuna("reminders", "run-due", "--now", "2030-12-02T02:00:05Z")
    assert code == 0 and "would post: the after-meeting prompt of meeting #1" in dry
    code, first = kizuna("reminders", "run-due", "--now", "2030-12-02T02:00:05Z", "--force")
    assert code == 0, first
    assert "after-meeting prompts at 2030-12-02T02:00:05+00:00: 1 enqueued (0 late), 0 dropped; delivered 1" in first
    # The console workspace speaks Japanese by default.
    assert "🙌 「Sales x Eng sync」が終わりました。参加した人に感謝を伝えましょう" in first
    assert "参加と回答した人: bob、carol" in first  # console names are what people call themselves
    [hint] = [line for line in first.splitlines() if line.startswith("入力: ")]
    assert hint == "入力: ありがとう @bob @carol メッセージ #バリュー"

    # What it says to type, typed (with a message and a real value), thanks them both.
    typed = hint.removeprefix("入力: ").replace("メッセージ", "デモありがとう").replace("#バリュー", "#チームワーク")
    code, answer = kizuna("chat", "--user", "alice", stdin=typed + "\n")
    assert code == 0 and "@bob, @carol" in answer

    code, second = kizuna("reminders", "run-due", "--now", "2030-12-02T02:01:00Z", "--force")
    assert code == 0 and "after-meeting prompts" not in second and "channel:console" not in second

    code, text = kizuna("meeting", "edit", "1", "--thanks-prompt", "off", "--locale", "en")
    assert code == 0 and "After each meeting: no thanks prompt" in text


async def test_the_switch_in_the_text_grammar_in_both_languages(workspace, alice, bob):
    session = ConsoleSession(workspace, alice, "en")
    text = render_text(await session.handle('meeting create "Sync" start=2030-12-02 10:00 thanks-prompt=off'))
    assert "After each meeting: no thanks prompt" in text
    assert (await Meeting.get()).thanks_prompt is False
    text = render_text(await ConsoleSession(workspace, alice, "ja").handle("会議 編集 1 お礼の呼びかけ=オン"))
    assert "会議の後: 参加した人への感謝を呼びかける" in text
    assert (await Meeting.get()).thanks_prompt is True
    text = render_text(await ConsoleSession(workspace, bob, "en").handle("meeting edit 1 prompt=off"))
    assert "Only the meeting's organiser or an admin" in text and (await Meeting.get()).thanks_prompt is True
    text = render_text(await session.handle("meeting edit 1 thanks-prompt=maybe"))
    assert text == "⚠️ “maybe” is not on or off. Write thanks-prompt=on or thanks-prompt=off."
    ja = render_text(await ConsoleSession(workspace, alice, "ja").handle("会議 編集 1 お礼の呼びかけ=たぶん"))
    assert ja.startswith("⚠️ 「たぶん」はオンかオフではありません")
    assert await Thanks.all().count() == 0
