"""The dashboard's figures, computed in SQL aggregates and bound to one workspace and one viewer.

Every query reads ``thanks_recipient`` (one row per thanks and recipient, with both departments as they
were when it was given) through its ``(workspace_id, created_at, …)`` index, grouped in the database;
Python only sums a handful of department pairs. Privacy: for a viewer who is not an admin, a number
built from fewer than the workspace's ``privacy_threshold`` distinct people is replaced by None (the
page says "fewer than N"): a heatmap cell needs that many distinct senders *and* recipients, a
period's totals that many senders (and receivers for the receiver count). Admins see everything,
people included (bridges); members see departments and their own figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tortoise.expressions import F, Q
from tortoise.functions import Count

from core.dashboard.access import Viewer
from core.errors import KizunaError
from core.meetings.models import Meeting, Rsvp
from core.models import NO_DEPARTMENT, Department, Member, ThanksRecipient, ThanksValue, Value
from core.projects.models import CLOSED, Project

PeriodName = Literal["week", "month", "quarter", "year", "custom"]
PERIODS: tuple[str, ...] = ("week", "month", "quarter", "year", "custom")
MAX_CUSTOM_DAYS = 366
MAX_TREND_WEEKS = 53
# A department whose cross-department share (sent and received together) is below this is an island.
ISLAND_SHARE = 0.05


class BadDashboardQuery(KizunaError):
    """A period, date or department the dashboard cannot show."""

    message_id = "dashboard.bad_query"


@dataclass(frozen=True)
class Window:
    """A half-open span of time [start, end) in UTC, with its local first and last days."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date

    def previous(self) -> Window:
        """The span of the same length just before."""
        length = self.end - self.start
        days = (self.last_day - self.first_day).days + 1
        return Window(self.start - length, self.start, self.first_day - timedelta(days=days),
                      self.first_day - timedelta(days=1))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def resolve_window(period: str, tz_name: str, now: datetime | None = None, first: str | None = None,
                   last: str | None = None) -> Window:
    """The period containing ``now`` (week from Monday, month, quarter, year) in ``tz_name``, or the custom
    days ``first``..``last`` (ISO dates, inclusive, at most a year)."""
    tz = ZoneInfo(tz_name)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    if period == "custom":
        try:
            start_day, end_day = date.fromisoformat(first or ""), date.fromisoformat(last or "")
        except ValueError:
            raise BadDashboardQuery() from None
        if end_day < start_day or (end_day - start_day).days >= MAX_CUSTOM_DAYS:
            raise BadDashboardQuery()
    elif period == "week":
        start_day = today - timedelta(days=today.weekday())
        end_day = start_day + timedelta(days=6)
    elif period == "month":
        start_day = today.replace(day=1)
        end_day = (start_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    elif period == "quarter":
        start_day = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        end_day = (start_day + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    elif period == "year":
        start_day, end_day = today.replace(month=1, day=1), today.replace(month=12, day=31)
    else:
        raise BadDashboardQuery()
    return Window(_midnight(start_day, tz), _midnight(end_day + timedelta(days=1), tz), start_day, end_day)


@dataclass(frozen=True)
class Scope:
    """What one request reads: whose workspace, which window, which department (None: all)."""

    viewer: Viewer
    window: Window
    department_id: int | None = None

    @property
    def threshold(self) -> int:
        return 1 if self.viewer.is_admin else max(1, self.viewer.workspace.privacy_threshold)


async def department_id(viewer: Viewer, raw: str | None) -> int | None:
    """The department filter: an id of the viewer's workspace (anything else is refused)."""
    if not raw:
        return None
    if not raw.isdigit() or not await Department.exists(id=int(raw), workspace_id=viewer.workspace.id):
        raise BadDashboardQuery()
    return int(raw)


def _rows(scope: Scope, window: Window | None = None) -> Any:
    span = window or scope.window
    query = ThanksRecipient.filter(workspace_id=scope.viewer.workspace.id, created_at__gte=span.start,
                                   created_at__lt=span.end)
    if scope.department_id is not None:
        query = query.filter(Q(sender_department_id=scope.department_id) |
                             Q(recipient_department_id=scope.department_id))
    return query


def _crosses(sender_department: int, recipient_department: int) -> bool:
    # Thanks to or from someone with no department never count as crossing a line.
    return NO_DEPARTMENT not in (sender_department, recipient_department) and sender_department != recipient_department


@dataclass(frozen=True)
class Totals:
    thanks: int
    senders: int
    receivers: int
    rows: int
    cross_rows: int


async def _totals(scope: Scope, window: Window) -> Totals:
    query = _rows(scope, window)
    [row] = await query.annotate(thanks=Count("thanks_id", distinct=True), senders=Count("sender_id", distinct=True),
                                 receivers=Count("recipient_id", distinct=True), rows=Count("id")) \
        .values("thanks", "senders", "receivers", "rows")
    pairs = await _rows(scope, window).annotate(n=Count("id")) \
        .group_by("sender_department_id", "recipient_department_id") \
        .values_list("sender_department_id", "recipient_department_id", "n")
    cross = sum(int(n) for a, b, n in pairs if _crosses(int(a), int(b)))
    return Totals(int(row["thanks"] or 0), int(row["senders"] or 0), int(row["receivers"] or 0),
                  int(row["rows"] or 0), cross)


def _visible(value: float | int, people: int, threshold: int) -> float | int | None:
    # Nothing at all is built from nobody: a zero shows.
    return value if people == 0 or people >= threshold else None


def _figure(now: float | int | None, before: float | int | None) -> dict[str, Any]:
    change = None if now is None or before is None else round(now - before, 4)
    return {"value": now, "previous": before, "change": change}


async def overview(scope: Scope) -> dict[str, Any]:
    """Thanks, senders, receivers and the cross-department share, with the previous period's; and the
    viewer's own sent and received."""
    k = scope.threshold
    now, before = await _totals(scope, scope.window), await _totals(scope, scope.window.previous())

    def share(t: Totals) -> float | None:
        return None if 0 < t.senders < k else (round(t.cross_rows / t.rows, 4) if t.rows else 0.0)

    mine = _rows(scope).filter(Q(sender_id=scope.viewer.member.id) | Q(recipient_id=scope.viewer.member.id))
    sent = await mine.filter(sender_id=scope.viewer.member.id).annotate(n=Count("thanks_id", distinct=True)) \
        .values_list("n", flat=True)
    received = await mine.filter(recipient_id=scope.viewer.member.id).count()
    return {
        "thanks": _figure(_visible(now.thanks, now.senders, k), _visible(before.thanks, before.senders, k)),
        "senders": _figure(_visible(now.senders, now.senders, k), _visible(before.senders, before.senders, k)),
        "receivers": _figure(_visible(now.receivers, now.receivers, k),
                             _visible(before.receivers, before.receivers, k)),
        # A share against a period with no thanks at all is no change: there was nothing to cross.
        "cross_share": _figure(share(now), share(before) if before.rows else None),
        "you": {"sent": int(sent[0] or 0) if sent else 0, "received": received},
    }


async def _departments(scope: Scope) -> list[dict[str, Any]]:
    named = await Department.filter(workspace_id=scope.viewer.workspace.id).order_by("name").values_list("id", "name")
    return [{"id": int(i), "name": n} for i, n in named]


async def heatmap(scope: Scope) -> dict[str, Any]:
    """Thanks from each department (rows) to each (columns): counts, and each sender department's share."""
    k = scope.threshold
    groups = await _rows(scope).annotate(n=Count("id"), senders=Count("sender_id", distinct=True),
                                         receivers=Count("recipient_id", distinct=True)) \
        .group_by("sender_department_id", "recipient_department_id") \
        .values_list("sender_department_id", "recipient_department_id", "n", "senders", "receivers")
    departments = await _departments(scope)
    ids = [d["id"] for d in departments]
    if any(NO_DEPARTMENT in (int(a), int(b)) for a, b, *_ in groups):
        departments.append({"id": NO_DEPARTMENT, "name": None})
        ids.append(NO_DEPARTMENT)
    row_totals: dict[int, int] = {}
    for a, _b, n, _s, _r in groups:
        row_totals[int(a)] = row_totals.get(int(a), 0) + int(n)
    cells = []
    for a, b, n, senders, receivers in groups:
        shown = min(int(senders), int(receivers)) >= k
        cells.append({"from": int(a), "to": int(b), "count": int(n) if shown else None,
                      "share": round(int(n) / row_totals[int(a)], 4) if shown and row_totals[int(a)] else None})
    return {"departments": departments, "cells": sorted(cells, key=lambda c: (ids.index(c["from"]) if c["from"] in ids
                                                                               else 0, c["to"])),
            "threshold": k}


async def network(scope: Scope) -> dict[str, Any]:
    """Departments as nodes, thanks between two departments (both directions) as edges; islands marked."""
    matrix = await heatmap(scope)
    nodes: dict[int, dict[str, Any]] = {d["id"]: {"id": d["id"], "name": d["name"], "inside": 0, "cross": 0}
                                        for d in matrix["departments"] if d["id"] != NO_DEPARTMENT}
    edges: dict[tuple[int, int], int] = {}
    hidden: set[int] = set()
    for cell in matrix["cells"]:
        a, b, n = cell["from"], cell["to"], cell["count"]
        if a not in nodes or b not in nodes:
            continue
        if n is None:
            hidden.update((a, b))
            continue
        if a == b:
            nodes[a]["inside"] += n
        else:
            nodes[a]["cross"] += n
            nodes[b]["cross"] += n
            pair = (min(a, b), max(a, b))
            edges[pair] = edges.get(pair, 0) + n
    out = []
    for node in nodes.values():
        total = node["inside"] + node["cross"]
        # An island only when what is known says so: hidden cells could hold its bridges.
        island = node["id"] not in hidden and (node["cross"] / total if total else 0.0) < ISLAND_SHARE
        out.append({**node, "island": island})
    return {"nodes": out, "edges": [{"a": a, "b": b, "count": n} for (a, b), n in sorted(edges.items())],
            "threshold": matrix["threshold"]}


async def trends(scope: Scope) -> dict[str, Any]:
    """Week by week (Monday to Sunday), up to a year back from the window's end: thanks, people who sent,
    and the cross-department share."""
    k = scope.threshold
    tz = ZoneInfo(scope.viewer.workspace.timezone)
    last_monday = scope.window.last_day - timedelta(days=scope.window.last_day.weekday())
    first_monday = scope.window.first_day - timedelta(days=scope.window.first_day.weekday())
    weeks = min(MAX_TREND_WEEKS, max(12, (last_monday - first_monday).days // 7 + 1))
    rows = []
    for index in range(weeks - 1, -1, -1):
        monday = last_monday - timedelta(weeks=index)
        week = Window(_midnight(monday, tz), _midnight(monday + timedelta(days=7), tz), monday,
                      monday + timedelta(days=6))
        totals = await _totals(scope, week)
        visible = totals.senders == 0 or totals.senders >= k
        rows.append({"week": monday.isoformat(), "thanks": totals.thanks if visible else None,
                     "senders": totals.senders if visible else None,
                     "cross_share": (round(totals.cross_rows / totals.rows, 4) if totals.rows else 0.0)
                     if visible else None})
    return {"weeks": rows, "threshold": k}


async def bridges(scope: Scope, limit: int = 10) -> dict[str, Any] | None:
    """Admins only: the people whose thanks reach the most other departments (None for anyone else)."""
    if not scope.viewer.is_admin:
        return None
    groups = await _rows(scope).filter(sender_department_id__not=NO_DEPARTMENT,
                                       recipient_department_id__not=NO_DEPARTMENT) \
        .annotate(n=Count("id")).group_by("sender_id", "recipient_department_id") \
        .values_list("sender_id", "recipient_department_id", "n")
    own = dict(await Member.filter(workspace_id=scope.viewer.workspace.id,
                                   id__in={int(s) for s, _d, _n in groups}).values_list("id", "department_id"))
    reach: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for sender, department, n in groups:
        if own.get(int(sender)) != int(department):
            reach.setdefault(int(sender), set()).add(int(department))
            counts[int(sender)] = counts.get(int(sender), 0) + int(n)
    top = sorted(reach, key=lambda s: (-len(reach[s]), -counts[s], s))[:limit]
    names = dict(await Member.filter(id__in=top).values_list("id", "display_name"))
    return {"people": [{"name": names.get(s, ""), "departments": len(reach[s]), "thanks": counts[s]} for s in top]}


async def values(scope: Scope) -> dict[str, Any]:
    """Which values live: thanks tagged with each value, by sender department (at the time) and by week."""
    k = scope.threshold
    workspace = scope.viewer.workspace
    known = await Value.filter(workspace_id=workspace.id).order_by("position", "id") \
        .values_list("id", "key", "name_en", "name_ja", "emoji")
    tagged = _rows(scope).filter(thanks__value_links__value_id__isnull=False)
    by_department = await tagged.annotate(n=Count("thanks_id", distinct=True),
                                          senders=Count("sender_id", distinct=True)) \
        .group_by("thanks__value_links__value_id", "sender_department_id") \
        .values_list("thanks__value_links__value_id", "sender_department_id", "n", "senders")
    by_day = await ThanksValue.filter(thanks__workspace_id=workspace.id, thanks__created_at__gte=scope.window.start,
                                      thanks__created_at__lt=scope.window.end) \
        .annotate(n=Count("id")).group_by("value_id", "thanks__local_day") \
        .values_list("value_id", "thanks__local_day", "n") if scope.department_id is None else []
    weeks: dict[tuple[int, str], int] = {}
    for value_id, day, n in by_day:
        local = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
        monday = (local - timedelta(days=local.weekday())).isoformat()
        weeks[(int(value_id), monday)] = weeks.get((int(value_id), monday), 0) + int(n)
    # Weekly counts of the whole workspace say nothing about a person unless few people tag: members see
    # a week's count only when the value's department cells for the period are shown.
    visible_values = {int(v) for v, _d, _n, s in by_department if int(s) >= k}
    lang = "ja" if scope.viewer.locale == "ja" else "en"
    return {
        "values": [{"id": int(i), "key": key, "name": f"{emoji} {ja if lang == 'ja' else en}".strip()}
                   for i, key, en, ja, emoji in known],
        "departments": await _departments(scope) + [{"id": NO_DEPARTMENT, "name": None}],
        "cells": [{"value": int(v), "department": int(d), "count": int(n) if int(s) >= k else None}
                  for v, d, n, s in by_department],
        "weeks": sorted({w for _v, w in weeks}),
        "by_week": [{"value": v, "week": w, "count": n if v in visible_values or k == 1 else None}
                    for (v, w), n in sorted(weeks.items())],
        "threshold": k,
    }


async def leaderboard(scope: Scope, limit: int = 10) -> dict[str, Any] | None:
    """The people thanked most in the window, where the workspace has leaderboards on (None otherwise);
    what the chat's leaderboard already shows everyone."""
    if not scope.viewer.workspace.leaderboard_enabled:
        return None
    rows = await _rows(scope).annotate(n=Count("id")).group_by("recipient_id").order_by("-n", "recipient_id") \
        .limit(limit).values_list("recipient_id", "n")
    names = dict(await Member.filter(id__in=[int(r) for r, _n in rows]).values_list("id", "display_name"))
    entries: list[dict[str, Any]] = []
    for index, (recipient, n) in enumerate(rows):
        rank = entries[-1]["rank"] if entries and entries[-1]["count"] == int(n) else index + 1
        entries.append({"rank": rank, "name": names.get(int(recipient), ""), "count": int(n)})
    return {"entries": entries}


MEETING_WEEKS = 4


async def meetings(scope: Scope) -> dict[str, Any]:
    """For each meeting series of two or more departments: attendance (yes answers) per occurrence, and the
    thanks between its departments in the ``MEETING_WEEKS`` weeks before and after its first occurrence."""
    k = scope.threshold
    workspace = scope.viewer.workspace
    query = Meeting.filter(workspace_id=workspace.id).order_by("start_local", "id")
    found = [m for m in await query if len(m.department_ids or []) >= 2]
    if scope.department_id is not None:
        found = [m for m in found if scope.department_id in m.department_ids]
    attendance = await Rsvp.filter(meeting_id__in=[m.id for m in found], answer="yes") \
        .annotate(n=Count("id")).group_by("meeting_id", "occurrence").values_list("meeting_id", "occurrence", "n")
    out = []
    for meeting in found:
        tz = ZoneInfo(meeting.timezone)
        began = datetime.fromisoformat(meeting.start_local).replace(tzinfo=tz).astimezone(UTC)
        ids = [int(i) for i in meeting.department_ids]
        side = []
        for start, end in ((began - timedelta(weeks=MEETING_WEEKS), began),
                           (began, began + timedelta(weeks=MEETING_WEEKS))):
            [row] = await ThanksRecipient.filter(
                workspace_id=workspace.id, created_at__gte=start, created_at__lt=end, sender_department_id__in=ids,
                recipient_department_id__in=ids).filter(~Q(sender_department_id=F("recipient_department_id"))) \
                .annotate(n=Count("id"), senders=Count("sender_id", distinct=True)).values("n", "senders")
            n, senders = int(row["n"] or 0), int(row["senders"] or 0)
            side.append(n if senders == 0 or senders >= k else None)
        out.append({"id": meeting.id, "title": meeting.title, "departments": list(meeting.departments),
                    "began": began.astimezone(tz).date().isoformat(), "before": side[0], "after": side[1],
                    "attendance": [{"occurrence": o, "yes": int(n)} for m, o, n in sorted(attendance)
                                   if int(m) == meeting.id]})
    return {"meetings": out, "weeks": MEETING_WEEKS, "threshold": k}


async def mixers(scope: Scope) -> dict[str, Any]:
    """For each mixer (shuffle lunch) that has met: its rounds, the people and department pairs it put at one
    table, and the thanks between exactly those department pairs in the ``MEETING_WEEKS`` weeks before and after
    its first round. A side built from fewer distinct senders than the threshold is hidden."""
    from core.mixers.models import Mixer, MixerGroupMember, MixerRound

    k = scope.threshold
    workspace = scope.viewer.workspace
    now = datetime.now(UTC)
    out = []
    for mixer in await Mixer.filter(workspace_id=workspace.id).order_by("id"):
        rounds = await MixerRound.filter(mixer_id=mixer.id, starts_at__lte=now).order_by("starts_at")
        if not rounds:
            continue
        seated = await MixerGroupMember.filter(group__round__mixer_id=mixer.id, group__round__starts_at__lte=now) \
            .values_list("group_id", "member_id", "member__department_id", "met")
        tables: dict[int, set[int]] = {}
        for group_id, _member, department, _met in seated:
            tables.setdefault(int(group_id), set()).add(int(department or NO_DEPARTMENT))
        pairs = {(a, b) for departments in tables.values() for a in departments for b in departments if a != b}
        if scope.department_id is not None and not any(scope.department_id in pair for pair in pairs):
            continue
        began = rounds[0].starts_at
        side: list[int | None] = []
        for start, end in ((began - timedelta(weeks=MEETING_WEEKS), began),
                           (began, began + timedelta(weeks=MEETING_WEEKS))):
            ids = sorted({d for pair in pairs for d in pair})
            rows = await ThanksRecipient.filter(
                workspace_id=workspace.id, created_at__gte=start, created_at__lt=end, sender_department_id__in=ids,
                recipient_department_id__in=ids).values_list("sender_department_id", "recipient_department_id",
                                                             "sender_id")
            mixed = [sender for a, b, sender in rows if (int(a), int(b)) in pairs]
            senders = len(set(mixed))
            side.append(len(mixed) if senders == 0 or senders >= k else None)
        out.append({"id": mixer.id, "name": mixer.name, "rounds": len(rounds),
                    "people": len({int(member) for _g, member, _d, _m in seated}),
                    "pairs": len(pairs) // 2, "met": sum(1 for *_x, met in seated if met),
                    "began": began.astimezone(ZoneInfo(mixer.timezone)).date().isoformat(),
                    "before": side[0], "after": side[1]})
    return {"mixers": out, "weeks": MEETING_WEEKS, "threshold": k}


PROJECT_WEEKS = 4


async def _between(workspace_id: int, ids: list[int], start: datetime, end: datetime, k: int) -> int | None:
    """Thanks (per recipient) from one of ``ids`` to another of them in [start, end); None when fewer than
    ``k`` distinct people sent them."""
    [row] = await ThanksRecipient.filter(
        workspace_id=workspace_id, created_at__gte=start, created_at__lt=end, sender_department_id__in=ids,
        recipient_department_id__in=ids).filter(~Q(sender_department_id=F("recipient_department_id"))) \
        .annotate(n=Count("id"), senders=Count("sender_id", distinct=True)).values("n", "senders")
    n, senders = int(row["n"] or 0), int(row["senders"] or 0)
    return n if senders == 0 or senders >= k else None


async def projects(scope: Scope) -> dict[str, Any]:
    """For each cross-department project (over its whole life, whatever the period): its thanks, those that
    crossed departments, and for a closed one the thanks between its departments (any thanks, tagged or not)
    in the ``PROJECT_WEEKS`` weeks before and after it closed: did they keep thanking each other? A number
    built from fewer distinct senders than the threshold is hidden."""
    k = scope.threshold
    workspace = scope.viewer.workspace
    found = await Project.filter(workspace_id=workspace.id).order_by("start_date", "id")
    if scope.department_id is not None:
        found = [p for p in found if scope.department_id in (p.department_ids or [])]
    ids = [p.id for p in found] or [0]  # no project: the reads below find nothing
    totals = {int(p): (int(n), int(s)) for p, n, s in await _project_rows(workspace.id, ids).annotate(
        n=Count("thanks_id", distinct=True), senders=Count("sender_id", distinct=True))
        .group_by("thanks__project_id").values_list("thanks__project_id", "n", "senders")}
    crossing = {int(p): (int(n), int(s)) for p, n, s in await _project_rows(workspace.id, ids)
                .filter(sender_department_id__not=NO_DEPARTMENT, recipient_department_id__not=NO_DEPARTMENT)
                .filter(~Q(sender_department_id=F("recipient_department_id")))
                .annotate(n=Count("thanks_id", distinct=True), senders=Count("sender_id", distinct=True))
                .group_by("thanks__project_id").values_list("thanks__project_id", "n", "senders")}
    names = dict(await Department.filter(workspace_id=workspace.id).values_list("id", "name"))
    now = datetime.now(UTC)
    tz = ZoneInfo(workspace.timezone)
    out = []
    for project in found:
        before = after = None
        closed = project.closed_at if project.status == CLOSED else None
        departments = [int(i) for i in project.department_ids or [] if int(i) in names]
        if closed is not None and len(departments) >= 2:
            span = timedelta(weeks=PROJECT_WEEKS)
            before = await _between(workspace.id, departments, closed - span, closed, k)
            after = await _between(workspace.id, departments, closed, closed + span, k)
        thanks, senders = totals.get(project.id, (0, 0))
        cross, cross_senders = crossing.get(project.id, (0, 0))
        out.append({
            "key": project.key, "name": project.name, "status": project.status,
            "departments": [names[i] for i in departments], "start": project.start_date.isoformat(),
            "end": project.end_date.isoformat() if project.end_date else None,
            "closed": closed.astimezone(tz).date().isoformat() if closed else None,
            "thanks": _visible(thanks, senders, k), "cross": _visible(cross, cross_senders, k),
            "before": before, "after": after,
            # Closed less than the weeks ago: the "after" side is still filling.
            "so_far": closed is not None and closed + timedelta(weeks=PROJECT_WEEKS) > now,
        })
    return {"projects": out, "weeks": PROJECT_WEEKS, "threshold": k}


def _project_rows(workspace_id: int, project_ids: list[int]) -> Any:
    return ThanksRecipient.filter(workspace_id=workspace_id, thanks__project_id__in=project_ids)
