"""Cross-department projects: every rule about them, once.

A project belongs to one workspace; its key is unique there and is typed after ``+`` in a thanks
(``+launch``, ``＋ローンチ``), matched like a value tag: by key or name, case-, width- and
language-insensitively. ``+none`` / ``+なし`` says that a thanks belongs to no project (a thanks sent
in a project's channel otherwise belongs to it). A thanks carries at most one project; a closed
project takes no new thanks but keeps its history. Its owner and admins edit, close and reopen it;
its members, its owner and admins add and remove members; anyone joins an open project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import outbox
from core.errors import UnknownDepartment
from core.i18n import fold
from core.meetings.models import ENDED, Meeting, OccurrenceOverride
from core.meetings.recurrence import LOCAL_FORMAT, Override, Series, held_before
from core.models import NO_DEPARTMENT, Department, Member, Workspace
from core.projects import errors
from core.projects.models import CLOSED, OPEN, Project, ProjectMember
from core.services.members import find_department
from core.sql import Sql
from core.views import MemberRef, ProjectRef, ValueRef

TAG_PREFIXES = ("+", "＋")
# ``+none`` / ``+なし``: the sender says this thanks belongs to no project (not even its channel's).
NO_PROJECT_WORDS = frozenset({"none", "no-project", "noproject", "なし", "無し", "プロジェクトなし"})
_KEY_RE = re.compile(r"^[^\W\d_][\w-]{0,31}$")
MAX_NAME = 100
MAX_PURPOSE = 1000
MAX_DEPARTMENTS = 10
CLOSING_KIND = "project_closing"


class ProjectLike(Protocol):
    """What matching needs of a project: a ``Project`` row or a ``ProjectRow``."""

    @property
    def id(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...


P = TypeVar("P", bound=ProjectLike)


@dataclass(frozen=True)
class ProjectRow:
    """A project read without building an ORM object (the thanks path reads them)."""

    id: int
    key: str
    name: str
    status: str


def _match_keys(project: ProjectLike) -> set[str]:
    name = fold(project.name)
    return {fold(project.key), name, name.replace(" ", "-"), name.replace(" ", "")}


def _tag(text: str) -> str:
    return fold(text).lstrip("+")  # NFKC made ``＋`` a ``+``


def is_no_project(tag: str) -> bool:
    """Whether ``tag`` (``+none``, ``＋なし``…) says "no project"."""
    return _tag(tag) in NO_PROJECT_WORDS


def match_project(projects: Sequence[P], tag: str) -> P | None:
    """The project ``tag`` names (by key or name, either width or case), or None."""
    wanted = _tag(tag)
    if not wanted:
        return None
    return next((p for p in projects if wanted in _match_keys(p)), None)


def _available(projects: Sequence[ProjectLike]) -> str:
    return " ".join(f"+{p.key}" for p in projects if p.status == OPEN) or "—"


def pick_project(projects: Sequence[P], tags: Sequence[str]) -> P | None:
    """The one open project ``tags`` name (None for none); ``UnknownProject``, ``TooManyProjects`` or
    ``ProjectClosed`` otherwise."""
    chosen: list[P] = []
    for tag in tags:
        if is_no_project(tag):
            continue
        project = match_project(projects, tag)
        if project is None:
            raise errors.UnknownProject(tag=tag.strip()[:50], available=_available(projects))
        if project not in chosen:
            chosen.append(project)
    if len(chosen) > 1 or (chosen and any(is_no_project(t) for t in tags)):
        raise errors.TooManyProjects()
    if chosen and chosen[0].status != OPEN:
        raise errors.ProjectClosed(key=chosen[0].key)
    return chosen[0] if chosen else None


# ---- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectView:
    """A project with everything a message about it shows."""

    id: int
    key: str
    name: str
    purpose: str
    departments: tuple[str, ...]
    channel: str | None
    start: date
    end: date | None
    status: str
    owner: MemberRef | None
    members: tuple[MemberRef, ...]

    @property
    def ref(self) -> ProjectRef:
        return ProjectRef(self.key, self.name)


@dataclass(frozen=True)
class ProjectFigures:
    """What a project's thanks add up to: how many, between which departments, with which values.

    ``matrix[i][j]`` counts thanks (per recipient) from ``departments[i]`` to ``departments[j]``; the
    project's departments come first, then any other department its thanks touched, then "—" (none).
    """

    thanks: int
    recipients: int
    cross_department: int
    departments: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    values: tuple[tuple[ValueRef, int], ...]
    # Its meetings (kick-off, syncs, retrospective), in the order they were scheduled.
    meetings: tuple[ProjectMeeting, ...] = ()

    @property
    def meetings_met(self) -> int:
        """How many times its meetings met, all together."""
        return sum(m.met for m in self.meetings)


@dataclass(frozen=True)
class ProjectMeeting:
    """A meeting of a project, and how many times it met (up to now, or to the project's close)."""

    id: int
    title: str
    status: str
    met: int


async def _meetings(project: Project, now: datetime | None) -> tuple[ProjectMeeting, ...]:
    """The project's meetings and how often each met: occurrences that started before now (or before the
    project closed, or the meeting ended, whichever came first), skipped ones left out."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    if project.closed_at is not None:
        moment = min(moment, project.closed_at)
    found = []
    for meeting in await Meeting.filter(project_id=project.id).order_by("id"):
        overrides = {r.occurrence: Override(r.skipped, datetime.strptime(r.moved_to_local, LOCAL_FORMAT)
                                            if r.moved_to_local else None)
                     for r in await OccurrenceOverride.filter(meeting_id=meeting.id)}
        series = Series(datetime.strptime(meeting.start_local, LOCAL_FORMAT), meeting.timezone, meeting.rrule,
                        meeting.until_local, meeting.duration_minutes)
        # An ended series met no more after it ended (the last change of its row).
        until = min(moment, meeting.updated_at) if meeting.status == ENDED else moment
        found.append(ProjectMeeting(meeting.id, meeting.title, meeting.status, held_before(series, overrides, until)))
    return tuple(found)


def _ref(member: Member) -> MemberRef:
    return MemberRef(member.id, member.platform_user_id, member.display_name)


async def _view(project: Project) -> ProjectView:
    names = {d.id: d.name for d in await Department.filter(id__in=project.department_ids)} \
        if project.department_ids else {}
    links = await ProjectMember.filter(project_id=project.id).order_by("id").prefetch_related("member")
    owner = await Member.get_or_none(id=project.owner_id) if project.owner_id else None
    return ProjectView(
        project.id, project.key, project.name, project.purpose,
        tuple(names[i] for i in project.department_ids if i in names), project.channel, project.start_date,
        project.end_date, project.status, _ref(owner) if owner else None,
        tuple(_ref(link.member) for link in links))


async def figures(workspace: Workspace, project_id: int, *, now: datetime | None = None) -> ProjectFigures:
    """The project's thanks in numbers (three aggregate reads, whatever its size), and its meetings."""
    sql = Sql()
    project = await Project.get(id=project_id, workspace_id=workspace.id)
    pairs = await sql.rows(
        "SELECT tr.sender_department_id AS a, tr.recipient_department_id AS b, count(*) AS n "
        "FROM thanks t JOIN thanks_recipient tr ON tr.thanks_id = t.id "
        "WHERE t.project_id = ? GROUP BY tr.sender_department_id, tr.recipient_department_id", [project_id])
    total = await sql.rows(
        "SELECT count(*) AS n, (SELECT count(DISTINCT tr.thanks_id) FROM thanks t2 JOIN thanks_recipient tr "
        "ON tr.thanks_id = t2.id WHERE t2.project_id = ? AND tr.sender_department_id <> tr.recipient_department_id) "
        "AS crossing FROM thanks WHERE project_id = ?", [project_id, project_id])
    value_rows = await sql.rows(
        "SELECT v.key, v.emoji, v.name_en, v.name_ja, v.description_en, v.description_ja, v.active, "
        "count(*) AS n FROM thanks t JOIN thanks_value tv ON tv.thanks_id = t.id JOIN value v ON v.id = tv.value_id "
        "WHERE t.project_id = ? GROUP BY v.id, v.key, v.emoji, v.name_en, v.name_ja, v.description_en, "
        "v.description_ja, v.active, v.position ORDER BY count(*) DESC, v.position", [project_id])
    ids = list(dict.fromkeys([*project.department_ids,
                              *sorted({int(r[k]) for r in pairs for k in ("a", "b")} - {NO_DEPARTMENT})]))
    names = {d.id: d.name for d in await Department.filter(workspace_id=workspace.id, id__in=ids)} if ids else {}
    order = [i for i in ids if i in names]
    if any(int(r[k]) not in names for r in pairs for k in ("a", "b")):
        order.append(NO_DEPARTMENT)  # people in no department (or one since removed)
    index = {i: n for n, i in enumerate(order)}
    cells = [[0] * len(order) for _ in order]
    for row in pairs:
        a, b = int(row["a"]), int(row["b"])
        i, j = index.get(a, index.get(NO_DEPARTMENT, 0)), index.get(b, index.get(NO_DEPARTMENT, 0))
        cells[i][j] += int(row["n"])
    return ProjectFigures(
        int(total[0]["n"]), sum(int(r["n"]) for r in pairs), int(total[0]["crossing"] or 0),
        tuple(names.get(i, "—") for i in order), tuple(tuple(r) for r in cells),
        tuple((ValueRef(r["key"], r["emoji"], r["name_en"], r["name_ja"], r["description_en"], r["description_ja"],
                        bool(r["active"])), int(r["n"])) for r in value_rows),
        await _meetings(project, now))


# ---- reading -----------------------------------------------------------------------------------


async def _projects(workspace: Workspace) -> list[Project]:
    return await Project.filter(workspace_id=workspace.id).order_by("id")


async def _get(workspace: Workspace, tag: str) -> Project:
    projects = await _projects(workspace)
    project = match_project(projects, tag)
    if project is None:
        raise errors.UnknownProject(tag=tag.strip()[:50], available=_available(projects))
    return project


async def get_project(workspace: Workspace, tag: str) -> ProjectView:
    """The project ``tag`` names (key or name), or ``UnknownProject``."""
    return await _view(await _get(workspace, tag))


async def list_projects(workspace: Workspace, *, include_closed: bool = False) -> list[ProjectView]:
    """The workspace's projects, open ones (or all) in the order they were created."""
    query = Project.filter(workspace_id=workspace.id)
    if not include_closed:
        query = query.filter(status=OPEN)
    return [await _view(p) for p in await query.order_by("id")]


async def suggest_projects(workspace: Workspace, typed: str, *, limit: int = 25,
                           include_closed: bool = False) -> list[ProjectRow]:
    """Open projects (or all) whose key or name starts with (then contains) what was typed (autocomplete)."""
    wanted = _tag(typed)
    query = Project.filter(workspace_id=workspace.id)
    if not include_closed:
        query = query.filter(status=OPEN)
    rows = [ProjectRow(p.id, p.key, p.name, p.status) for p in await query.order_by("id")]

    def rank(p: ProjectRow) -> int | None:
        keys = _match_keys(p)
        if not wanted or any(k.startswith(wanted) for k in keys):
            return 0
        return 1 if any(wanted in k for k in keys) else None

    ranked = [(r, p) for p in rows if (r := rank(p)) is not None]
    return [p for _, p in sorted(ranked, key=lambda item: item[0])][:limit]


# ---- checks ------------------------------------------------------------------------------------


def _clean_key(key: str) -> str:
    cleaned = _tag(key)
    if not _KEY_RE.match(cleaned) or cleaned in NO_PROJECT_WORDS:
        raise errors.InvalidProjectKey(key=key.strip()[:40])
    return cleaned


def _clean_name(name: str) -> str:
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned or len(cleaned) > MAX_NAME or any(p in cleaned for p in (*TAG_PREFIXES, "#", "＃")) \
            or fold(cleaned) in NO_PROJECT_WORDS:
        raise errors.InvalidProjectName(max=MAX_NAME)
    return cleaned


def _check_free(others: Sequence[Project], key: str, name: str) -> None:
    for candidate in (key, name):
        if any(fold(candidate) in _match_keys(p) for p in others):
            raise errors.ProjectKeyTaken(key=candidate)


def parse_day(text: str | date | None) -> date | None:
    """``2026-12-01``, ``2026/12/01`` or ``２０２６-１２-０１``; None for nothing; ``InvalidProjectDates`` else."""
    if text is None or isinstance(text, date):
        return text
    cleaned = unicodedata.normalize("NFKC", text).strip().replace("/", "-")
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise errors.InvalidProjectDates(given=text.strip()[:30]) from None


async def _department_ids(workspace: Workspace, names: str | Sequence[str]) -> list[int]:
    wanted = [n.strip() for n in (re.split(r"[,、，]", names) if isinstance(names, str) else names)]
    wanted = [n for n in dict.fromkeys(wanted) if n]
    if len(wanted) > MAX_DEPARTMENTS:
        raise errors.NoProjectFields(hint=f"≤ {MAX_DEPARTMENTS}")
    ids: list[int] = []
    for name in wanted:
        department = await find_department(workspace, name)
        if department is None:
            raise UnknownDepartment(name=name[:100])
        if department.id not in ids:
            ids.append(department.id)
    return ids


def _today(workspace: Workspace, now: datetime | None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(workspace.timezone)).date()


def _require_owner(actor: Member, project: Project) -> None:
    if not (actor.may_administer or (project.owner_id is not None and project.owner_id == actor.id)):
        raise errors.NotProjectOwner(key=project.key)


async def _require_member(actor: Member, project: Project) -> None:
    if actor.may_administer or project.owner_id == actor.id:
        return
    if not await ProjectMember.exists(project_id=project.id, member_id=actor.id):
        raise errors.NotProjectMember(key=project.key)


async def _check_channel(workspace: Workspace, channel: str | None, project_id: int | None = None) -> None:
    """A channel is the home of at most one open project (so a thanks there belongs to one)."""
    if not channel:
        return
    query = Project.filter(workspace_id=workspace.id, channel=channel, status=OPEN)
    if project_id is not None:
        query = query.exclude(id=project_id)
    other = await query.first()
    if other is not None:
        raise errors.ProjectChannelTaken(key=other.key)


# ---- changes -----------------------------------------------------------------------------------


async def create_project(workspace: Workspace, actor: Member, key: str, name: str, *, purpose: str = "",
                         departments: str | Sequence[str] = (), channel: str | None = None,
                         start: str | date | None = None, end: str | date | None = None,
                         members: Sequence[Member] = (), now: datetime | None = None) -> ProjectView:
    """A new open project owned by ``actor`` (who is its first member), with ``members``."""
    cleaned_key, cleaned_name = _clean_key(key), _clean_name(name or key)
    if len(purpose) > MAX_PURPOSE:
        raise errors.InvalidProjectName(max=MAX_PURPOSE)
    start_day = parse_day(start) or _today(workspace, now)
    end_day = parse_day(end)
    if end_day is not None and end_day < start_day:
        raise errors.InvalidProjectDates(given=f"{start_day} → {end_day}")
    department_ids = await _department_ids(workspace, departments)
    _check_free(await _projects(workspace), cleaned_key, cleaned_name)
    await _check_channel(workspace, channel or None)
    try:
        async with in_transaction():
            project = await Project.create(
                workspace_id=workspace.id, key=cleaned_key, name=cleaned_name, purpose=purpose.strip(),
                department_ids=department_ids, channel=channel or None, start_date=start_day, end_date=end_day,
                status=OPEN, owner_id=actor.id if actor.id else None)
            people = list(dict.fromkeys([*([actor.id] if actor.id else []), *(m.id for m in members)]))
            await ProjectMember.bulk_create([ProjectMember(project_id=project.id, member_id=i) for i in people])
    except IntegrityError:
        raise errors.ProjectKeyTaken(key=cleaned_key) from None
    return await _view(project)


async def edit_project(workspace: Workspace, actor: Member, tag: str, *, name: str | None = None,
                       purpose: str | None = None, departments: str | Sequence[str] | None = None,
                       channel: str | None = None, start: str | date | None = None,
                       end: str | date | None = None, owner: Member | None = None) -> ProjectView:
    """Change a project (its owner or an admin); None leaves a field as it is, ``end=""`` removes the end."""
    project = await _get(workspace, tag)
    _require_owner(actor, project)
    if name is not None:
        project.name = _clean_name(name)
        _check_free([p for p in await _projects(workspace) if p.id != project.id], project.key, project.name)
    if purpose is not None:
        if len(purpose) > MAX_PURPOSE:
            raise errors.InvalidProjectName(max=MAX_PURPOSE)
        project.purpose = purpose.strip()
    if departments is not None:
        project.department_ids = await _department_ids(workspace, departments)
    if channel is not None:
        if project.status == OPEN:
            await _check_channel(workspace, channel or None, project.id)
        project.channel = channel or None
    if start is not None:
        project.start_date = parse_day(start) or project.start_date
    if end is not None:
        project.end_date = parse_day(end)
    if project.end_date is not None and project.end_date < project.start_date:
        raise errors.InvalidProjectDates(given=f"{project.start_date} → {project.end_date}")
    async with in_transaction():
        if owner is not None:
            project.owner_id = owner.id
            await ProjectMember.get_or_create(project_id=project.id, member_id=owner.id)
        await project.save()
    return await _view(project)


async def add_members(workspace: Workspace, actor: Member, tag: str, people: Sequence[Member]) -> ProjectView:
    """Add people to a project (its members, its owner or an admin); someone already in stays once."""
    project = await _get(workspace, tag)
    await _require_member(actor, project)
    if project.status != OPEN:
        raise errors.ProjectClosed(key=project.key)
    if not people:
        raise errors.NoProjectFields(hint="@")
    async with in_transaction():
        for person in people:
            await ProjectMember.get_or_create(project_id=project.id, member_id=person.id)
    return await _view(project)


async def remove_members(workspace: Workspace, actor: Member, tag: str, people: Sequence[Member]) -> ProjectView:
    """Take people out of a project (its members, its owner or an admin; anyone may leave)."""
    project = await _get(workspace, tag)
    if [p.id for p in people] != [actor.id]:
        await _require_member(actor, project)
    if not people:
        raise errors.NoProjectFields(hint="@")
    await ProjectMember.filter(project_id=project.id, member_id__in=[p.id for p in people]).delete()
    return await _view(project)


async def join_project(workspace: Workspace, actor: Member, tag: str) -> ProjectView:
    """Join an open project oneself."""
    project = await _get(workspace, tag)
    if project.status != OPEN:
        raise errors.ProjectClosed(key=project.key)
    await ProjectMember.get_or_create(project_id=project.id, member_id=actor.id)
    return await _view(project)


async def project_for_meeting(workspace: Workspace, actor: Member | None, tag: str) -> Project | None:
    """The project a meeting is to belong to: ``tag`` names it by key or name (``+launch``, ``ローンチ``);
    None for ``none`` / ``なし`` (no project). Only an open project takes a new meeting, and only from its
    members, its owner or an admin (``UnknownProject``, ``ProjectClosed``, ``NotProjectMember``); ``actor``
    None is the command line's operator."""
    if not _tag(tag) or is_no_project(tag):
        return None
    project = await _get(workspace, tag)
    if project.status != OPEN:
        raise errors.ProjectClosed(key=project.key)
    if actor is not None:
        await _require_member(actor, project)
    return project


def closing_dedupe_key(project: Project) -> str:
    """One closing card per closing (a project reopened and closed again gets another)."""
    moment = project.closed_at or datetime.now(UTC)
    return f"project-closing:{project.id}:{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}"


async def announce_closing(workspace: Workspace, project: Project, moment: datetime) -> bool:
    """Claim the closing card of a closed project and write it to the outbox, once (call in a
    transaction). False when another pass or process claimed it first, or there is nowhere to post."""
    claimed = await Project.filter(id=project.id, status=CLOSED, announced_at__isnull=True).update(
        announced_at=moment)
    if not claimed:
        return False
    channel = project.channel or workspace.feed_channel
    if not channel:
        return False
    delivery = await outbox.enqueue(workspace, workspace.platform, f"channel:{channel}", CLOSING_KIND,
                                    {"type": CLOSING_KIND, "project_id": project.id},
                                    locale=workspace.default_locale, dedupe_key=closing_dedupe_key(project))
    return delivery is not None


async def close_project(workspace: Workspace, actor: Member, tag: str, *, now: datetime | None = None) -> ProjectView:
    """Close a project (its owner or an admin): it takes no new thanks, and its closing card is posted once."""
    project = await _get(workspace, tag)
    _require_owner(actor, project)
    if project.status == CLOSED:
        raise errors.ProjectClosed(key=project.key)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    async with in_transaction():
        changed = await Project.filter(id=project.id, status=OPEN).update(status=CLOSED, closed_at=moment,
                                                                           announced_at=None)
        if not changed:
            raise errors.ProjectClosed(key=project.key)
        project.status, project.closed_at, project.announced_at = CLOSED, moment, None
        await announce_closing(workspace, project, moment)
    return await _view(project)


async def reopen_project(workspace: Workspace, actor: Member, tag: str) -> ProjectView:
    """Open a closed project again (its owner or an admin); an end date already past is removed."""
    project = await _get(workspace, tag)
    _require_owner(actor, project)
    if project.status == OPEN:
        raise errors.ProjectAlreadyOpen(key=project.key)
    await _check_channel(workspace, project.channel, project.id)
    today = _today(workspace, None)
    project.status, project.closed_at, project.announced_at = OPEN, None, None
    if project.end_date is not None and project.end_date < today:
        project.end_date = None
    await project.save(update_fields=["status", "closed_at", "announced_at", "end_date"])
    return await _view(project)


async def project_of_thanks(thanks_project_id: int | None) -> ProjectRef | None:
    """The project a stored thanks belongs to, as a message names it."""
    if thanks_project_id is None:
        return None
    project = await Project.get_or_none(id=thanks_project_id)
    return ProjectRef(project.key, project.name) if project else None
