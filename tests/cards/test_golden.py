"""Golden files: what each neutral message says, in both languages. KIZUNA_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cards.build import error_message, help_message, leaderboard_message, recipient_notification, thanks_message
from cards.model import message_from_dict, message_to_dict
from cards.text import render_text
from core.errors import MessageTooLong
from core.services.stats import Direction, Leaderboard, LeaderboardEntry, Period
from core.views import MemberRef, ThanksView, ValueRef

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


def messages(locale: str):
    return {
        "thanks": thanks_message(VIEW, locale, "Asia/Tokyo"),
        "notification": recipient_notification(VIEW, locale, "Asia/Tokyo"),
        "leaderboard": leaderboard_message(BOARD, locale),
        "help": help_message("teams", locale),
        "error": error_message(MessageTooLong(max=500, length=612), locale),
    }


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", ["thanks", "notification", "leaderboard", "help", "error"])
def test_message_matches_golden_file(name, locale):
    message = messages(locale)[name]
    data = json.loads(json.dumps({"message": message_to_dict(message), "text": render_text(message).splitlines()}))
    path = GOLDEN / f"{name}.{locale}.json"
    if os.environ.get("KIZUNA_UPDATE_GOLDEN"):
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert message_from_dict(message_to_dict(message)) == message


def test_user_text_is_carried_as_is():
    message = thanks_message(VIEW, "en")
    assert message.message == VIEW.message
    assert message.actions[0].data == {"thanks_id": "7"}
