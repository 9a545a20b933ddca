"""Japanese and English messages from gettext catalogs, and locale-aware formatting.

Messages live in ``core/locale/<lang>/LC_MESSAGES/kizuna.po`` and are read with Babel, so the
catalogs are ordinary gettext files that translators' tools open. Message ids are stable
symbolic names (``error.self_thanks``); placeholders use ``{name}``.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

SUPPORTED_LOCALES = ("ja", "en")
DEFAULT_LOCALE = "ja"
_LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def catalog(locale: str) -> dict[str, str]:
    """The message table of one supported locale."""
    path = _LOCALE_DIR / locale / "LC_MESSAGES" / "kizuna.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


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
    """The message ``message_id`` in ``locale`` with ``params`` filled in."""
    lang = normalize_locale(locale) or DEFAULT_LOCALE
    text = catalog(lang).get(message_id) or catalog("en").get(message_id) or message_id
    if not params:
        return text
    formatted = {k: format_number(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v
                 for k, v in params.items()}
    return text.format(**formatted)


def format_number(number: int | float, locale: str) -> str:
    """``1234`` → ``1,234`` in both languages, per CLDR."""
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
