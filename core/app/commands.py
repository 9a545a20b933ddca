"""What a person can ask of Kizuna, as typed, frozen command objects.

Every surface builds these: the text grammar (Teams messages, the console), Discord from its
options, the CLI from its arguments. ``core.app.execute`` runs them. A command says *who may*
run it in ``rights``; the executor enforces it, once, for every surface.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Literal

from core.services.members import Person
from core.services.stats import Direction, Period

Rights = Literal["anyone", "admin"]


@dataclass(frozen=True)
class Command:
    """Base of every command. ``rights`` is who may run it; ``changes_workspace`` says that the
    command may change settings, rights or departments (a cached identity must not be trusted
    for it, and caches are forgotten after it); ``checks_rights`` that its service decides by
    the caller's admin flag itself (e.g. "the organiser or an admin")."""

    rights: ClassVar[Rights] = "anyone"
    changes_workspace: ClassVar[bool] = False
    checks_rights: ClassVar[bool] = False

    @classmethod
    def reads_fresh(cls) -> bool:
        """Anything that checks rights or changes the workspace reads its caller fresh."""
        return cls.rights != "anyone" or cls.changes_workspace or cls.checks_rights


class AdminCommand(Command):
    """A command only admins may run."""

    rights: ClassVar[Rights] = "admin"
    changes_workspace: ClassVar[bool] = True


# ---- thanks and claps --------------------------------------------------------------------------


@dataclass(frozen=True)
class GiveThanks(Command):
    """Thank ``recipients`` for ``message``, tagged with ``values`` (keys or names, either language)."""

    recipients: tuple[Person, ...]
    message: str
    values: tuple[str, ...] = ()
    # ``+launch``: the project it belongs to (``+none``: none, not even the channel's project).
    projects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clap(Command):
    """👏 a thanks (once per person)."""

    thanks_id: int


@dataclass(frozen=True)
class Unclap(Command):
    """Take a 👏 back."""

    thanks_id: int


@dataclass(frozen=True)
class ShowThanks(Command):
    """A thanks as it is now (a card's refresh)."""

    thanks_id: int


# ---- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowLeaderboard(Command):
    """The ranking for a period, by received or sent thanks, optionally of one department."""

    period: Period = Period.MONTH
    direction: Direction = Direction.RECEIVED
    department: str | None = None


@dataclass(frozen=True)
class ListValues(Command):
    """The workspace's values (with the archived ones, for admins who ask)."""

    include_archived: bool = False


@dataclass(frozen=True)
class ShowHelp(Command):
    """How to use Kizuna (``topic``: a command word such as ``meeting``, or None for everything)."""

    topic: str | None = None


@dataclass(frozen=True)
class SetNotifications(Command):
    """Turn the 1:1 notices of received thanks on or off, for oneself."""

    enabled: bool


@dataclass(frozen=True)
class ListDepartments(Command):
    """The departments and how many people are in each."""


# ---- meetings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingFields:
    """What a meeting is made of, as typed (checked and parsed by the meetings service)."""

    title: str | None = None
    start: str | None = None
    timezone: str | None = None
    repeat: str | None = None
    rrule: str | None = None
    until: date | None = None
    duration: str | None = None
    agenda: str | None = None
    place: str | None = None
    departments: str | None = None
    remind: str | None = None
    channel: str | None = None
    # ``on``/``off`` (either language): the prompt to thank the people who came, after each occurrence.
    thanks_prompt: str | None = None
    # The project it belongs to (a key or name, ``+launch``); ``none`` / ``なし`` takes it out of one.
    project: str | None = None

    def given(self) -> dict[str, object]:
        """The fields that were given, under the service's argument names."""
        names = {"duration": "duration_minutes"}
        return {names.get(k, k): v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class CreateMeeting(Command):
    """Schedule a meeting series; reminders go to ``fields.channel`` or the channel asked from."""

    fields: MeetingFields


@dataclass(frozen=True)
class OpenMeetingForm(Command):
    """Ask for the meeting form (surfaces with dialogs open it; others explain the text form)."""


@dataclass(frozen=True)
class ListMeetings(Command):
    """The meetings and their next dates."""

    include_ended: bool = False


@dataclass(frozen=True)
class ShowMeeting(Command):
    """One meeting and its next dates."""

    meeting: str


@dataclass(frozen=True)
class EditMeeting(Command):
    """Change a meeting series (its organiser or an admin)."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str
    fields: MeetingFields


@dataclass(frozen=True)
class SkipOccurrence(Command):
    """Skip one date of a series."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str
    occurrence: str


@dataclass(frozen=True)
class RestoreOccurrence(Command):
    """Undo a skip or a move."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str
    occurrence: str


@dataclass(frozen=True)
class MoveOccurrence(Command):
    """Move one date of a series to ``to`` (``YYYY-MM-DD HH:MM``, or ``HH:MM`` on the same day)."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str
    occurrence: str
    to: str


@dataclass(frozen=True)
class PauseMeeting(Command):
    """Stop reminders until resumed."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str


@dataclass(frozen=True)
class ResumeMeeting(Command):
    """Start reminders again."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str


@dataclass(frozen=True)
class CancelMeeting(Command):
    """End a series."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str


@dataclass(frozen=True)
class AnswerRsvp(Command):
    """Say whether one is coming (``yes``/``maybe``/``no`` in either language)."""

    meeting: str
    occurrence: str
    answer: str


@dataclass(frozen=True)
class ShowRsvps(Command):
    """Who answered what (the organiser or an admin); the next date when ``occurrence`` is None."""

    checks_rights: ClassVar[bool] = True  # the organiser or an admin

    meeting: str
    occurrence: str | None = None


@dataclass(frozen=True)
class ShowReminder(Command):
    """The reminder of one date with its current answers (a card's refresh)."""

    meeting: str
    occurrence: str


@dataclass(frozen=True)
class ListAttendees(Command):
    """Who said they are coming to one date (to thank them afterwards)."""

    meeting: str
    occurrence: str


# ---- setting up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowSetup(Command):
    """How far the workspace is set up: the feed channel, values, departments, a first meeting."""


@dataclass(frozen=True)
class WelcomeInstaller(Command):
    """Kizuna was just installed by the caller: send them the setup checklist privately, once per
    install event (``Context.event_key``; a platform that repeats the event sends it once)."""


# ---- administration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowSettings(AdminCommand):
    """The workspace's settings."""

    changes_workspace: ClassVar[bool] = False


@dataclass(frozen=True)
class ChangeSetting(AdminCommand):
    """Change one workspace setting (``core.services.workspaces.SETTINGS`` names them)."""

    name: str
    value: str


@dataclass(frozen=True)
class SetFeedChannel(AdminCommand):
    """Post every thanks to ``channel`` too (None: the channel this was asked in; "" turns it off)."""

    channel: str | None = None


@dataclass(frozen=True)
class AddValue(AdminCommand):
    """A new value."""

    key: str
    name_en: str
    name_ja: str = ""
    emoji: str = ""
    description_en: str = ""
    description_ja: str = ""


@dataclass(frozen=True)
class RenameValue(AdminCommand):
    """New names (or emoji) for a value; None leaves one as it is."""

    value: str
    name_en: str | None = None
    name_ja: str | None = None
    emoji: str | None = None


@dataclass(frozen=True)
class ReorderValues(AdminCommand):
    """Show these values first, in this order."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class ArchiveValue(AdminCommand):
    """Retire a value (old thanks keep it)."""

    value: str


@dataclass(frozen=True)
class RestoreValue(AdminCommand):
    """Bring an archived value back."""

    value: str


@dataclass(frozen=True)
class SetDepartment(AdminCommand):
    """Put a member in a department (None or "" takes them out)."""

    member: Person
    department: str | None


@dataclass(frozen=True)
class RenameDepartment(AdminCommand):
    """A department's new name."""

    department: str
    new_name: str


@dataclass(frozen=True)
class MergeDepartments(AdminCommand):
    """Move everyone (and the history) of ``source`` into ``target``, and remove ``source``."""

    source: str
    target: str


@dataclass(frozen=True)
class MapRole(AdminCommand):
    """Members with this Discord role belong to ``department``."""

    role_id: str
    department: str


@dataclass(frozen=True)
class GrantAdmin(AdminCommand):
    """Make a member an admin of the workspace."""

    member: Person


@dataclass(frozen=True)
class RevokeAdmin(AdminCommand):
    """Take admin rights away (never from the last admin)."""

    member: Person


@dataclass(frozen=True)
class ListAdmins(AdminCommand):
    """Who administers the workspace."""

    changes_workspace: ClassVar[bool] = False


# ---- the digest and personal recaps ------------------------------------------------------------


@dataclass(frozen=True)
class SetDigestSchedule(AdminCommand):
    """How often the digest is posted to the feed channel: ``weekly``, ``monthly`` or ``off`` (either language)."""

    schedule: str


@dataclass(frozen=True)
class SetRecap(Command):
    """Turn one's own personal monthly recap (a private message) on or off."""

    enabled: bool


# ---- cross-department projects -----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFields:
    """What a project is made of, as typed (checked by ``core.projects.service``); None leaves a field."""

    name: str | None = None
    purpose: str | None = None
    departments: str | None = None
    channel: str | None = None  # a channel id; ``here`` (either language) is the channel asked from
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class CreateProject(Command):
    """Start a project owned by the caller, with ``members`` (the caller is one)."""

    key: str
    fields: ProjectFields
    members: tuple[Person, ...] = ()


@dataclass(frozen=True)
class EditProject(Command):
    """Change a project (its owner or an admin); ``owner`` hands it over."""

    checks_rights: ClassVar[bool] = True

    project: str
    fields: ProjectFields
    owner: Person | None = None


@dataclass(frozen=True)
class AddProjectMembers(Command):
    """Add people to a project (its members, its owner or an admin)."""

    checks_rights: ClassVar[bool] = True

    project: str
    people: tuple[Person, ...]


@dataclass(frozen=True)
class RemoveProjectMembers(Command):
    """Take people out of a project (its members, its owner or an admin; anyone may leave)."""

    checks_rights: ClassVar[bool] = True

    project: str
    people: tuple[Person, ...]


@dataclass(frozen=True)
class JoinProject(Command):
    """Join an open project oneself."""

    project: str


@dataclass(frozen=True)
class CloseProject(Command):
    """Close a project (its owner or an admin): its closing card is posted once."""

    checks_rights: ClassVar[bool] = True

    project: str


@dataclass(frozen=True)
class ReopenProject(Command):
    """Open a closed project again (its owner or an admin)."""

    checks_rights: ClassVar[bool] = True

    project: str


@dataclass(frozen=True)
class ListProjects(Command):
    """The open projects (or all)."""

    include_closed: bool = False


@dataclass(frozen=True)
class ShowProject(Command):
    """One project, its members and its thanks between departments."""

    project: str


# ---- the insights dashboard --------------------------------------------------------------------


@dataclass(frozen=True)
class OpenDashboard(Command):
    """A one-time sign-in link to the insights dashboard, for the person who asks.

    ``privately``: the conversation is shared (a Teams channel or group chat), so the link goes to
    the person 1:1 through the outbox and the conversation is only told that it was sent.
    """

    privately: bool = False
