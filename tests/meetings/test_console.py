"""``meeting …`` typed in the console, in English and Japanese."""

from __future__ import annotations

from adapters.console import ConsoleSession
from cards.text import render_text
from core.app import commands as c
from core.app.grammar import parse
from core.meetings.models import Meeting, Rsvp
from core.models import Member, Workspace


def test_values_with_spaces_run_until_the_next_key():
    command = parse('meeting create "Sales x Eng" start=2026-12-07 10:00 remind=1d,15m place=Room 3')
    assert command == c.CreateMeeting(c.MeetingFields(title="Sales x Eng", start="2026-12-07 10:00", remind="1d,15m",
                                                      place="Room 3"))
    command = parse("ミーティング 作成 「営業×開発 定例」 開始＝2026-12-07 10:00 繰り返し=毎月第n曜日")
    assert isinstance(command, c.CreateMeeting)
    assert command.fields.title == "営業×開発 定例" and command.fields.repeat == "毎月第n曜日"


async def handle_meeting_command(workspace: Workspace, member: Member, rest: str, locale: str):
    """``meeting <rest>`` typed by ``member`` in the console."""
    session = ConsoleSession(workspace, member, locale)
    word = "ミーティング" if locale == "ja" else "meeting"
    return await session.handle(f"{word} {rest}")


async def test_create_rsvp_and_list_in_the_console(workspace, alice, bob, departments):
    line = ('create "Sales x Eng sync" start=2030-12-02 10:00 repeat=monthly-nth-weekday remind=1d,15m '
            'departments=Sales,Engineering')
    text = render_text(await handle_meeting_command(workspace, alice, line, "en"))
    assert "Meeting #1 “Sales x Eng sync” is scheduled" in text and "Sales × Engineering" in text
    meeting = await Meeting.get()
    assert meeting.channel == "console" and meeting.organiser_id == alice.id
    text = render_text(await handle_meeting_command(workspace, bob, "出欠 1 2030-12-02 参加", "ja"))
    assert "参加 1" in text
    assert (await Rsvp.get()).answer == "yes"
    text = render_text(await handle_meeting_command(workspace, bob, "skip 1 2030-12-02", "en"))
    assert "Only the meeting's organiser or an admin" in text
    text = render_text(await handle_meeting_command(workspace, alice, "一覧", "ja"))
    assert "毎月第1月曜日" in text
    # Who answered what, by name, is for the organiser (or an admin) only.
    assert "Going: Bob" in render_text(await handle_meeting_command(workspace, alice, "who 1 2030-12-02", "en"))
    refused = render_text(await handle_meeting_command(workspace, bob, "who 1 2030-12-02", "en"))
    assert "Only the meeting's organiser or an admin" in refused and "Going: Bob" not in refused


async def test_mistakes_get_a_polite_answer(workspace, alice):
    for line, expected in [("frobnicate", "Usage: meeting [list"), ("create x", "start="), ("skip", "meeting skip ID"),
                           ('create "X" start=tomorrow', "2026-12-07 10:00"), ("show 42", "#42"),
                           ("create X start=2030-12-02 10:00 colour=red", "colour=")]:
        text = render_text(await handle_meeting_command(workspace, alice, line, "en"))
        assert text.startswith("⚠️") and expected in text, (line, text)
    help_text = render_text(await handle_meeting_command(workspace, alice, "ヘルプ", "ja"))
    assert "ミーティング 作成 「タイトル」 開始=" in help_text and "繰り返し=" in help_text
