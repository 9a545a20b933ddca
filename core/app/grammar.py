"""The one bilingual text grammar: what people type (Teams messages, the console, any text surface).

A line is a command word, then sub-command words, then arguments, in Japanese or English, with
full-width characters and either kind of quotes. People are not words: a text surface replaces
each mention with ``mention_token(i)`` and passes the people in that order, so the grammar never
guesses who ``@Bob`` is. The help of every text surface is generated from the table below, and a
test proves that every word the help shows is accepted.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from core.app import commands as c
from core.app import mixer_commands as mc
from core.app.errors import UnknownCommand, UsageError
from core.i18n import catalog, fold, normalize_locale, translate
from core.meetings.errors import InvalidMeetingCommand
from core.projects.errors import TooManyProjects
from core.services.members import Person
from core.services.stats import Direction, Period
from core.words import SETTING_WORDS, parse_switch

_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


def mention_token(index: int) -> str:
    """The placeholder a text surface puts where the ``index``-th mentioned person was."""
    return f"{_OPEN}{index}{_CLOSE}"


def without_markers(text: str) -> str:
    """User text with any placeholder characters removed (so nobody can forge a mention)."""
    return text.replace(_OPEN, "").replace(_CLOSE, "")


@dataclass(frozen=True)
class Args:
    """What follows the command words: the raw text (with mention placeholders) and the people."""

    text: str
    people: tuple[Person, ...]
    phrase: str

    def mentioned(self) -> tuple[Person, ...]:
        """The people mentioned in this part of the line, in order, each once."""
        seen: dict[str, Person] = {}
        for match in _TOKEN.finditer(self.text):
            index = int(match.group(1))
            if index < len(self.people):
                seen.setdefault(self.people[index].platform_user_id, self.people[index])
        return tuple(seen.values())

    def plain(self) -> str:
        """The text with leading mentions dropped and later ones written as the person's name."""
        rest = self.text.strip()
        while True:
            match = _TOKEN.match(rest)
            if match is None:
                break
            rest = rest[match.end():].lstrip(" ,、:：")
        return _TOKEN.sub(self._name, rest).strip()

    def _name(self, match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(self.people):
            return ""
        person = self.people[index]
        return person.display_name or person.platform_user_id

    def words(self) -> list[str]:
        """The arguments split like a shell line (quotes group words: "…", “…”, 「…」)."""
        text = _TOKEN.sub(" ", self.text).translate(_QUOTES).replace("\u3000", " ")
        try:
            return shlex.split(text)
        except ValueError:
            return text.split()

    def usage(self) -> UsageError:
        """The error that shows how this command is used."""
        return UsageError(self.phrase)


@dataclass(frozen=True)
class Phrase:
    """A command as people type it: its words in each language, how to read its arguments, and
    the message ids of its argument hint (``grammar.<key>.args``) and description (``grammar.<key>.help``)."""

    key: str
    en: tuple[str, ...]
    ja: tuple[str, ...]
    build: Callable[[Args], c.Command]
    subphrases: tuple[Phrase, ...] = field(default=())
    admin: bool = False

    def words(self, locale: str) -> tuple[str, ...]:
        return self.ja if locale == "ja" else self.en


_QUOTES = str.maketrans({"「": '"', "」": '"', "“": '"', "”": '"', "『": '"', "』": '"', "＂": '"'})
_SPLIT = re.compile(r"[\s:：,、]+")


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# ---- argument readers --------------------------------------------------------------------------


_TAG_RE = re.compile(r"(?:(?<=\s)|^)[#＃]([^\s#＃]+)")


def split_tags(text: str) -> tuple[str, list[str]]:
    """``"great demo #teamwork ＃挑戦"`` → ``("great demo", ["teamwork", "挑戦"])``."""
    tags = [m.group(1).rstrip(".,!?。、！？") for m in _TAG_RE.finditer(text)]
    without = _TAG_RE.sub("", text)
    return " ".join(without.split()) if "\n" not in without else without.strip(), [t for t in tags if t]


# ``+launch`` / ``＋ローンチ``: the project a thanks belongs to. A tag starts with a letter, so ``+1`` stays text.
_PROJECT_TAG_RE = re.compile(r"(?:(?<=\s)|^)[+＋]([^\W\d_][^\s#＃+＋]*)")


def split_project_tags(text: str) -> tuple[str, list[str]]:
    """``"great demo +launch #teamwork"`` → ``("great demo #teamwork", ["launch"])``."""
    tags = [m.group(1).rstrip(".,!?。、！？") for m in _PROJECT_TAG_RE.finditer(text)]
    if not tags:
        return text, []
    without = _PROJECT_TAG_RE.sub("", text)
    return " ".join(without.split()) if "\n" not in without else without.strip(), [t for t in tags if t]


def _thanks(args: Args) -> c.Command:
    people = args.mentioned()
    text, projects = split_project_tags(args.plain())
    message, tags = split_tags(text)
    return c.GiveThanks(people, message, tuple(tags), tuple(projects))


_PERIODS = {
    "week": Period.WEEK, "weekly": Period.WEEK, "週": Period.WEEK, "今週": Period.WEEK, "週間": Period.WEEK,
    "month": Period.MONTH, "monthly": Period.MONTH, "月": Period.MONTH, "今月": Period.MONTH,
    "all": Period.ALL, "alltime": Period.ALL, "all-time": Period.ALL, "全期間": Period.ALL, "全部": Period.ALL,
}
_DIRECTIONS = {
    "sent": Direction.SENT, "given": Direction.SENT, "送信": Direction.SENT, "送った": Direction.SENT,
    "received": Direction.RECEIVED, "受信": Direction.RECEIVED, "もらった": Direction.RECEIVED,
}


def _leaderboard(args: Args) -> c.Command:
    period, direction, leftover = Period.MONTH, Direction.RECEIVED, []
    for token in args.words():
        key = fold(token)
        if key in _PERIODS:
            period = _PERIODS[key]
        elif key in _DIRECTIONS:
            direction = _DIRECTIONS[key]
        else:
            leftover.append(token)
    return c.ShowLeaderboard(period, direction, " ".join(leftover) or None)


def _notifications(args: Args) -> c.Command:
    switch = parse_switch(args.text.strip())
    if switch is None:
        raise args.usage()
    return c.SetNotifications(switch)


def _digest(args: Args) -> c.Command:
    words = args.words()
    if len(words) != 1:
        raise args.usage()
    return c.SetDigestSchedule(words[0])


def _recap(args: Args) -> c.Command:
    switch = parse_switch(args.text.strip())
    if switch is None:
        raise args.usage()
    return c.SetRecap(switch)


def _number(args: Args) -> int:
    text = _normal(args.text).strip().lstrip("#")
    if not text.isdecimal() or len(text) > 18:
        raise args.usage()
    return int(text)


def _help(args: Args) -> c.Command:
    word = args.text.strip()
    if not word:
        return c.ShowHelp()
    phrase = _top(word)
    return c.ShowHelp(phrase.key if phrase is not None else None)


def _need(args: Args, count: int) -> list[str]:
    words = args.words()
    if len(words) < count:
        raise args.usage()
    return words


def _one_person(args: Args) -> Person:
    people = args.mentioned()
    if len(people) != 1:
        raise args.usage()
    return people[0]


# ---- values ------------------------------------------------------------------------------------


def is_emoji(word: str) -> bool:
    """True for a short word with no letters or digits (an emoji such as 🤝 or 🙌🏽)."""
    return 0 < len(word) <= 8 and not any(ch.isalnum() for ch in word)


def _value_add(args: Args) -> c.Command:
    words = _need(args, 2)
    emoji = words.pop() if len(words) > 2 and is_emoji(words[-1]) else ""
    return c.AddValue(words[0], words[1], " ".join(words[2:]), emoji)


def _value_rename(args: Args) -> c.Command:
    words = _need(args, 2)
    positional, options = _options(words[1:], _VALUE_KEYS, args)
    name_en = options.get("en") or (positional[0] if positional else None)
    name_ja = options.get("ja") or (" ".join(positional[1:]) if len(positional) > 1 else None)
    if not (name_en or name_ja or options.get("emoji")):
        raise args.usage()
    return c.RenameValue(words[0], name_en, name_ja, options.get("emoji"))


_VALUE_KEYS = {"en": "en", "english": "en", "英語": "en", "ja": "ja", "japanese": "ja", "日本語": "ja",
               "emoji": "emoji", "絵文字": "emoji"}


def _values_list(args: Args) -> c.Command:
    return c.ListValues(include_archived=fold(args.text.strip()) in {"all", "archived", "すべて", "全部"})


# ---- settings, feed, departments, admins -------------------------------------------------------

_HERE = {"here", "ここ", "このチャンネル", "このチャネル", "this"}


def _feed(args: Args) -> c.Command:
    words = args.words()
    if len(words) > 1:
        raise args.usage()
    word = fold(words[0]) if words else ""
    if word in _HERE or not word:
        return c.SetFeedChannel(None)
    if parse_switch(word) is False:
        return c.SetFeedChannel("")
    return c.SetFeedChannel(words[0])


def _settings(args: Args) -> c.Command:
    words = args.words()
    if not words:
        return c.ShowSettings()
    name = SETTING_WORDS.get(fold(words[0]))
    if name is None or (len(words) < 2 and name != "feed_channel"):
        raise args.usage()
    value = " ".join(words[1:])
    if name == "feed_channel":
        return _feed(Args(value, args.people, "feed"))
    return c.ChangeSetting(name, value)


def _department_set(args: Args) -> c.Command:
    person = _one_person(args)
    return c.SetDepartment(person, args.plain() or None)


def _department_rename(args: Args) -> c.Command:
    words = _need(args, 2)
    return c.RenameDepartment(words[0], " ".join(words[1:]))


def _department_merge(args: Args) -> c.Command:
    words = _need(args, 2)
    target = words[2] if len(words) == 3 and fold(words[1]) in {"into", "to", "へ", "に"} else " ".join(words[1:])
    return c.MergeDepartments(words[0], target)


def _department_role(args: Args) -> c.Command:
    words = _need(args, 2)
    return c.MapRole(words[0].strip("<@&>"), " ".join(words[1:]))


# ---- meetings ----------------------------------------------------------------------------------

_MEETING_KEYS = {
    "title": "title", "name": "title", "タイトル": "title", "件名": "title",
    "start": "start", "at": "start", "開始": "start", "日時": "start",
    "repeat": "repeat", "recurrence": "repeat", "繰り返し": "repeat", "くりかえし": "repeat",
    "rrule": "rrule",
    "tz": "timezone", "timezone": "timezone", "タイムゾーン": "timezone",
    "remind": "remind", "reminders": "remind", "reminder": "remind", "通知": "remind", "リマインド": "remind",
    "departments": "departments", "department": "departments", "dept": "departments", "部署": "departments",
    "place": "place", "link": "place", "where": "place", "場所": "place", "リンク": "place",
    "duration": "duration", "length": "duration", "時間": "duration", "長さ": "duration",
    "agenda": "agenda", "議題": "agenda", "アジェンダ": "agenda",
    "channel": "channel", "チャンネル": "channel",
    "to": "to", "先": "to", "変更先": "to",
    "until": "until", "まで": "until", "終了日": "until",
    "thanks-prompt": "thanks_prompt", "thanks_prompt": "thanks_prompt", "prompt": "thanks_prompt",
    "お礼の呼びかけ": "thanks_prompt", "お礼呼びかけ": "thanks_prompt", "感謝の呼びかけ": "thanks_prompt",
    "project": "project", "pj": "project", "プロジェクト": "project",
}
_KEY_RE = re.compile(r"^([^=＝\s]+)[=＝](.*)$", re.S)
_TIME = re.compile(r"\d{1,2}:\d{2}")


def _options(words: Sequence[str], keys: dict[str, str], args: Args) -> tuple[list[str], dict[str, str]]:
    """``"A B" start=2026-12-07 10:00`` → (["A B"], {"start": "2026-12-07 10:00"}): a value runs
    until the next ``key=``."""
    positional: list[str] = []
    options: dict[str, str] = {}
    current: str | None = None
    for word in words:
        match = _KEY_RE.match(word)
        key = keys.get(fold(match.group(1))) if match else None
        if match and key:
            current = key
            options[key] = match.group(2)
        elif match:
            raise InvalidMeetingCommand(hint=f"{match.group(1)[:30]}=") if keys is _MEETING_KEYS else args.usage()
        elif current is not None:
            options[current] = f"{options[current]} {word}".strip()
        else:
            positional.append(word)
    return positional, options


def _until(text: str | None, args: Args) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(_normal(text).strip().replace("/", "-"))
    except ValueError:
        raise args.usage() from None


_PROJECT_WORD = re.compile(r"^[+＋]([^\W\d_][^\s#＃+＋]*)$")


def _meeting_words(args: Args) -> list[str]:
    """The arguments, with a ``+launch`` / ``＋ローンチ`` word (the meeting's project, as a thanks names
    one) turned into ``project=launch``; two projects are one too many."""
    words, tags = [], []
    for word in args.words():
        match = _PROJECT_WORD.match(_normal(word))
        if match:
            tags.append(match.group(1))
        else:
            words.append(word)
    if len(tags) > 1:
        raise TooManyProjects()
    return [*words, f"project={tags[0]}"] if tags else words


def _fields(options: dict[str, str], args: Args) -> c.MeetingFields:
    until = _until(options.get("until"), args)
    known = {k: v for k, v in options.items() if k not in ("until", "to")}
    return c.MeetingFields(until=until, **known)


def _meeting_create(args: Args) -> c.Command:
    positional, options = _options(_meeting_words(args), _MEETING_KEYS, args)
    if not positional and not options:
        return c.OpenMeetingForm()
    if positional and "title" not in options:
        options["title"] = " ".join(positional)
    if "start" not in options:
        raise args.usage()
    return c.CreateMeeting(_fields(options, args))


def _meeting_list(args: Args) -> c.Command:
    return c.ListMeetings(include_ended=any(fold(w) in {"all", "すべて", "全部"} for w in args.words()))


def _meeting_id(args: Args) -> str:
    words = args.words()
    if not words:
        raise args.usage()
    return _normal(words[0]).lstrip("#")


def _occurrence(words: list[str], args: Args) -> tuple[str, list[str]]:
    """The date (and maybe time) after the meeting id, and what follows it."""
    if len(words) < 2:
        raise args.usage()
    occurrence, rest = words[1], words[2:]
    if rest and _TIME.fullmatch(_normal(rest[0])):
        occurrence, rest = f"{occurrence} {rest[0]}", rest[1:]
    return _normal(occurrence), rest


def _meeting_edit(args: Args) -> c.Command:
    positional, options = _options(_meeting_words(args), _MEETING_KEYS, args)
    if not positional:
        raise args.usage()
    return c.EditMeeting(_normal(positional[0]).lstrip("#"), _fields(options, args))


def _meeting_occurrence(kind: Callable[[str, str], c.Command]) -> Callable[[Args], c.Command]:
    def build(args: Args) -> c.Command:
        occurrence, _ = _occurrence(args.words(), args)
        return kind(_meeting_id(args), occurrence)

    return build


def _meeting_move(args: Args) -> c.Command:
    positional, options = _options(args.words(), _MEETING_KEYS, args)
    if len(positional) < 2:
        raise args.usage()
    if "to" in options:
        occurrence = " ".join(positional[1:])
        to = options["to"]
    else:
        occurrence, rest = _occurrence(positional, args)
        if not rest and " " in occurrence:
            # ``ID DATE HH:MM``: the time is where the date moves to (the same day), not part of it.
            occurrence, time = occurrence.split(" ", 1)
            rest = [time]
        to = " ".join(rest)
    if not to:
        raise args.usage()
    return c.MoveOccurrence(_normal(positional[0]).lstrip("#"), _normal(occurrence), _normal(to))


def _meeting_rsvp(args: Args) -> c.Command:
    occurrence, rest = _occurrence(args.words(), args)
    if not rest:
        raise args.usage()
    return c.AnswerRsvp(_meeting_id(args), occurrence, rest[0])


def _meeting_who(args: Args) -> c.Command:
    words = args.words()
    if len(words) < 2:
        return c.ShowRsvps(_meeting_id(args))
    occurrence, _ = _occurrence(words, args)
    return c.ShowRsvps(_meeting_id(args), occurrence)


def _by_id(kind: Callable[[str], c.Command]) -> Callable[[Args], c.Command]:
    return lambda args: kind(_meeting_id(args))


def _bare(kind: Callable[[], c.Command]) -> Callable[[Args], c.Command]:
    """A command word on its own; anything after it that names no sub-command is a mistake."""

    def build(args: Args) -> c.Command:
        if args.words():
            raise args.usage()
        return kind()

    return build


def _meeting_help(args: Args) -> c.Command:
    return c.ShowHelp("meeting")


# ---- mixers ------------------------------------------------------------------------------------

_MIXER_KEYS = {
    "start": "start", "開始": "start", "日時": "start",
    "repeat": "repeat", "繰り返し": "repeat",
    "size": "size", "人数": "size",
    "place": "place", "場所": "place",
    "announce": "announce", "発表": "announce",
    "tz": "timezone", "timezone": "timezone", "タイムゾーン": "timezone",
}


def _mixer_create(args: Args) -> c.Command:
    positional, options = _options(args.words(), _MIXER_KEYS, args)
    if "start" not in options or not positional:
        raise args.usage()
    return mc.CreateMixer(" ".join(positional), options["start"], options.get("repeat"), options.get("size"),
                          options.get("place", ""), options.get("announce"), options.get("timezone"))


def _mixer_id(kind: Callable[[str], c.Command]) -> Callable[[Args], c.Command]:
    return lambda args: kind(_normal(_need(args, 1)[0]).lstrip("#"))


def _mixer_pause(args: Args) -> c.Command:
    words = _need(args, 2)
    return mc.PauseMixer(_normal(words[0]).lstrip("#"), _normal(words[1]))


def _mixer_met(args: Args) -> c.Command:
    words = _need(args, 2)
    return mc.AnswerMixerRound(_normal(words[0]).lstrip("#"), " ".join(words[1:]))


def _mixer_invite(args: Args) -> c.Command:
    words = _need(args, 2)
    return mc.InviteDepartment(_normal(words[0]).lstrip("#"), " ".join(words[1:]))


# ---- projects ----------------------------------------------------------------------------------

_PROJECT_KEYS = {
    "name": "name", "title": "name", "名前": "name", "名称": "name",
    "purpose": "purpose", "goal": "purpose", "目的": "purpose",
    "departments": "departments", "department": "departments", "dept": "departments", "部署": "departments",
    "channel": "channel", "チャンネル": "channel",
    "start": "start", "from": "start", "開始": "start", "開始日": "start",
    "end": "end", "until": "end", "終了": "end", "終了日": "end",
    "owner": "owner", "オーナー": "owner", "担当": "owner",
}


def _project_id(args: Args) -> str:
    words = args.words()
    if not words:
        raise args.usage()
    return _normal(words[0]).lstrip("+")


def _project_fields(options: dict[str, str]) -> c.ProjectFields:
    return c.ProjectFields(**{k: v for k, v in options.items() if k != "owner"})


def _project_create(args: Args) -> c.Command:
    positional, options = _options(args.words(), _PROJECT_KEYS, args)
    if not positional:
        raise args.usage()
    if len(positional) > 1 and "name" not in options:
        options["name"] = " ".join(positional[1:])
    return c.CreateProject(_normal(positional[0]).lstrip("+"), _project_fields(options), args.mentioned())


def _project_edit(args: Args) -> c.Command:
    positional, options = _options(args.words(), _PROJECT_KEYS, args)
    if not positional:
        raise args.usage()
    owner = None
    # ``owner=@name`` or ``owner @name`` (a text surface may only see a mention after a space).
    if "owner" in options or any(_PROJECT_KEYS.get(fold(w)) == "owner" for w in positional[1:]):
        people = args.mentioned()
        if len(people) != 1:
            raise args.usage()
        owner = people[0]
    return c.EditProject(_normal(positional[0]).lstrip("+"), _project_fields(options), owner)


def _project_people(kind: Callable[[str, tuple[Person, ...]], c.Command]) -> Callable[[Args], c.Command]:
    def build(args: Args) -> c.Command:
        people = args.mentioned()
        if not people:
            raise args.usage()
        return kind(_project_id(args), people)

    return build


def _project_list(args: Args) -> c.Command:
    return c.ListProjects(include_closed=any(fold(w) in {"all", "すべて", "全部"} for w in args.words()))


def _project_by_id(kind: Callable[[str], c.Command]) -> Callable[[Args], c.Command]:
    return lambda args: kind(_project_id(args))


def _project(args: Args) -> c.Command:
    """``project`` alone lists them; ``project KEY`` shows one."""
    return c.ShowProject(_project_id(args)) if args.words() else c.ListProjects()


# ---- the table ---------------------------------------------------------------------------------


PHRASES: tuple[Phrase, ...] = (
    Phrase("thanks", ("thanks", "thank", "thx"), ("ありがとう", "ありがとうございます", "感謝"), _thanks),
    Phrase("leaderboard", ("leaderboard", "ranking"), ("ランキング",), _leaderboard),
    Phrase("values", ("values", "value"), ("バリュー",), _values_list, (
        Phrase("values.add", ("add",), ("追加",), _value_add, admin=True),
        Phrase("values.rename", ("rename",), ("名前変更", "変更"), _value_rename, admin=True),
        Phrase("values.reorder", ("reorder", "order"), ("並べ替え", "並び替え"),
               lambda a: c.ReorderValues(tuple(_need(a, 1))), admin=True),
        Phrase("values.archive", ("archive", "remove"), ("アーカイブ", "削除"),
               lambda a: c.ArchiveValue(_need(a, 1)[0]), admin=True),
        Phrase("values.restore", ("restore",), ("復元",), lambda a: c.RestoreValue(_need(a, 1)[0]), admin=True),
    )),
    Phrase("clap", ("clap", "👏"), ("拍手",), lambda a: c.Clap(_number(a))),
    Phrase("unclap", ("unclap",), ("拍手取り消し", "拍手取消"), lambda a: c.Unclap(_number(a))),
    Phrase("notifications", ("notifications", "notification"), ("通知",), _notifications),
    Phrase("meeting", ("meeting", "meetings"), ("ミーティング", "会議"), _bare(c.ListMeetings), (
        Phrase("meeting.create", ("create", "add", "new"), ("作成", "作る", "登録"), _meeting_create),
        Phrase("meeting.list", ("list", "ls"), ("一覧", "リスト"), _meeting_list),
        Phrase("meeting.show", ("show", "info"), ("詳細", "表示"), _by_id(c.ShowMeeting)),
        Phrase("meeting.edit", ("edit", "change"), ("編集", "変更"), _meeting_edit),
        Phrase("meeting.skip", ("skip",), ("スキップ", "休み"), _meeting_occurrence(c.SkipOccurrence)),
        Phrase("meeting.move", ("move",), ("移動",), _meeting_move),
        Phrase("meeting.restore", ("restore", "unskip"), ("戻す",), _meeting_occurrence(c.RestoreOccurrence)),
        Phrase("meeting.pause", ("pause",), ("一時停止", "停止"), _by_id(c.PauseMeeting)),
        Phrase("meeting.resume", ("resume",), ("再開",), _by_id(c.ResumeMeeting)),
        Phrase("meeting.cancel", ("cancel", "end"), ("中止", "終了", "キャンセル"), _by_id(c.CancelMeeting)),
        Phrase("meeting.rsvp", ("rsvp",), ("出欠", "返事"), _meeting_rsvp),
        Phrase("meeting.who", ("who", "answers"), ("回答", "出欠確認"), _meeting_who),
        Phrase("meeting.help", ("help", "?"), ("ヘルプ",), _meeting_help),
    )),
    Phrase("departments", ("department", "departments", "dept"), ("部署", "部門"), _department_set, (
        Phrase("departments.list", ("list",), ("一覧",), lambda a: c.ListDepartments()),
        Phrase("departments.rename", ("rename",), ("名前変更",), _department_rename, admin=True),
        Phrase("departments.merge", ("merge",), ("統合",), _department_merge, admin=True),
        Phrase("departments.role", ("role",), ("ロール",), _department_role, admin=True),
    ), admin=True),
    Phrase("settings", ("settings", "setting"), ("設定",), _settings, admin=True),
    Phrase("feed", ("feed",), ("フィード",), _feed, admin=True),
    Phrase("admin", ("admin", "admins"), ("管理者", "管理"), _bare(c.ListAdmins), (
        Phrase("admin.grant", ("grant", "add"), ("付与", "追加"), lambda a: c.GrantAdmin(_one_person(a)),
               admin=True),
        Phrase("admin.revoke", ("revoke", "remove"), ("解除", "削除"), lambda a: c.RevokeAdmin(_one_person(a)),
               admin=True),
        Phrase("admin.list", ("list",), ("一覧",), lambda a: c.ListAdmins(), admin=True),
    ), admin=True),
    Phrase("setup", ("setup",), ("セットアップ", "初期設定"), lambda a: c.ShowSetup(), admin=True),
    Phrase("digest", ("digest",), ("ダイジェスト",), _digest, admin=True),
    Phrase("recap", ("recap",), ("月間まとめ", "まとめ"), _recap),
    Phrase("project", ("project", "projects", "pj"), ("プロジェクト",), _project, (
        Phrase("project.create", ("create", "new"), ("作成", "作る", "登録"), _project_create),
        Phrase("project.list", ("list", "ls"), ("一覧", "リスト"), _project_list),
        Phrase("project.show", ("show", "info"), ("詳細", "表示"), _project_by_id(c.ShowProject)),
        Phrase("project.edit", ("edit", "change"), ("編集", "変更"), _project_edit),
        Phrase("project.add", ("add", "invite"), ("追加", "招待"), _project_people(c.AddProjectMembers)),
        Phrase("project.remove", ("remove", "kick"), ("削除", "外す"), _project_people(c.RemoveProjectMembers)),
        Phrase("project.join", ("join",), ("参加",), _project_by_id(c.JoinProject)),
        Phrase("project.close", ("close", "end"), ("終了", "クローズ"), _project_by_id(c.CloseProject)),
        Phrase("project.reopen", ("reopen",), ("再開",), _project_by_id(c.ReopenProject)),
        Phrase("project.help", ("help", "?"), ("ヘルプ",), lambda a: c.ShowHelp("project")),
    )),
    Phrase("help", ("help", "?"), ("ヘルプ", "使い方"), _help),
    Phrase("mixer", ("mixer", "mixers", "lunch"), ("ミキサー", "シャッフルランチ"), _bare(mc.ListMixers), (
        Phrase("mixer.create", ("create", "new"), ("作成", "作る"), _mixer_create),
        Phrase("mixer.list", ("list",), ("一覧",), lambda a: mc.ListMixers()),
        Phrase("mixer.show", ("show",), ("詳細",), _mixer_id(mc.ShowMixer)),
        Phrase("mixer.join", ("join",), ("参加",), _mixer_id(mc.JoinMixer)),
        Phrase("mixer.leave", ("leave",), ("退出", "やめる"), _mixer_id(mc.LeaveMixer)),
        Phrase("mixer.pause", ("pause",), ("一時停止", "休む"), _mixer_pause),
        Phrase("mixer.skip", ("skip",), ("スキップ",), _mixer_id(mc.SkipMixerRound)),
        Phrase("mixer.end", ("end",), ("終了",), _mixer_id(mc.EndMixer)),
        Phrase("mixer.invite", ("invite",), ("招待",), _mixer_invite, admin=True),
        Phrase("mixer.met", ("met",), ("報告",), _mixer_met),
    )),
    Phrase("dashboard", ("dashboard", "insights"), ("ダッシュボード", "インサイト"), _bare(c.OpenDashboard)),
)

# Phrases people used before the grammar had ``feed here``; still understood.
_LEGACY = {
    "set feed channel here": "feed here", "set feed here": "feed here", "feed channel here": "feed here",
    "フィードをここに設定": "feed here", "ここをフィードに設定": "feed here",
    "フィードチャネルをここに設定": "feed here", "フィードチャンネルをここに設定": "feed here",
    "unset feed channel": "feed off", "remove feed channel": "feed off", "フィードを解除": "feed off",
    "フィード解除": "feed off",
}


def _index(phrases: Sequence[Phrase]) -> dict[str, Phrase]:
    table: dict[str, Phrase] = {}
    for phrase in phrases:
        for word in (*phrase.en, *phrase.ja):
            if fold(word) in table:
                raise RuntimeError(f"the word {word!r} names two commands")
            table[fold(word)] = phrase
    return table


_TOP = _index(PHRASES)
_SUB = {phrase.key: _index(phrase.subphrases) for phrase in PHRASES if phrase.subphrases}
_BY_KEY = {p.key: p for top in PHRASES for p in (top, *top.subphrases)}


def _split_word(text: str) -> tuple[str, str]:
    """The first word (up to a space, a mention, ``#``, ``:`` or ``、``) and the rest."""
    match = re.match(rf"([^\s{_OPEN}#＃:：,、]+)(.*)$", text, re.S)
    if match is None:
        return "", text
    return match.group(1), match.group(2).lstrip(" \u3000:：,、")


def _top(word: str) -> Phrase | None:
    return _TOP.get(fold(word))


def parse(text: str, people: Sequence[Person] = ()) -> c.Command:
    """The command a line of text asks for; raises ``UnknownCommand`` or ``UsageError`` (localised).

    An empty line asks for help.
    """
    stripped = (text or "").strip().replace("\u3000", " ")
    if not stripped:
        return c.ShowHelp()
    folded = " ".join(fold(stripped).split())
    legacy = next((_LEGACY[p] for p in _LEGACY if folded == p or folded.startswith(p + " ")), None)
    if legacy is not None:
        stripped = legacy
    word, rest = _split_word(stripped)
    phrase = _top(word)
    if phrase is None:
        raise UnknownCommand(command=_TOKEN.sub("", stripped.split()[0] if stripped.split() else stripped)[:50])
    if phrase.key == "admin" and rest:
        # ``admin set feed channel here``: "admin" in front of any admin command.
        sub_word, _ = _split_word(rest)
        if fold(sub_word) not in _SUB["admin"]:
            return parse(rest, people)
    subs = _SUB.get(phrase.key)
    if subs and rest:
        sub_word, sub_rest = _split_word(rest)
        sub = subs.get(fold(sub_word))
        if sub is not None:
            return sub.build(Args(sub_rest, tuple(people), sub.key))
    return phrase.build(Args(rest, tuple(people), phrase.key))


# ---- help --------------------------------------------------------------------------------------


def usage(key: str, locale: str, *, optional: bool = True) -> str:
    """How command ``key`` is typed in ``locale``: its first word(s) and its argument hint (without the
    ``[optional]`` arguments unless ``optional``)."""
    phrase = _BY_KEY[key]
    parent = _BY_KEY[key.split(".")[0]] if "." in key else None
    words = [parent.words(locale)[0]] if parent else []
    words.append(phrase.words(locale)[0])
    hint = "".join(catalog(normalize_locale(locale) or "ja").get(f"grammar.{key}.args", ())[:1])
    if not optional:
        hint = " ".join(re.sub(r"\[[^\]]*\]", "", hint).split())
    return " ".join(words + ([hint] if hint else []))


@dataclass(frozen=True)
class HelpEntry:
    """One line of help: how to type it and what it does."""

    key: str
    usage: str
    description: str
    admin: bool


def help_entries(locale: str, topic: str | None = None, *, admin: bool = True) -> tuple[HelpEntry, ...]:
    """The help of every text surface, generated from the grammar (``topic``: one command's family)."""
    entries: list[HelpEntry] = []
    for phrase in PHRASES:
        if topic is not None and phrase.key != topic.split(".")[0]:
            continue
        family = (phrase, *phrase.subphrases) if topic is not None else (phrase,)
        for item in family:
            if item.admin and not admin:
                continue
            entries.append(HelpEntry(item.key, usage(item.key, locale), translate(locale, f"grammar.{item.key}.help"),
                                     item.admin))
    return tuple(entries)


def all_keys() -> tuple[str, ...]:
    """Every command key of the grammar (for catalogs and tests)."""
    return tuple(_BY_KEY)
