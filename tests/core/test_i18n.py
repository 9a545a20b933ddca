"""Both catalogs hold every message, with the same placeholders; locale resolution; tags and formats."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core import errors
from core.i18n import catalog, fold, format_date, format_datetime, format_number, resolve_locale, translate


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_ids_and_placeholders():
    en, ja = catalog("en"), catalog("ja")
    assert en.keys() == ja.keys()
    for key in en:
        assert placeholders(en[key]) == placeholders(ja[key]), key


def test_every_message_id_used_in_code_exists():
    root = Path(__file__).parents[2]
    used: set[str] = set()
    for path in [*root.glob("core/**/*.py"), *root.glob("cards/**/*.py"), *root.glob("adapters/**/*.py")]:
        if path.name == "grammar.py":
            continue  # its strings are command keys; tests/core/test_grammar.py checks their messages
        used |= set(re.findall(r'"((?:error|notice|thanks|leaderboard|values|help|period)\.[a-z_.]+)"',
                               path.read_text(encoding="utf-8")))
    missing = {m for m in used if m not in catalog("en") and not m.endswith(".")}
    assert not missing


def test_every_error_class_has_a_message():
    for cls in errors.KizunaError.__subclasses__():
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


def test_fold_makes_width_and_case_equal():
    assert fold("＃ＴｅａｍＷｏｒｋ") == fold("#teamwork")
    assert fold("ﾁｰﾑﾜｰｸ") == fold("チームワーク")
