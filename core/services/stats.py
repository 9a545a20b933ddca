"""Statistics computed in SQL: leaderboards, the department matrix and cross-department shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise.functions import Count, Sum

from core.errors import LeaderboardDisabled
from core.models import NO_DEPARTMENT, Department, DepartmentFlow, Member, Thanks, ThanksRecipient, Workspace


class Period(StrEnum):
    """A leaderboard period: the calendar week (from Monday) or month in the workspace's zone, or all time."""

    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class Direction(StrEnum):
    """Rank by thanks received or sent."""

    RECEIVED = "received"
    SENT = "sent"


@dataclass(frozen=True)
class LeaderboardEntry:
    """One row: competition ranking (1, 2, 2, 4)."""

    rank: int
    member_id: int
    platform_user_id: str
    display_name: str
    department: str | None
    count: int


@dataclass(frozen=True)
class Leaderboard:
    """The top members for a period."""

    period: Period
    direction: Direction
    department: str | None
    since: date | None
    entries: tuple[LeaderboardEntry, ...]


def period_start(period: Period, tz_name: str, now: datetime | None = None) -> datetime | None:
    """The first instant of the period containing ``now`` in ``tz_name`` (None for all time)."""
    if period is Period.ALL:
        return None
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz_name))
    day = local.date()
    first = day - timedelta(days=day.weekday()) if period is Period.WEEK else day.replace(day=1)
    return datetime(first.year, first.month, first.day, tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


async def leaderboard(
    workspace: Workspace,
    period: Period = Period.MONTH,
    direction: Direction = Direction.RECEIVED,
    *,
    department: Department | None = None,
    limit: int = 10,
    now: datetime | None = None,
    check_enabled: bool = True,
) -> Leaderboard:
    """The top ``limit`` members by thanks received (or sent) in ``period``.

    The department filter is the members' current department. ``LeaderboardDisabled`` if the
    workspace turned leaderboards off (admins' exports pass ``check_enabled=False``).
    """
    if check_enabled and not workspace.leaderboard_enabled:
        raise LeaderboardDisabled()
    start = period_start(period, workspace.timezone, now)
    counts: list[tuple[int, int]]
    if start is None:
        field = "received_count" if direction is Direction.RECEIVED else "sent_count"
        query = Member.filter(workspace_id=workspace.id, **{f"{field}__gt": 0})
        if department is not None:
            query = query.filter(department_id=department.id)
        rows = await query.order_by(f"-{field}", "id").limit(limit).values_list("id", field)
        counts = [(int(r[0]), int(r[1])) for r in rows]
    elif direction is Direction.RECEIVED:
        q = ThanksRecipient.filter(workspace_id=workspace.id, created_at__gte=start)
        if department is not None:
            q = q.filter(recipient__department_id=department.id)
        rows = await q.annotate(n=Count("id")).group_by("recipient_id").order_by("-n", "recipient_id") \
            .limit(limit).values_list("recipient_id", "n")
        counts = [(int(r[0]), int(r[1])) for r in rows]
    else:
        t = Thanks.filter(workspace_id=workspace.id, created_at__gte=start)
        if department is not None:
            t = t.filter(sender__department_id=department.id)
        rows = await t.annotate(n=Count("id")).group_by("sender_id").order_by("-n", "sender_id") \
            .limit(limit).values_list("sender_id", "n")
        counts = [(int(r[0]), int(r[1])) for r in rows]
    members = {m.id: m for m in await Member.filter(id__in=[c[0] for c in counts]).prefetch_related("department")}
    entries: list[LeaderboardEntry] = []
    for index, (member_id, count) in enumerate(counts):
        rank = entries[-1].rank if entries and entries[-1].count == count else index + 1
        m = members[member_id]
        entries.append(LeaderboardEntry(rank, m.id, m.platform_user_id, m.display_name,
                                        m.department.name if m.department else None, count))
    return Leaderboard(period, direction, department.name if department else None,
                       start.astimezone(ZoneInfo(workspace.timezone)).date() if start else None, tuple(entries))


@dataclass(frozen=True)
class DepartmentMatrix:
    """Thanks from each department (rows) to each department (columns); id 0 is "no department"."""

    departments: tuple[tuple[int, str | None], ...]
    cells: dict[tuple[int, int], int]

    def count(self, from_id: int, to_id: int) -> int:
        """Thanks sent from department ``from_id`` to ``to_id``."""
        return self.cells.get((from_id, to_id), 0)


@dataclass(frozen=True)
class DepartmentShare:
    """How much of a department's thanks cross department lines."""

    department_id: int
    name: str | None
    sent: int
    sent_cross: int
    received: int
    received_cross: int

    @property
    def sent_share(self) -> float:
        """Share of sent thanks that went to another department (0 when none were sent)."""
        return self.sent_cross / self.sent if self.sent else 0.0

    @property
    def received_share(self) -> float:
        """Share of received thanks that came from another department."""
        return self.received_cross / self.received if self.received else 0.0


async def department_matrix(workspace: Workspace, period: Period = Period.ALL,
                            now: datetime | None = None) -> DepartmentMatrix:
    """Who thanks whom across departments in ``period``, from the daily rollup."""
    start = period_start(period, workspace.timezone, now)
    query = DepartmentFlow.filter(workspace_id=workspace.id)
    if start is not None:
        query = query.filter(day__gte=start.astimezone(ZoneInfo(workspace.timezone)).date())
    rows = await query.annotate(n=Sum("count")).group_by("sender_department_id", "recipient_department_id") \
        .values_list("sender_department_id", "recipient_department_id", "n")
    cells = {(int(a), int(b)): int(n) for a, b, n in rows if n}
    names = {d.id: d.name for d in await Department.filter(workspace_id=workspace.id)}
    ids = sorted(set(names) | {i for pair in cells for i in pair})
    departments = tuple((i, names.get(i)) for i in ids if i != NO_DEPARTMENT)
    if any(NO_DEPARTMENT in pair for pair in cells):
        departments += ((NO_DEPARTMENT, None),)
    return DepartmentMatrix(departments, cells)


def department_shares(matrix: DepartmentMatrix) -> list[DepartmentShare]:
    """Each department's cross-department share, from a matrix (no further queries)."""
    shares = []
    for dept_id, name in matrix.departments:
        sent = sum(matrix.count(dept_id, other) for other, _ in matrix.departments)
        received = sum(matrix.count(other, dept_id) for other, _ in matrix.departments)
        own = matrix.count(dept_id, dept_id)
        # Thanks to or from someone with no department are not counted as crossing a line.
        sent_cross = sent - own - (matrix.count(dept_id, NO_DEPARTMENT) if dept_id else 0)
        received_cross = received - own - (matrix.count(NO_DEPARTMENT, dept_id) if dept_id else 0)
        if dept_id == NO_DEPARTMENT:
            sent_cross = received_cross = 0
        shares.append(DepartmentShare(dept_id, name, sent, sent_cross, received, received_cross))
    return shares
