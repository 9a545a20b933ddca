"""The words people type (Teams, console): command detection, value tags and leaderboard options.

Recipients are not parsed here: each adapter knows its own mentions (Teams mention entities,
console ``@name``), and hands the core real members.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from core.i18n import fold
from core.services.stats import Direction, Period


class CommandKind(StrEnum):
    """What a line of text asks for."""

    THANKS = "thanks"
    LEADERBOARD = "leaderboard"
    VALUES = "values"
    HELP = "help"
    NOTIFICATIONS = "notifications"
    ADMIN = "admin"
    MEETING = "meeting"
    CLAP = "clap"
    UNCLAP = "unclap"
    EMPTY = "empty"
    UNKNOWN = "unknown"


WORDS: dict[str, CommandKind] = {
    "thanks": CommandKind.THANKS, "thank": CommandKind.THANKS, "thx": CommandKind.THANKS,
    "ありがとう": CommandKind.THANKS, "ありがとうございます": CommandKind.THANKS, "感謝": CommandKind.THANKS,
    "leaderboard": CommandKind.LEADERBOARD, "ranking": CommandKind.LEADERBOARD, "ランキング": CommandKind.LEADERBOARD,
    "values": CommandKind.VALUES, "value": CommandKind.VALUES, "バリュー": CommandKind.VALUES,
    "help": CommandKind.HELP, "ヘルプ": CommandKind.HELP, "使い方": CommandKind.HELP, "?": CommandKind.HELP,
    "notifications": CommandKind.NOTIFICATIONS, "notification": CommandKind.NOTIFICATIONS,
    "通知": CommandKind.NOTIFICATIONS,
    "admin": CommandKind.ADMIN, "管理": CommandKind.ADMIN,
    "meeting": CommandKind.MEETING, "meetings": CommandKind.MEETING, "ミーティング": CommandKind.MEETING,
    "会議": CommandKind.MEETING,
    "clap": CommandKind.CLAP, "拍手": CommandKind.CLAP, "👏": CommandKind.CLAP,
    "unclap": CommandKind.UNCLAP, "拍手取り消し": CommandKind.UNCLAP, "拍手取消": CommandKind.UNCLAP,
}
# Longest first, so "ありがとうございます" wins over "ありがとう".
_WORD_RE = re.compile(
    "^(" + "|".join(re.escape(w) for w in sorted(WORDS, key=len, reverse=True)) + r")(?=$|[\s@＠<#＃:：,、])",
    re.IGNORECASE,
)
_TAG_RE = re.compile(r"(?:(?<=\s)|^)[#＃]([^\s#＃]+)")


@dataclass(frozen=True)
class ParsedCommand:
    """The command word and the rest of the line."""

    kind: CommandKind
    word: str
    rest: str


def parse_command(text: str) -> ParsedCommand:
    """Find the command word at the start of ``text`` (case- and width-insensitive)."""
    stripped = (text or "").strip()
    if not stripped:
        return ParsedCommand(CommandKind.EMPTY, "", "")
    normalised = unicodedata.normalize("NFKC", stripped)
    match = _WORD_RE.match(normalised)
    if match is None:
        first = stripped.split()[0]
        return ParsedCommand(CommandKind.UNKNOWN, first, stripped[len(first):].strip())
    word = match.group(1)
    # NFKC can change lengths (full-width → ASCII keeps length; compatibility ligatures may not),
    # so cut the original at the same number of normalised characters only when lengths agree.
    rest = normalised[match.end():] if len(normalised) != len(stripped) else stripped[match.end():]
    return ParsedCommand(WORDS[fold(word)], word, rest.lstrip(" :：,、").strip())


def split_tags(text: str) -> tuple[str, list[str]]:
    """``"great demo #teamwork ＃挑戦"`` → ``("great demo", ["teamwork", "挑戦"])``."""
    tags = [m.group(1).rstrip(".,!?。、！？") for m in _TAG_RE.finditer(text)]
    without = _TAG_RE.sub("", text)
    return " ".join(without.split()) if "\n" not in without else without.strip(), [t for t in tags if t]


_PERIODS = {
    "week": Period.WEEK, "weekly": Period.WEEK, "週": Period.WEEK, "今週": Period.WEEK, "週間": Period.WEEK,
    "month": Period.MONTH, "monthly": Period.MONTH, "月": Period.MONTH, "今月": Period.MONTH,
    "all": Period.ALL, "alltime": Period.ALL, "all-time": Period.ALL, "全期間": Period.ALL, "全部": Period.ALL,
}
_DIRECTIONS = {
    "sent": Direction.SENT, "given": Direction.SENT, "送信": Direction.SENT, "送った": Direction.SENT,
    "received": Direction.RECEIVED, "受信": Direction.RECEIVED, "もらった": Direction.RECEIVED,
}


_SWITCH_ON = {"on", "yes", "true", "1", "enable", "enabled", "オン", "有効", "はい", "する"}
_SWITCH_OFF = {"off", "no", "false", "0", "disable", "disabled", "オフ", "無効", "いいえ", "しない"}


def parse_switch(text: str) -> bool | None:
    """``on``/``off`` in either language (``オン``, ``はい``, ``ＯＦＦ``…); None for anything else."""
    word = fold(text)
    if word in _SWITCH_ON:
        return True
    if word in _SWITCH_OFF:
        return False
    return None


@dataclass(frozen=True)
class LeaderboardOptions:
    """What ``leaderboard [period] [sent] [department]`` asks for."""

    period: Period = Period.MONTH
    direction: Direction = Direction.RECEIVED
    department: str | None = None


def parse_leaderboard_options(rest: str) -> LeaderboardOptions:
    """Period and direction words in either language; anything else names a department."""
    period, direction, leftover = Period.MONTH, Direction.RECEIVED, []
    for token in rest.split():
        key = fold(token)
        if key in _PERIODS:
            period = _PERIODS[key]
        elif key in _DIRECTIONS:
            direction = _DIRECTIONS[key]
        else:
            leftover.append(token)
    return LeaderboardOptions(period, direction, " ".join(leftover) or None)
