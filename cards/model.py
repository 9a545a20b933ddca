"""Typed, immutable messages. Adapters render these; they never see core models.

Every text field is already localised and is plain user-visible text: renderers must treat it
as text (escape it for their format), never as markup or a template.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ActionKind = Literal["clap", "unclap", "rsvp", "thank_attendees", "open_thanks_form", "thank_project", "mixer_met",
                     "thank_group"]


@dataclass(frozen=True)
class Person:
    """Someone a message names: platform id (for a real mention) and display name."""

    platform_user_id: str
    name: str


@dataclass(frozen=True)
class ValueBadge:
    """A value as shown on a message."""

    key: str
    emoji: str
    name: str


@dataclass(frozen=True)
class Action:
    """A button. ``data`` is what comes back when it is pressed (ids as strings)."""

    kind: ActionKind
    label: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ThanksMessage:
    """A thanks as posted in a channel or a feed.

    ``sent_at`` is the moment in the workspace's time zone, named (what a surface that cannot
    localise shows); ``sent_at_utc`` is the same moment (``utc_instant``), for surfaces that show
    it in each reader's own zone and language.
    """

    locale: str
    thanks_id: int
    title: str
    sender: Person
    recipients: tuple[Person, ...]
    values: tuple[ValueBadge, ...]
    message: str
    clap_count: int
    clap_text: str
    sent_at: str
    actions: tuple[Action, ...]
    sent_at_utc: str = ""
    # The project it was given within ("📁 Launch 2027 +launch"), or "".
    project: str = ""
    kind: Literal["thanks"] = "thanks"


@dataclass(frozen=True)
class LeaderboardRow:
    """One line of a leaderboard."""

    rank: int
    person: Person
    count: int
    count_text: str
    department: str | None


@dataclass(frozen=True)
class LeaderboardMessage:
    """The top members for a period."""

    locale: str
    title: str
    subtitle: str
    rows: tuple[LeaderboardRow, ...]
    empty_text: str
    kind: Literal["leaderboard"] = "leaderboard"


@dataclass(frozen=True)
class ValueLine:
    """One value in the values list."""

    key: str
    emoji: str
    name: str
    other_name: str
    description: str


@dataclass(frozen=True)
class ValuesMessage:
    """The workspace's active values."""

    locale: str
    title: str
    values: tuple[ValueLine, ...]
    hint: str
    kind: Literal["values"] = "values"


@dataclass(frozen=True)
class HelpLine:
    """One command and what it does."""

    command: str
    description: str


@dataclass(frozen=True)
class HelpMessage:
    """How to use Kizuna on this platform."""

    locale: str
    title: str
    intro: str
    lines: tuple[HelpLine, ...]
    kind: Literal["help"] = "help"


@dataclass(frozen=True)
class ErrorMessage:
    """A polite, localised explanation of what went wrong."""

    locale: str
    text: str
    kind: Literal["error"] = "error"


@dataclass(frozen=True)
class NoticeMessage:
    """A short confirmation or information.

    ``chat_with`` (platform user ids) asks for a way to start a group chat with those people, where
    the platform has one (Teams: a deep link button), named ``chat_topic``; ``chat_in`` is a channel
    they all share, where the platform can look them up.
    """

    locale: str
    text: str
    title: str = ""
    kind: Literal["notice"] = "notice"
    chat_with: tuple[str, ...] = ()
    chat_in: str = ""
    chat_topic: str = ""
    chat_label: str = ""
    actions: tuple[Action, ...] = ()
    # A web address to open (a button where the surface has buttons, a line of its own in text).
    link: str = ""
    link_label: str = ""


@dataclass(frozen=True)
class ReminderMessage:
    """A meeting reminder with RSVP buttons.

    ``starts_at_text`` says when, in the meeting's own time zone (named), and for how long;
    ``starts_at_utc`` is the start (``utc_instant``), for surfaces that also show it in each
    reader's own zone.
    """

    locale: str
    title: str
    meeting_id: int
    occurrence: str
    starts_at_text: str
    agenda: str
    place: str
    departments: tuple[str, ...]
    rsvp_summary: str
    late_note: str
    actions: tuple[Action, ...]
    starts_at_utc: str = ""
    # The project the meeting belongs to ("📁 Launch 2027 +launch"), or "".
    project: str = ""
    kind: Literal["reminder"] = "reminder"


@dataclass(frozen=True)
class DigestSection:
    """One part of a digest: a heading and its lines (plain text)."""

    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class DigestMessage:
    """A digest posted to the feed channel, or a personal recap: a title, summary lines and sections.

    Names are plain text: a digest mentions nobody. ``note`` says it comes late, when it does.
    """

    locale: str
    title: str
    summary: tuple[str, ...]
    sections: tuple[DigestSection, ...]
    note: str = ""
    kind: Literal["digest"] = "digest"


@dataclass(frozen=True)
class AfterMeetingMessage:
    """The prompt posted when a meeting's occurrence ends: who came (names as text, nobody pinged)
    and one action that opens the thanks form with them already picked.

    ``command_hint`` is the text command that does the same, for surfaces without forms (the
    console); ``ended_at_utc`` is the end (``utc_instant``).
    """

    locale: str
    title: str
    meeting_id: int
    occurrence: str
    when_text: str
    attendees: tuple[Person, ...]
    attendees_text: str
    prompt: str
    command_hint: str
    late_note: str
    actions: tuple[Action, ...]
    ended_at_utc: str = ""
    kind: Literal["after_meeting"] = "after_meeting"


@dataclass(frozen=True)
class MatrixRow:
    """One row of a small table: its label and its cells, as text."""

    label: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ProjectMessage:
    """A cross-department project: what it is, who is in it, and its thanks between departments as a
    small matrix (rows: from, columns: to). A closing card also invites the members to thank each
    other (``invitation``, with ``people`` to thank and a ``thank_project`` button)."""

    locale: str
    title: str
    project_key: str
    details: tuple[str, ...]
    summary: str
    matrix_caption: str
    corner: str
    columns: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    values_text: str
    hint: str
    invitation: str = ""
    people: tuple[Person, ...] = ()
    actions: tuple[Action, ...] = ()
    kind: Literal["project"] = "project"


def utc_instant(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC, to the second: ``2026-12-05T08:43:00Z``.

    Exactly the form Adaptive Cards' ``{{DATE(…)}}`` / ``{{TIME(…)}}`` accept (no fraction) and any
    ISO 8601 reader parses. A moment without a zone is UTC (as the database gives them, and as
    ``core.i18n.format_datetime`` reads them).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Message = (ThanksMessage | LeaderboardMessage | ValuesMessage | HelpMessage | ErrorMessage | NoticeMessage
           | ReminderMessage | DigestMessage | AfterMeetingMessage | ProjectMessage)

_KINDS: dict[str, type[Any]] = {
    "thanks": ThanksMessage, "leaderboard": LeaderboardMessage, "values": ValuesMessage, "help": HelpMessage,
    "error": ErrorMessage, "notice": NoticeMessage, "reminder": ReminderMessage, "digest": DigestMessage,
    "after_meeting": AfterMeetingMessage, "project": ProjectMessage,
}
_NESTED: dict[str, type[Any]] = {
    "sender": Person, "recipients": Person, "values": ValueBadge, "actions": Action, "rows": LeaderboardRow,
    "person": Person, "lines": HelpLine, "sections": DigestSection, "attendees": Person, "people": Person,
}


def message_to_dict(message: Message) -> dict[str, Any]:
    """A JSON-ready dict (for the outbox and golden files)."""
    return dataclasses.asdict(message)


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        raw = data[f.name]
        nested = _NESTED.get(f.name)
        if cls is ValuesMessage and f.name == "values":
            nested = ValueLine
        if cls is DigestSection and f.name == "lines":
            nested = None
        if cls is ProjectMessage and f.name == "rows":
            nested = MatrixRow
        if nested is not None and isinstance(raw, (list, tuple)):
            kwargs[f.name] = tuple(_build(nested, item) for item in raw)
        elif nested is not None and isinstance(raw, dict):
            kwargs[f.name] = _build(nested, raw)
        elif isinstance(raw, (list, tuple)):
            kwargs[f.name] = tuple(raw)
        else:
            kwargs[f.name] = raw
    return cls(**kwargs)


def message_from_dict(data: dict[str, Any]) -> Message:
    """The inverse of ``message_to_dict``."""
    cls = _KINDS[str(data["kind"])]
    message: Message = _build(cls, data)
    return message
