"""Plain, immutable views of core objects: what services return and what cards are built from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MemberRef:
    """A member as a message shows them."""

    id: int
    platform_user_id: str
    display_name: str


@dataclass(frozen=True)
class ValueRef:
    """A value as a message shows it."""

    key: str
    emoji: str
    name_en: str
    name_ja: str
    description_en: str = ""
    description_ja: str = ""
    active: bool = True

    def name(self, locale: str) -> str:
        """The value's name in ``locale``."""
        return self.name_ja if locale == "ja" else self.name_en

    def description(self, locale: str) -> str:
        """The value's description in ``locale`` (falls back to the other language)."""
        first, second = (self.description_ja, self.description_en) if locale == "ja" else (
            self.description_en, self.description_ja)
        return first or second


@dataclass(frozen=True)
class ProjectRef:
    """A cross-department project as a message names it."""

    key: str
    name: str


@dataclass(frozen=True)
class ThanksView:
    """A thanks with everything a message about it shows."""

    id: int
    workspace_id: int
    sender: MemberRef
    recipients: tuple[MemberRef, ...]
    values: tuple[ValueRef, ...]
    message: str
    created_at: datetime
    clap_count: int
    project: ProjectRef | None = None
