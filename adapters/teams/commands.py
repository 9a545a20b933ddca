"""Teams admin phrases (`set feed channel here`, `department @Bob Sales`, `values add …`), in both languages."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Literal

from core.commands import CommandKind, ParsedCommand, parse_command
from core.i18n import fold

AdminKind = Literal["feed_here", "feed_off", "department", "value_add", "value_archive", "value_restore"]

_FEED_HERE = ("set feed channel here", "set feed here", "feed channel here", "feed here",
              "フィードをここに設定", "ここをフィードに設定", "フィードチャネルをここに設定",
              "フィードチャンネルをここに設定", "フィード ここ")
_FEED_OFF = ("unset feed channel", "feed off", "remove feed channel", "フィードを解除", "フィード解除", "フィード オフ")
_DEPARTMENT = ("department", "dept", "部署", "部門")
_VALUE_ADD = ("add", "追加")
_VALUE_ARCHIVE = ("archive", "remove", "アーカイブ", "削除")
_VALUE_RESTORE = ("restore", "復元")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AdminCommand:
    """An admin phrase and its arguments (the raw rest of the line, and split words)."""

    kind: AdminKind
    rest: str = ""
    words: tuple[str, ...] = field(default_factory=tuple)


def _starts(text: str, phrases: tuple[str, ...]) -> str | None:
    folded = _SPACES.sub(" ", fold(text))
    for phrase in phrases:
        if folded == phrase or folded.startswith(phrase + " "):
            return text.strip()[len(phrase):].strip() if len(folded) == len(text.strip()) else ""
    return None


def _words(text: str) -> tuple[str, ...]:
    cleaned = text.replace("“", '"').replace("”", '"').replace("「", '"').replace("」", '"')
    try:
        return tuple(shlex.split(cleaned))
    except ValueError:
        return tuple(cleaned.split())


def parse_admin(text: str, parsed: ParsedCommand | None = None) -> AdminCommand | None:
    """The admin phrase at the start of ``text`` (after the bot mention), or None."""
    parsed = parsed or parse_command(text)
    if parsed.kind is CommandKind.ADMIN:
        return parse_admin(parsed.rest) or None
    if _starts(text, _FEED_HERE) is not None:
        return AdminCommand("feed_here")
    if _starts(text, _FEED_OFF) is not None:
        return AdminCommand("feed_off")
    first, _, rest = text.strip().partition(" ")
    if fold(first) in _DEPARTMENT:
        return AdminCommand("department", rest.strip())
    if parsed.kind is CommandKind.VALUES and parsed.rest:
        verb, _, args = parsed.rest.partition(" ")
        key = fold(verb)
        if key in _VALUE_ADD:
            return AdminCommand("value_add", args.strip(), _words(args))
        if key in _VALUE_ARCHIVE:
            return AdminCommand("value_archive", args.strip(), _words(args))
        if key in _VALUE_RESTORE:
            return AdminCommand("value_restore", args.strip(), _words(args))
    return None


def is_emoji(word: str) -> bool:
    """True for a short word with no letters or digits (an emoji such as 🤝 or 🙌🏽)."""
    return 0 < len(word) <= 8 and not any(ch.isalnum() for ch in word)
