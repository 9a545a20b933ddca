"""The one text grammar: every word the help shows is accepted, in both languages."""

from __future__ import annotations

import pytest

from core.app import commands as c
from core.app.errors import UnknownCommand, UsageError
from core.app.grammar import PHRASES, all_keys, help_entries, mention_token, parse, usage, without_markers
from core.i18n import catalog
from core.services.members import Person
from core.services.stats import Direction, Period

BOB = Person("b1", "Bob")
CAROL = Person("c1", "Carol")


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_every_word_the_help_shows_is_accepted(locale):
    entries = [e for top in PHRASES for e in help_entries(locale, top.key, admin=True)]
    assert len(entries) == len(all_keys())
    for entry in entries:
        hint = "".join(catalog(locale).get(f"grammar.{entry.key}.args", ())[:1])
        words = entry.usage[: len(entry.usage) - len(hint)].strip() if hint else entry.usage
        try:
            command = parse(words, [BOB])
        except UsageError as error:  # the words were right; only the arguments are missing
            assert error.phrase == entry.key, (entry, words)
        except UnknownCommand:
            pytest.fail(f"the help shows {words!r}, which the grammar does not accept")
        else:
            assert isinstance(command, c.Command)


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_every_command_has_a_description_and_members_do_not_see_admin_commands(locale):
    for key in all_keys():
        assert catalog(locale).get(f"grammar.{key}.help"), key
    member_help = help_entries(locale, admin=False)
    assert not any(e.admin for e in member_help)
    assert any(e.admin for e in help_entries(locale, admin=True))


@pytest.mark.parametrize(("text", "expected"), [
    (f"thanks {mention_token(0)} {mention_token(1)} for the notes #teamwork",
     c.GiveThanks((BOB, CAROL), "for the notes", ("teamwork",))),
    (f"ありがとうございます {mention_token(0)} 助かりました ＃チームワーク #挑戦",
     c.GiveThanks((BOB,), "助かりました", ("チームワーク", "挑戦"))),
    (f"thanks {mention_token(0)} for helping {mention_token(1)}",
     c.GiveThanks((BOB, CAROL), "for helping Carol", ())),
    ("ランキング 今週 送った", c.ShowLeaderboard(Period.WEEK, Direction.SENT, None)),
    ("leaderboard all Sales", c.ShowLeaderboard(Period.ALL, Direction.RECEIVED, "Sales")),
    ("ＣＬＡＰ　＃１２", c.Clap(12)),
    ("拍手取り消し 12", c.Unclap(12)),
    ("通知 オフ", c.SetNotifications(False)),
    ("meeting", c.ListMeetings()),
    ("ミーティング 作成", c.OpenMeetingForm()),
    ("meeting move 3 2026-12-07 10:00 2026-12-08 11:00", c.MoveOccurrence("3", "2026-12-07 10:00", "2026-12-08 11:00")),
    ("meeting move 3 2026-12-07 to=2026-12-08 11:00", c.MoveOccurrence("3", "2026-12-07", "2026-12-08 11:00")),
    ("ミーティング 出欠 ＃3 2030-12-02 参加", c.AnswerRsvp("3", "2030-12-02", "参加")),
    ("meeting who 3", c.ShowRsvps("3")),
    ("values add kind Kindness 親切 💖", c.AddValue("kind", "Kindness", "親切", "💖")),
    ('バリュー 名前変更 teamwork en="Team play"', c.RenameValue("teamwork", "Team play", None, None)),
    ("values reorder growth teamwork", c.ReorderValues(("growth", "teamwork"))),
    ("バリュー アーカイブ growth", c.ArchiveValue("growth")),
    ("set feed channel here", c.SetFeedChannel(None)),
    ("admin set feed channel here", c.SetFeedChannel(None)),
    ("フィード オフ", c.SetFeedChannel("")),
    ("設定", c.ShowSettings()),
    ("settings language en", c.ChangeSetting("locale", "en")),
    ("設定 上限 5", c.ChangeSetting("daily_limit", "5")),
    (f"部署 {mention_token(0)} 営業部", c.SetDepartment(BOB, "営業部")),
    (f"department {mention_token(0)}", c.SetDepartment(BOB, None)),
    ("部署 統合 営業 営業部", c.MergeDepartments("営業", "営業部")),
    ("department rename Sales Sales & Marketing", c.RenameDepartment("Sales", "Sales & Marketing")),
    (f"admin grant {mention_token(0)}", c.GrantAdmin(BOB)),
    (f"管理者 解除 {mention_token(0)}", c.RevokeAdmin(BOB)),
    ("", c.ShowHelp()),
    ("help meeting", c.ShowHelp("meeting")),
])
def test_lines_in_both_languages(text, expected):
    assert parse(text, [BOB, CAROL]) == expected


@pytest.mark.parametrize(("text", "phrase"), [
    ("clap", "clap"), ("clap soon", "clap"), ("通知", "notifications"), ("meeting skip 3", "meeting.skip"),
    ("meeting frobnicate", "meeting"), ("admin grant", "admin.grant"), ("values add onlykey", "values.add"),
    ("settings colour red", "settings"), ("feed off " + "i" * 300, "feed"),
])
def test_a_known_command_used_wrongly_shows_its_usage_in_the_readers_language(text, phrase):
    with pytest.raises(UsageError) as raised:
        parse(text)
    assert raised.value.phrase == phrase
    assert usage(phrase, "ja") in raised.value.localized("ja")
    assert raised.value.localized("en").startswith("Usage: ")


def test_an_unknown_word_is_named_and_a_mention_cannot_be_forged():
    with pytest.raises(UnknownCommand) as raised:
        parse("frobnicate now")
    assert "frobnicate" in raised.value.localized("en")
    forged = without_markers(f"thanks {mention_token(0)} hi")
    assert parse(forged, [BOB]) == c.GiveThanks((), "0 hi", ())


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_the_option_words_the_help_shows_are_understood(locale):
    hint = catalog(locale)["grammar.leaderboard.args"][0]
    for option in hint.split()[:2]:  # [week|month|all] [sent]; the third names a department
        for word in option.strip("[]").split("|"):
            command = parse(f"{usage('leaderboard', locale).split()[0]} {word}")
            assert isinstance(command, c.ShowLeaderboard) and command.department is None, word
    on, off = catalog(locale)["grammar.notifications.args"][0].split("|")
    word = usage("notifications", locale).split()[0]
    assert (parse(f"{word} {on}"), parse(f"{word} {off}")) == (c.SetNotifications(True), c.SetNotifications(False))
