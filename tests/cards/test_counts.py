"""Counts and lengths of time on cards read naturally in both languages: ``1 clap``, ``1時間30分``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from cards.build import leaderboard_message, thanks_message
from cards.meetings import meeting_details_message, occurrence_text
from cards.text import render_text
from core.meetings.recurrence import Occurrence, Repeat
from core.meetings.service import MeetingView
from core.services.stats import Direction, Leaderboard, LeaderboardEntry, Period
from core.views import MemberRef, ThanksView

VIEW = ThanksView(id=7, workspace_id=1, sender=MemberRef(1, "alice", "Alice"), recipients=(MemberRef(2, "bob", "Bob"),),
                  values=(), message="Thanks!", created_at=datetime(2026, 11, 27, 3, 0, tzinfo=UTC), clap_count=1)
STARTS = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
MEETING = MeetingView(
    id=3, workspace_id=1, title="Sync", agenda="", departments=(), start_local="2026-12-07T10:00",
    timezone="Asia/Tokyo", rrule="", repeat=Repeat.NONE, until_local=None, duration_minutes=90, place="",
    channel="general", reminder_offsets=(1440, 15), organiser=None, status="active",
    next_occurrence=Occurrence("2026-12-07T10:00", STARTS, STARTS.replace(hour=2, minute=30)),
    next_reminder_at=None, skipped=(), external_event_id=None,
)


@pytest.mark.parametrize(("claps", "english"), [(0, "0 claps"), (1, "1 clap"), (2, "2 claps")])
def test_claps_are_counted_in_words(claps, english):
    assert thanks_message(replace(VIEW, clap_count=claps), "en").clap_text == english
    assert thanks_message(replace(VIEW, clap_count=claps), "ja").clap_text == f"拍手 {claps}"


def test_one_thank_you_on_the_leaderboard():
    board = Leaderboard(Period.MONTH, Direction.RECEIVED, None, date(2026, 11, 1), (
        LeaderboardEntry(1, 2, "bob", "Bob", None, 2), LeaderboardEntry(2, 3, "carol", "Carol", None, 1)))
    assert [r.count_text for r in leaderboard_message(board, "en").rows] == ["2 thanks", "1 thank-you"]
    assert [r.count_text for r in leaderboard_message(board, "ja").rows] == ["2 件", "1 件"]


def test_a_meeting_card_tells_its_length_and_reminders_in_japanese():
    text = render_text(meeting_details_message(MEETING, "ja"))
    assert "（1時間30分、Asia/Tokyo）" in text
    assert "リマインダー: 1日、15分前に general へ" in text
    assert "1h" not in text and "1d" not in text


def test_a_meeting_card_tells_its_length_and_reminders_in_english():
    text = render_text(meeting_details_message(MEETING, "en"))
    assert "(1 hour 30 minutes, Asia/Tokyo)" in text
    assert "Reminders 1 day and 15 minutes before, in general" in text


def test_an_hour_long_occurrence():
    occurrence = Occurrence("2026-12-07T10:00", STARTS, STARTS.replace(hour=2))
    assert occurrence_text(occurrence, "Asia/Tokyo", "ja").endswith("（1時間、Asia/Tokyo）")
    assert occurrence_text(occurrence, "Asia/Tokyo", "en").endswith("(1 hour, Asia/Tokyo)")
