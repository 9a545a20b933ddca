"""The truncation layer keeps every payload within Discord's limits; the validator catches what would not be."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import limits
from adapters.discord.render import decode_action, encode_action, render
from adapters.discord.validate import check_message, check_response
from cards.model import (
    Action,
    HelpLine,
    HelpMessage,
    LeaderboardMessage,
    LeaderboardRow,
    Person,
    ThanksMessage,
    ValueBadge,
    ValueLine,
    ValuesMessage,
)


def thanks(text: str, name: str = "Alice", recipients: int = 3) -> ThanksMessage:
    people = tuple(Person(str(1000 + i), f"user{i}") for i in range(recipients))
    return ThanksMessage("en", 7, f"{name} sent thanks", Person("1", name), people,
                         (ValueBadge("teamwork", "🙌", "Teamwork"),), text, 2, "Claps: 2", "today",
                         (Action("clap", "👏 Clap", {"thanks_id": "7"}),))


def test_truncate_cuts_with_an_ellipsis_and_never_splits_a_joined_emoji():
    assert limits.truncate("short", 10) == "short"
    assert limits.truncate("abcdefghij", 5) == "abcd…"
    family = "👨\u200d👩\u200d👧"
    cut = limits.truncate("a" * 3 + family, 6)
    assert not cut[:-1].endswith("\u200d") and cut.endswith("…")
    assert limits.truncate("ab\\*cd", 4) == "ab…"


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=9000), st.text(min_size=1, max_size=400))
def test_any_thanks_renders_within_limits(text: str, name: str):
    assert check_message(render(thanks(text, name))) == []


def test_big_leaderboards_values_and_help_are_cut_to_fit():
    rows = tuple(LeaderboardRow(i, Person(str(10 ** 17 + i), "x" * 200), 5, "5 thanks", "部" * 100)
                 for i in range(1, 200))
    board = LeaderboardMessage("en", "Most thanked", "This month", rows, "none")
    values = ValuesMessage("en", "Our values", tuple(ValueLine(f"k{i}", "🙌", "n" * 64, "名" * 64, "d" * 255)
                                                     for i in range(40)), "hint")
    help_ = HelpMessage("en", "t" * 300, "i" * 5000, tuple(HelpLine("c" * 300, "d" * 2000) for _ in range(30)))
    for message in (board, values, help_):
        payload = render(message)
        assert check_message(payload) == [], message.kind
        assert sum(limits.embed_size(e) for e in payload["embeds"]) <= 6000


def test_custom_ids_round_trip_and_overlong_ones_are_dropped():
    action = Action("clap", "👏", {"thanks_id": "123"})
    custom_id = encode_action(action, "ja")
    assert custom_id == "kizuna:clap:thanks_id=123:ja"
    assert decode_action(custom_id) == ("clap", {"thanks_id": "123"}, "ja")
    assert encode_action(Action("rsvp", "yes", {"occurrence": "x" * 120}), "en") is None
    assert decode_action("other:thing") is None


def test_the_validator_catches_what_discord_would_reject():
    assert check_message({"content": "x" * 2001, "allowed_mentions": {"parse": []}})
    assert check_message({"content": "hi"})  # no allowed_mentions
    assert check_message({"content": "hi", "allowed_mentions": {"parse": ["everyone"]}})
    assert check_message({"embeds": [{"fields": [{"name": "a", "value": "b"}] * 26}],
                          "allowed_mentions": {"parse": []}})
    assert check_message({"embeds": [{"description": "x" * 4000}, {"description": "y" * 2001}],
                          "allowed_mentions": {"parse": []}})
    assert check_response({"type": 9, "data": {"title": "t" * 46, "custom_id": "x", "components": []}})
    assert check_response({"type": 8, "data": {"choices": [{"name": "a", "value": "a"}] * 26}})
    bad_button = {"type": 1, "components": [{"type": 2, "label": "x", "custom_id": "y" * 101}]}
    assert check_message({"content": "x", "components": [bad_button], "allowed_mentions": {"parse": []}})
