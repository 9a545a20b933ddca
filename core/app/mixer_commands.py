"""Mixer commands and outcomes (shuffle lunch): what people ask, and what they get back.

Kept apart from ``commands.py``/``outcomes.py`` so the feature is one module; every surface builds
these (the text grammar, Discord ``/mixer``, the CLI) and ``core.app.mixers`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from core.app.commands import AdminCommand, Command
from core.app.outcomes import Outcome
from core.mixers.service import MixerView, RoundView
from core.views import MemberRef


@dataclass(frozen=True)
class CreateMixer(Command):
    """A new mixer in the channel the command came from."""

    name: str
    start: str
    repeat: str | None = None
    size: str | None = None
    place: str = ""
    announce: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class ListMixers(Command):
    """The workspace's mixers."""


@dataclass(frozen=True)
class ShowMixer(Command):
    mixer: str


@dataclass(frozen=True)
class JoinMixer(Command):
    mixer: str


@dataclass(frozen=True)
class LeaveMixer(Command):
    mixer: str


@dataclass(frozen=True)
class PauseMixer(Command):
    """Sit out the rounds up to and including ``until`` (YYYY-MM-DD)."""

    mixer: str
    until: str


@dataclass(frozen=True)
class SkipMixerRound(Command):
    """Sit out the next round only."""

    mixer: str


@dataclass(frozen=True)
class EndMixer(Command):
    mixer: str
    checks_rights: ClassVar[bool] = True  # the organiser or an admin


@dataclass(frozen=True)
class InviteDepartment(AdminCommand):
    """Invite every member of a department 1:1 (nobody is added: joining stays voluntary)."""

    mixer: str
    department: str


@dataclass(frozen=True)
class AnswerMixerRound(Command):
    """"We met" (``yes``) or "We couldn't" (``no``) for one's group of a round."""

    round: str
    answer: str


@dataclass(frozen=True)
class ListMixerGroup(Command):
    """The people of one's own group in a round (to thank them)."""

    round: str


MixerEvent = Literal["created", "shown", "joined", "left", "paused", "skipping", "ended"]


@dataclass(frozen=True)
class MixerShown(Outcome):
    """A mixer after ``event``."""

    view: MixerView
    event: MixerEvent


@dataclass(frozen=True)
class MixersListed(Outcome):
    views: tuple[MixerView, ...]


@dataclass(frozen=True)
class DepartmentInvited(Outcome):
    view: MixerView
    department: str
    invited: int


@dataclass(frozen=True)
class MixerRoundAnnounced(Outcome):
    """A formed round: for the channel (``group`` None) or for one member (their group's number)."""

    round: RoundView
    group: int | None = None


@dataclass(frozen=True)
class MixerInvitation(Outcome):
    view: MixerView


@dataclass(frozen=True)
class MixerDayReminder(Outcome):
    """The day of a round: for a group (with "We met" / "We couldn't"), or for the channel (``group`` None)."""

    round: RoundView
    group: int | None = None


@dataclass(frozen=True)
class MixerAnswered(Outcome):
    """An answer recorded; ``others`` are the rest of the group (to thank them)."""

    round: RoundView
    met: bool
    others: tuple[str, ...]


@dataclass(frozen=True)
class MixerGroupListed(Outcome):
    """One's group of a round: everyone in it, the asker included."""

    round_id: int
    mixer_name: str
    people: tuple[MemberRef, ...]
