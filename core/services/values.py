"""The organisation's values: bilingual defaults, admin edits, and tag matching."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import InvalidValueDefinition, NotAnEmoji, UnknownValue, ValueKeyTaken, ValueNameTaken
from core.i18n import fold
from core.models import Member, Value, Workspace
from core.services.access import require_admin
from core.views import ValueRef

DEFAULT_VALUES: tuple[tuple[str, str, str, str, str, str], ...] = (
    # key, English, 日本語, emoji, description (en), 説明 (ja)
    ("collaboration", "Collaboration", "協力", "🤝",
     "Working across teams and departments", "チームや部署を越えて力を合わせる"),
    ("teamwork", "Teamwork", "チームワーク", "🙌",
     "Making the team stronger together", "チームで支え合い、強くする"),
    ("challenge", "Challenge", "挑戦", "🚀",
     "Trying something new and bold", "新しいことに果敢に挑む"),
    ("customer-first", "Customer first", "顧客第一", "💡",
     "Putting the customer at the centre", "お客様を第一に考える"),
    ("growth", "Growth", "成長", "🌱",
     "Learning and helping others learn", "学び、学びを分かち合う"),
)

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TAG_PREFIXES = ("#", "＃")


def to_ref(value: ValueLike) -> ValueRef:
    """The immutable view of a value."""
    return ValueRef(value.key, value.emoji, value.name_en, value.name_ja,
                    value.description_en, value.description_ja, value.active)


async def seed_default_values(workspace: Workspace) -> None:
    """Create the default values in a new workspace."""
    await Value.bulk_create([
        Value(workspace=workspace, key=key, name_en=en, name_ja=ja, emoji=emoji,
              description_en=d_en, description_ja=d_ja, position=i)
        for i, (key, en, ja, emoji, d_en, d_ja) in enumerate(DEFAULT_VALUES)
    ])


async def list_values(workspace: Workspace, *, include_archived: bool = False) -> list[Value]:
    """The workspace's values in display order."""
    query = Value.filter(workspace_id=workspace.id)
    if not include_archived:
        query = query.filter(active=True)
    return await query.order_by("position", "id")


class ValueLike(Protocol):
    """What matching and display need of a value: a ``Value`` row or a ``ValueRow``."""

    @property
    def id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def name_ja(self) -> str: ...
    @property
    def emoji(self) -> str: ...
    @property
    def description_en(self) -> str: ...
    @property
    def description_ja(self) -> str: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class ValueRow:
    """A value read without building an ORM object (the thanks hot path reads them on every thanks)."""

    id: int
    key: str
    name_en: str
    name_ja: str
    emoji: str
    description_en: str
    description_ja: str
    active: bool


_V = TypeVar("_V", bound=ValueLike)


def _match_keys(value: ValueLike) -> set[str]:
    return {fold(value.key), fold(value.name_en), fold(value.name_ja),
            fold(value.name_en).replace(" ", "-"), fold(value.name_en).replace(" ", "")}


def match_value(values: Sequence[_V], tag: str) -> _V | None:
    """The value ``tag`` names (``#teamwork``, ``＃チームワーク``, ``Teamwork``…), or None."""
    folded = fold(tag).lstrip("#")
    if not folded:
        return None
    for value in values:
        if folded in _match_keys(value):
            return value
    return None


def pick_values(values: Sequence[ValueRow], tags: Sequence[str]) -> list[ValueRow]:
    """The active values the tags name, de-duplicated in order, from the workspace's values (archived
    too) already read; ``UnknownValue`` for any other tag."""
    resolved: list[ValueRow] = []
    for tag in tags:
        value = match_value(values, tag)
        if value is None or not value.active:
            active = [v for v in values if v.active]
            raise UnknownValue(tag=tag.strip(), available=" ".join(f"#{v.key}" for v in active))
        if value not in resolved:
            resolved.append(value)
    return resolved


def _check_definition(key: str, name_en: str, name_ja: str, emoji: str) -> None:
    if not _KEY_RE.match(key):
        raise InvalidValueDefinition(reason="key")
    for text in (name_en, name_ja):
        if not text.strip() or len(text) > 64 or any(p in text for p in TAG_PREFIXES):
            raise InvalidValueDefinition(reason="name")
    if len(emoji) > 32:
        raise InvalidValueDefinition(reason="emoji")
    if emoji.strip() and not _is_emoji(emoji.strip()):
        raise NotAnEmoji(emoji=emoji.strip())


_KEYCAP = "\u20e3"  # 1️⃣, #️⃣, *️⃣: a digit, # or * (and a variation selector) in a keycap


def _is_emoji(text: str) -> bool:
    """Whether ``text`` is made of emoji: pictographs and symbols with their joiners, variation
    selectors, skin tones and tag characters, keycaps included; no letters, digits, spaces or ASCII."""
    for index, char in enumerate(text):
        if char in "0123456789#*" and text[index + 1:index + 3].lstrip("\ufe0f").startswith(_KEYCAP):
            continue
        category = unicodedata.category(char)
        if char.isascii() or category[0] in "LNZ" or category in ("Cc", "Co", "Cn", "Cs"):
            return False
    return bool(text)


def _check_names_free(others: Sequence[ValueLike], *names: str) -> None:
    """``ValueNameTaken`` if a name would also be another value's tag (its key or one of its names)."""
    for name in names:
        if any(fold(name) in _match_keys(v) for v in others):
            raise ValueNameTaken(name=name.strip())


async def add_value(workspace: Workspace, actor: Member, key: str, name_en: str, name_ja: str = "",
                    emoji: str = "", description_en: str = "", description_ja: str = "") -> Value:
    """Add a value (admins only); the key is lower-case letters, digits, ``-`` and ``_``."""
    require_admin(actor)
    key = fold(key).lstrip("#")
    name_ja = name_ja or name_en
    _check_definition(key, name_en, name_ja, emoji)
    existing = await Value.filter(workspace_id=workspace.id)
    if any(key == v.key for v in existing):
        raise ValueKeyTaken(key=key)
    _check_names_free(existing, name_en, name_ja)
    position = max((v.position for v in existing), default=-1) + 1
    try:
        return await Value.create(workspace=workspace, key=key, name_en=name_en.strip(),
                                  name_ja=name_ja.strip(), emoji=emoji.strip(),
                                  description_en=description_en[:255], description_ja=description_ja[:255],
                                  position=position)
    except IntegrityError:
        raise ValueKeyTaken(key=key) from None


async def _get_value(workspace: Workspace, tag: str) -> Value:
    values = await list_values(workspace, include_archived=True)
    value = match_value(values, tag)
    if value is None:
        raise UnknownValue(tag=tag, available=" ".join(f"#{v.key}" for v in values if v.active))
    return value


async def rename_value(workspace: Workspace, actor: Member, tag: str, *, name_en: str | None = None,
                       name_ja: str | None = None, emoji: str | None = None) -> Value:
    """Rename a value or change its emoji (admins only)."""
    require_admin(actor)
    value = await _get_value(workspace, tag)
    new_en, new_ja = name_en or value.name_en, name_ja or value.name_ja
    new_emoji = value.emoji if emoji is None else emoji
    _check_definition(value.key, new_en, new_ja, new_emoji)
    others = await Value.filter(workspace_id=workspace.id).exclude(id=value.id)
    _check_names_free(others, new_en, new_ja)
    value.name_en, value.name_ja, value.emoji = new_en.strip(), new_ja.strip(), new_emoji.strip()
    await value.save(update_fields=["name_en", "name_ja", "emoji"])
    return value


async def reorder_values(workspace: Workspace, actor: Member, tags: Sequence[str]) -> list[Value]:
    """Put the named values first, in the given order (admins only)."""
    require_admin(actor)
    values = await list_values(workspace, include_archived=True)
    ordered: list[Value] = []
    for tag in tags:
        value = match_value(values, tag)
        if value is None:
            raise UnknownValue(tag=tag, available=" ".join(f"#{v.key}" for v in values if v.active))
        if value not in ordered:
            ordered.append(value)
    ordered += [v for v in values if v not in ordered]
    async with in_transaction():
        for position, value in enumerate(ordered):
            if value.position != position:
                await Value.filter(id=value.id).update(position=position)
                value.position = position
    return [v for v in ordered if v.active]


async def set_value_active(workspace: Workspace, actor: Member, tag: str, active: bool) -> Value:
    """Archive (or restore) a value (admins only); old thanks keep showing it."""
    require_admin(actor)
    value = await _get_value(workspace, tag)
    await Value.filter(id=value.id).update(active=active)
    value.active = active
    return value
