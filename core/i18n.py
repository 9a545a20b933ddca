"""Japanese and English messages from gettext catalogs, and locale-aware formatting.

Messages live in ``core/locale/<lang>/LC_MESSAGES/kizuna.po`` and are read with Babel, so the
catalogs are ordinary gettext files that translators' tools open. Message ids are stable
symbolic names (``error.self_thanks``); placeholders use ``{name}``. A message that counts
something is a gettext plural entry (``msgid_plural`` with the same id, one ``msgstr[i]`` per
form of the catalog's ``Plural-Forms``): ``translate`` picks the form that agrees with ``count``.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

SUPPORTED_LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
_LOCALE_DIR = Path(__file__).parent / "locale"


@dataclass(frozen=True)
class _Messages:
    """One locale's catalog: every id with its text or plural forms, and gettext to choose a form."""

    forms: dict[str, tuple[str, ...]]
    plural_ids: frozenset[str]
    translations: Translations

    def lookup(self, message_id: str, count: Any) -> str | None:
        """The text of ``message_id`` (in the form for ``count``, if it counts), or None if absent."""
        if message_id not in self.plural_ids:
            forms = self.forms.get(message_id)
            return forms[0] if forms else None
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"{message_id} has plural forms: pass the number as count=")
        return str(self.translations.ngettext(message_id, message_id, count))


@cache
def _messages(locale: str) -> _Messages:
    path = _LOCALE_DIR / locale / "LC_MESSAGES" / "kizuna.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    forms: dict[str, tuple[str, ...]] = {}
    plural_ids: set[str] = set()
    for m in po:
        if not m.id:
            continue
        key = str(m.id[0] if isinstance(m.id, tuple | list) else m.id)
        strings = tuple(str(t) for t in m.string) if isinstance(m.string, tuple | list) else (str(m.string),)
        if all(strings):
            forms[key] = strings
            if m.pluralizable:
                plural_ids.add(key)
    # The catalog's Plural-Forms header chooses the form, as gettext reads it from a compiled catalog.
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    return _Messages(forms, frozenset(plural_ids), Translations(compiled))


def catalog(locale: str) -> dict[str, tuple[str, ...]]:
    """The message table of one supported locale: each id with its text (or its plural forms)."""
    return dict(_messages(locale).forms)
def normalize_locale(tag: str | None) -> str | None:
    """``ja-JP``, ``ja_JP``, ``JA`` → ``ja``; an unsupported or empty tag → None."""
    if not tag:
        return None
    language = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else None


def resolve_locale(member_locale: str | None, workspace_locale: str | None = None) -> str:
    """The member's platform locale wins, then the workspace default, then Japanese."""
    return normalize_locale(member_locale) or normalize_locale(workspace_locale) or DEFAULT_LOCALE


def translate(locale: str, message_id: str, /, **params: Any) -> str:
    """The message ``message_id`` in ``locale`` with ``params`` filled in.

    A plural message takes the form that agrees with ``params["count"]`` (``1 clap`` / ``2 claps``);
    it is a ``TypeError`` to ask for one without a whole-number ``count``.
    """
    lang = normalize_locale(locale) or DEFAULT_LOCALE
    count = params.get("count")
    text = (_messages(lang).lookup(message_id, count) or _messages("en").lookup(message_id, count)
            or message_id)
    if not params:
        return text
    formatted = {k: format_number(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v
                 for k, v in params.items()}
    return text.format(**formatted)


def format_number(number: int | float, locale: str) -> str:
    """``1234`` → ``1,234`` in both languages, per CLDR."""
    if isinstance(number, int) and -1000 < number < 1000:
        return str(number)  # both languages write these with Latin digits and no grouping: skip Babel
    return str(format_decimal(number, locale=Locale.parse(normalize_locale(locale) or DEFAULT_LOCALE)))


def format_date(day: date, locale: str) -> str:
    """A medium date: ``2026年11月27日`` / ``Nov 27, 2026``."""
    return str(_babel_format_date(day, format="medium", locale=normalize_locale(locale) or DEFAULT_LOCALE))


def format_datetime(moment: datetime, locale: str, tz: str | None = None) -> str:
    """A medium date and short time in ``tz`` (or the moment's own zone)."""
    lang = normalize_locale(locale) or DEFAULT_LOCALE
    fmt = "yyyy年M月d日(E) H:mm" if lang == "ja" else "EEE, MMM d, yyyy h:mm a"
    zone = ZoneInfo(tz) if tz else None
    return str(_babel_format_datetime(moment, format=fmt, tzinfo=zone, locale=lang))


def fold(text: str) -> str:
    """NFKC + case folding: how tags and names are compared (``＃Ｔｅａｍ`` ≡ ``#team``)."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


# Units a length of time is told in, largest first: (minutes in one, plural message id).
_DURATION_UNITS = ((7 * 1440, "duration.weeks"), (1440, "duration.days"), (60, "duration.hours"),
                   (1, "duration.minutes"))


def format_duration(minutes: int, locale: str) -> str:
    """A length of time in words: ``90`` → ``1 hour 30 minutes`` / ``1時間30分``; ``0`` → ``0 minutes``."""
    lang = normalize_locale(locale) or DEFAULT_LOCALE
    parts, rest = [], max(minutes, 0)
    for size, message_id in _DURATION_UNITS:
        number, rest = divmod(rest, size)
        if number:
            parts.append(translate(lang, message_id, count=number))
    # CLDR's narrow unit list joins the parts of one length: a space in English, nothing in Japanese.
    return str(format_list(parts, style="unit-narrow", locale=lang)) if parts else \
        translate(lang, "duration.minutes", count=0)


def format_durations(minutes: Sequence[int], locale: str) -> str:
    """Several lengths as one list: ``[1440, 15]`` → ``1 day and 15 minutes`` / ``1日、15分``."""
    lang = normalize_locale(locale) or DEFAULT_LOCALE
    return str(format_list([format_duration(m, lang) for m in minutes], locale=lang)) if minutes else ""
