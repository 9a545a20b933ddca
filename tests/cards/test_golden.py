"""Golden files: what each neutral message says, in both languages. KIZUNA_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cards.build import error_message, help_message, leaderboard_message, recipient_notification, thanks_message
from cards.meetings import reminder_message
from cards.model import message_from_dict, message_to_dict
from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core.app.outcomes import ProjectClosing, ProjectShown, ReminderShown
from core.errors import MessageTooLong
from core.meetings.recurrence import Occurrence, Repeat
from core.meetings.service import MeetingView, RsvpSummary
from core.projects.service import ProjectFigures, ProjectMeeting, ProjectView
from core.services.stats import Direction, Leaderboard, LeaderboardEntry, Period
from core.views import MemberRef, ProjectRef, ThanksView, ValueRef

GOLDEN = Path(__file__).parent / "golden"
VIEW = ThanksView(
    id=7, workspace_id=1, sender=MemberRef(1, "alice", "Alice"),
    recipients=(MemberRef(2, "bob", "Bob"), MemberRef(3, "carol", "山田 花子")),
    values=(ValueRef("teamwork", "🙌", "Teamwork", "チームワーク"),),
    message="Thanks for the **release** notes <at>x</at> ${y}", created_at=datetime(2026, 11, 27, 3, 0, tzinfo=UTC),
    clap_count=3,
)
BOARD = Leaderboard(Period.MONTH, Direction.RECEIVED, None, date(2026, 11, 1), (
    LeaderboardEntry(1, 2, "bob", "Bob", "Sales", 1200), LeaderboardEntry(1, 3, "carol", "Carol", None, 1200),
    LeaderboardEntry(3, 4, "dave", "Dave", "営業", 1),
))


STARTS = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
MEETING = MeetingView(
    id=3, workspace_id=1, title="Sales × Eng sync", agenda="What each team shipped", departments=("Sales", "営業"),
    start_local="2026-12-07T10:00", timezone="Asia/Tokyo", rrule="", repeat=Repeat.NONE, until_local=None,
    duration_minutes=90, place="Room 3", channel="general", reminder_offsets=(1440, 15), organiser=None,
    status="active", next_occurrence=Occurrence("2026-12-07T10:00", STARTS, STARTS + timedelta(minutes=90)),
    next_reminder_at=None, skipped=(), external_event_id=None, project=ProjectRef("launch", "Launch 2027"),
)
REMINDER = ReminderShown(MEETING, MEETING.next_occurrence, RsvpSummary(3, "2026-12-07T10:00", (
    MemberRef(2, "bob", "Bob"),), (), ()), over=False)
PROJECT = ProjectView(
    id=4, key="launch", name="Launch 2027", purpose="Ship the **new** app together <at>x</at>",
    departments=("Sales", "開発"), channel="general", start=date(2026, 12, 1), end=date(2027, 3, 31), status="open",
    owner=MemberRef(1, "alice", "Alice"),
    members=(MemberRef(1, "alice", "Alice"), MemberRef(2, "bob", "Bob"), MemberRef(3, "carol", "山田 花子")),
)
FIGURES = ProjectFigures(thanks=5, recipients=7, cross_department=4, departments=("Sales", "開発", "—"),
                         matrix=((1, 3, 0), (2, 0, 0), (0, 1, 0)),
                         values=((ValueRef("teamwork", "🙌", "Teamwork", "チームワーク"), 4),
                                 (ValueRef("growth", "🌱", "Growth", "成長"), 1)),
                         meetings=(ProjectMeeting(3, "Sales × Eng sync", "active", 2),
                                   ProjectMeeting(5, "Retro", "ended", 1)))
NAMES = ["thanks", "notification", "leaderboard", "help", "error", "reminder", "project", "project_closing"]


def messages(locale: str):
    return {
        "thanks": thanks_message(VIEW, locale, "Asia/Tokyo"),
        "notification": recipient_notification(VIEW, locale, "Asia/Tokyo"),
        "leaderboard": leaderboard_message(BOARD, locale),
        "help": help_message("teams", locale),
        "error": error_message(MessageTooLong(max=500, length=612), locale),
        "reminder": reminder_message(REMINDER, locale),
        "project": render_outcome(ProjectShown(PROJECT, FIGURES, "details"), Audience(locale, "Asia/Tokyo", "teams")),
        "project_closing": render_outcome(ProjectClosing(replace(PROJECT, status="closed"), FIGURES),
                                          Audience(locale, "Asia/Tokyo", "teams")),
    }


def matches_golden(path: Path, data: object) -> None:
    if os.environ.get("KIZUNA_UPDATE_GOLDEN"):
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == data


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_message_matches_golden_file(name, locale):
    message = messages(locale)[name]
    data = json.loads(json.dumps({"message": message_to_dict(message), "text": render_text(message).splitlines()}))
    matches_golden(GOLDEN / f"{name}.{locale}.json", data)
    assert message_from_dict(message_to_dict(message)) == message


def test_a_sent_message_still_reads_without_the_moments_added_later():
    # A message written before ``sent_at_utc`` / ``starts_at_utc`` existed reads back with them empty.
    for name in ("thanks", "reminder"):
        data = message_to_dict(messages("en")[name])
        data.pop("sent_at_utc" if name == "thanks" else "starts_at_utc")
        assert message_from_dict(data) == replace(messages("en")[name], **{
            ("sent_at_utc" if name == "thanks" else "starts_at_utc"): ""})


def test_user_text_is_carried_as_is():
    message = thanks_message(VIEW, "en")
    assert message.message == VIEW.message
    assert message.actions[0].data == {"thanks_id": "7"}
