"""What a command did, as plain, frozen data: ``cards`` turns each into a message.

No ORM object crosses this line: a card can be built from an outcome without the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from core.meetings.recurrence import Occurrence
from core.meetings.service import MeetingView, RsvpSummary
from core.projects.service import ProjectFigures, ProjectView
from core.services.stats import Leaderboard
from core.views import MemberRef, ProjectRef, ThanksView, ValueRef


@dataclass(frozen=True)
class Outcome:
    """Base of every outcome."""


@dataclass(frozen=True)
class ThanksGiven(Outcome):
    """A thanks was recorded (``created`` is False when the same event came again)."""

    view: ThanksView
    created: bool


@dataclass(frozen=True)
class ClapChanged(Outcome):
    """A 👏 was added or taken back (``changed`` is False when it already was so)."""

    view: ThanksView
    added: bool
    changed: bool


@dataclass(frozen=True)
class ThanksShown(Outcome):
    """A thanks as it is now."""

    view: ThanksView


@dataclass(frozen=True)
class LeaderboardShown(Outcome):
    """A ranking."""

    board: Leaderboard


@dataclass(frozen=True)
class ValuesListed(Outcome):
    """The values, in their order."""

    values: tuple[ValueRef, ...]
    include_archived: bool = False


@dataclass(frozen=True)
class HelpShown(Outcome):
    """Help was asked for (the card is built from the grammar); admins also see admin commands."""

    topic: str | None = None
    admin: bool = False


@dataclass(frozen=True)
class NotificationsChanged(Outcome):
    """Notices of received thanks are now on or off."""

    enabled: bool


@dataclass(frozen=True)
class DepartmentLine:
    """A department and how many members it has."""

    name: str
    members: int
    role_id: str | None = None


@dataclass(frozen=True)
class DepartmentsListed(Outcome):
    """The departments."""

    departments: tuple[DepartmentLine, ...]


MeetingEvent = Literal["created", "edited", "skipped", "restored", "moved", "paused", "resumed", "details"]


@dataclass(frozen=True)
class MeetingShown(Outcome):
    """A meeting after ``event``, with its next dates."""

    view: MeetingView
    event: MeetingEvent
    upcoming: tuple[Occurrence, ...]


@dataclass(frozen=True)
class MeetingEnded(Outcome):
    """A series was ended."""

    view: MeetingView


@dataclass(frozen=True)
class MeetingsListed(Outcome):
    """The meetings."""

    views: tuple[MeetingView, ...]


@dataclass(frozen=True)
class MeetingFormRequested(Outcome):
    """The person asked for the meeting form; ``departments`` are the choices it offers."""

    departments: tuple[str, ...]
    timezone: str
    # The open projects a meeting may belong to.
    projects: tuple[ProjectRef, ...] = ()


@dataclass(frozen=True)
class RsvpRecorded(Outcome):
    """An answer was recorded."""

    summary: RsvpSummary
    answer: str


@dataclass(frozen=True)
class RsvpsShown(Outcome):
    """Who answered what, by name."""

    summary: RsvpSummary


@dataclass(frozen=True)
class ReminderShown(Outcome):
    """One date of a meeting with its answers; ``over`` once it has ended (time to thank)."""

    view: MeetingView
    occurrence: Occurrence
    summary: RsvpSummary
    over: bool
    late: bool = False


@dataclass(frozen=True)
class AttendeesListed(Outcome):
    """Who said they are coming to one date."""

    meeting_id: int
    occurrence: str
    people: tuple[MemberRef, ...]


@dataclass(frozen=True)
class SettingsShown(Outcome):
    """The workspace's settings (``changed`` names the one just saved)."""

    settings: Mapping[str, object]
    changed: str | None = None


ValueEvent = Literal["added", "renamed", "archived", "restored"]


@dataclass(frozen=True)
class ValueChanged(Outcome):
    """A value was added, renamed, archived or restored."""

    value: ValueRef
    event: ValueEvent


@dataclass(frozen=True)
class ValuesReordered(Outcome):
    """The values in their new order."""

    values: tuple[ValueRef, ...]


DepartmentEvent = Literal["assigned", "renamed", "merged", "role_mapped"]


@dataclass(frozen=True)
class DepartmentChanged(Outcome):
    """A department change: ``subject`` is the member (assigned), the old name (renamed, merged)
    or the role (role_mapped); ``department`` the department it is now ("" for none)."""

    event: DepartmentEvent
    subject: str
    department: str


@dataclass(frozen=True)
class AdminChanged(Outcome):
    """A member's admin right was granted or revoked (``changed`` is False when it already was so)."""

    member: MemberRef
    granted: bool
    changed: bool


@dataclass(frozen=True)
class AdminsListed(Outcome):
    """The workspace's admins."""

    admins: tuple[MemberRef, ...]


@dataclass(frozen=True)
class SetupShown(Outcome):
    """The setup checklist: what is done and what is left (``installed``: the greeting of a new install)."""

    workspace_name: str
    feed_channel: bool
    values: int
    departments: int
    mapped_roles: int
    meetings: int
    installed: bool = False

    @property
    def steps_left(self) -> int:
        return sum(not done for done in (self.feed_channel, self.values, self.departments, self.meetings))


@dataclass(frozen=True)
class InstallerWelcomed(Outcome):
    """The setup checklist is on its way to the installer (``queued`` is False when this install was greeted)."""

    queued: bool


ProjectEvent = Literal["created", "edited", "members_added", "members_removed", "joined", "closed", "reopened",
                       "details"]


@dataclass(frozen=True)
class ProjectShown(Outcome):
    """A project after ``event``, with its thanks in numbers."""

    view: ProjectView
    figures: ProjectFigures
    event: ProjectEvent


@dataclass(frozen=True)
class ProjectsListed(Outcome):
    """The projects."""

    views: tuple[ProjectView, ...]
    include_closed: bool = False


@dataclass(frozen=True)
class ProjectClosing(Outcome):
    """The closing card of a project: its figures, and an invitation to its members to thank each other."""

    view: ProjectView
    figures: ProjectFigures


@dataclass(frozen=True)
class DashboardLinkIssued(Outcome):
    """A one-time sign-in link to the dashboard (only its reader should see it)."""

    url: str
    minutes: int


@dataclass(frozen=True)
class DashboardLinkSentPrivately(Outcome):
    """The sign-in link went to the person 1:1 (they asked in a shared conversation)."""
