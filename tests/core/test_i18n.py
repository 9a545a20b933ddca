"""Both catalogs hold every message, with the same placeholders; locale resolution; tags and formats."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core import errors
from core.app.grammar import PHRASES
from core.i18n import (
    catalog,
    fold,
    format_date,
    format_datetime,
    format_duration,
    format_durations,
    format_number,
    resolve_locale,
    translate,
)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_ids_and_placeholders():
    en, ja = catalog("en"), catalog("ja")
    assert en.keys() == ja.keys()
    for key in en:
        forms = {frozenset(placeholders(text)) for text in (*en[key], *ja[key])}
        assert len(forms) == 1, key  # every form of both languages fills in the same placeholders


def test_a_message_that_counts_has_plural_forms_in_both_catalogs():
    en, ja = catalog("en"), catalog("ja")
    counting = {key for key in en if len(en[key]) > 1}
    assert {"leaderboard.count", "thanks.claps", "error.daily_limit", "duration.minutes",
            "departments.line"} <= counting
    for key in counting:
        assert len(en[key]) == 2 and len(ja[key]) == 1, key  # English: one/other; Japanese: one form
        assert translate("ja", key, count=1, limit=1, name="x")


def test_every_message_id_used_in_code_exists():
    root = Path(__file__).parents[2]
    used: set[str] = set()
    for path in [*root.glob("core/**/*.py"), *root.glob("cards/**/*.py"), *root.glob("adapters/**/*.py")]:
        if path.name == "grammar.py":
            continue  # its strings are command keys; tests/core/test_grammar.py checks their messages
        used |= set(re.findall(r'"((?:error|notice|thanks|leaderboard|values|help|period|duration|setup)\.[a-z_.]+)"',
                               path.read_text(encoding="utf-8")))
    # Cards name commands by their grammar key (``usage("values.add", …)``); those are not message ids.
    commands = {p.key for phrase in PHRASES for p in (phrase, *phrase.subphrases)}
    missing = {m for m in used if m not in catalog("en") and m not in commands and not m.endswith(".")}
    assert not missing


def test_every_error_class_has_a_message():
    import core.meetings.errors  # noqa: F401  (its errors are KizunaErrors too)

    def every(cls: type[errors.KizunaError]) -> list[type[errors.KizunaError]]:
        return [sub for direct in cls.__subclasses__() for sub in (direct, *every(direct))]

    assert {"NameTooLong", "UnreadableDuration", "NotAnEmoji"} <= {cls.__name__ for cls in every(errors.KizunaError)}
    for cls in every(errors.KizunaError):
        assert cls.message_id in catalog("en") and cls.message_id in catalog("ja"), cls.__name__


@pytest.mark.parametrize(("member", "workspace", "expected"), [
    ("en-US", "ja", "en"), ("ja-JP", "en", "ja"), ("fr-FR", "en", "en"), (None, "en", "en"), (None, None, "ja"),
    ("EN_gb", "ja", "en"),
])
def test_member_locale_wins_then_workspace(member, workspace, expected):
    assert resolve_locale(member, workspace) == expected


def test_numbers_and_dates_follow_the_locale():
    assert translate("en", "leaderboard.count", count=1234) == "1,234 thanks"
    assert format_number(1234567, "ja") == "1,234,567"
    assert format_date(date(2026, 11, 27), "ja") == "2026/11/27"
    assert format_date(date(2026, 11, 27), "en") == "Nov 27, 2026"
    moment = datetime(2026, 11, 27, 3, 5, tzinfo=UTC)
    assert format_datetime(moment, "ja", "Asia/Tokyo") == "2026年11月27日(金) 12:05"
    assert format_datetime(moment, "en", "America/New_York") == "Thu, Nov 26, 2026 10:05 PM"


@pytest.mark.parametrize(("count", "english", "japanese"), [
    (0, "0 thanks", "0 件"), (1, "1 thank-you", "1 件"), (2, "2 thanks", "2 件"), (1234, "1,234 thanks", "1,234 件"),
])
def test_a_count_agrees_with_its_number(count, english, japanese):
    assert translate("en", "leaderboard.count", count=count) == english
    assert translate("ja", "leaderboard.count", count=count) == japanese


def test_claps_and_the_daily_limit_agree_with_their_number():
    assert [translate("en", "thanks.claps", count=n) for n in (0, 1, 2)] == ["0 claps", "1 clap", "2 claps"]
    assert "sent 1 thank-you today" in errors.DailyLimitReached(limit=1).localized("en")
    assert "sent 3 thanks today" in errors.DailyLimitReached(limit=3).localized("en")
    assert "1件の感謝" in errors.DailyLimitReached(limit=1).localized("ja")


def test_a_message_that_counts_needs_its_count():
    with pytest.raises(TypeError, match="count"):
        translate("en", "leaderboard.count")


@pytest.mark.parametrize(("minutes", "english", "japanese"), [
    (0, "0 minutes", "0分"), (1, "1 minute", "1分"), (15, "15 minutes", "15分"), (60, "1 hour", "1時間"),
    (90, "1 hour 30 minutes", "1時間30分"), (1440, "1 day", "1日"), (1455, "1 day 15 minutes", "1日15分"),
    (10080, "1 week", "1週間"), (2 * 1440 + 120, "2 days 2 hours", "2日2時間"),
])
def test_a_length_of_time_is_told_in_words(minutes, english, japanese):
    assert format_duration(minutes, "en") == english
    assert format_duration(minutes, "ja") == japanese


def test_several_lengths_make_one_list():
    assert format_durations([1440, 15], "ja") == "1日、15分"
    assert format_durations([1440, 15], "en") == "1 day and 15 minutes"
    assert format_durations([1440, 90, 15], "en") == "1 day, 1 hour 30 minutes, and 15 minutes"
    assert format_durations([], "en") == ""


def test_fold_makes_width_and_case_equal():
    assert fold("＃ＴｅａｍＷｏｒｋ") == fold("#teamwork")
    assert fold("ﾁｰﾑﾜｰｸ") == fold("チームワーク")
