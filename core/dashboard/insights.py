"""The dashboard's figures, computed in SQL aggregates and bound to one workspace and one viewer.

Every query reads ``thanks_recipient`` (one row per thanks and recipient, with both departments as they
were when it was given) through its covering ``(workspace_id, created_at, …)`` index, grouped in the
database, one statement for several periods where a panel needs several (trend weeks). The raw figures
of a period that has ended (totals, department pairs, values) are stored in ``dashboard_figure`` the
first time they are asked for (or by the pass after each midnight, ``core.dashboard.warming``) and read
from there afterwards (``_stored``); the period still running is always computed. Privacy: for a viewer
who is not an admin, a number built from fewer than the workspace's ``privacy_threshold`` distinct people
is replaced by None (the page says "fewer than N"): a heatmap cell needs that many distinct senders *and* recipients, a
period's totals that many senders (and receivers for the receiver count). Admins see everything,
people included (bridges); members see departments and their own figures.
"""

from __future__ import annotations

import heapq
import json
import sys
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tortoise.expressions import F, Q
from tortoise.functions import Count

from core.dashboard.access import Viewer
from core.dashboard.models import DashboardEpoch, DashboardFigure
from core.errors import KizunaError
from core.meetings.models import Meeting, Rsvp
from core.models import NO_DEPARTMENT, Department, Member, ThanksRecipient, Value
from core.projects.models import CLOSED, Project
from core.sql import Sql

PeriodName = Literal["week", "month", "quarter", "year", "custom"]
PERIODS: tuple[str, ...] = ("week", "month", "quarter", "year", "custom")
MAX_CUSTOM_DAYS = 366
MAX_TREND_WEEKS = 53
# A department whose cross-department share (sent and received together) is below this is an island.
ISLAND_SHARE = 0.05
# A period's figures are stored once it ended this long ago, not at once: a thanks commits a moment after
# the time it carries, and the clocks of several servers differ by a little.
STORE_AFTER = timedelta(hours=1)


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


def _next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


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
    # When the question is asked: what had ended by then may be stored and read back (tests and the
    # benchmark set it; the page asks at the present moment).
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

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


# ---- stored figures -----------------------------------------------------------------------------

Compute = Callable[[Scope, list[Window]], Awaitable[dict[Window, Any]]]


@dataclass(frozen=True)
class Codec:
    """How a kind's data is kept in ``dashboard_figure.data`` (bytes)."""

    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


# Most kinds: compact JSON.
JSON = Codec(lambda data: json.dumps(data, separators=(",", ":")).encode(), json.loads)


def _ints_from(raw: bytes) -> array[int]:
    ints = array("i")
    ints.frombytes(raw)
    if sys.byteorder == "big":
        ints.byteswap()
    return ints


def _ints_to(ints: array[int]) -> bytes:
    if sys.byteorder == "big":
        ints = array("i", ints)
        ints.byteswap()
    return ints.tobytes()


# A flat array of 32-bit integers, little-endian: read back in microseconds where JSON of the same
# numbers took tens of milliseconds (a year of bridges: ~300,000 numbers).
INTS = Codec(_ints_to, _ints_from)
assert array("i").itemsize == 4, "the INTS codec stores 32-bit integers"


async def _stored(scope: Scope, kind: str, windows: Sequence[Window], compute: Compute,
                  codec: Codec = JSON) -> dict[Window, Any]:
    """``kind``'s raw figure (JSON data, before any privacy rule) for each window of the scope's workspace
    and department filter: read back for a window that ended ``STORE_AFTER`` before ``scope.now`` and was
    stored before; otherwise computed, and stored if ended. ``codec`` turns the data into the stored bytes
    and back.

    A kind names the shape of its data: a new shape takes a new name, so rows of an old one are never read.
    Stored rows carry the workspace's history epoch read *before* computing: if history is restated while
    a figure is computed (a merge of departments moves the epoch on), it is stored under the old epoch and
    never read again."""
    workspace_id = scope.viewer.workspace.id
    department = scope.department_id or 0
    ended = [w for w in windows if w.end + STORE_AFTER <= scope.now]
    found: dict[Window, Any] = {}
    epoch = 0
    if ended:
        found_epoch = await DashboardEpoch.filter(workspace_id=workspace_id).first()
        epoch = found_epoch.epoch if found_epoch is not None else 0
        rows = await DashboardFigure.filter(workspace_id=workspace_id, epoch=epoch, kind=kind, department=department,
                                            window_start__in=[w.start for w in ended]) \
            .values_list("window_start", "window_end", "data")
        spans = {(start, end): data for start, end, data in rows}
        for w in ended:
            if (w.start, w.end) in spans:
                found[w] = codec.decode(bytes(spans[(w.start, w.end)]))
    missing = [w for w in windows if w not in found]
    if missing:
        computed: dict[Window, Any] = {}
        # One window at a time: each statement a range scan of its own rows. (One statement for all,
        # grouped by a CASE over the windows, tests every row against every window: a year's pieces,
        # the first time, took seconds more.)
        for window in missing:
            computed.update(await compute(scope, [window]))
        found.update(computed)
        keep = [DashboardFigure(workspace_id=workspace_id, epoch=epoch, kind=kind, window_start=w.start,
                                window_end=w.end, department=department, data=codec.encode(computed[w]))
                for w in missing if w in ended]
        if keep:  # another request may have stored the same figure meanwhile: the same numbers
            await DashboardFigure.bulk_create(keep, ignore_conflicts=True)
            await _forget_superseded(scope, kind, epoch, [w for w in missing if w in ended])
    return found


async def _forget_superseded(scope: Scope, kind: str, epoch: int, stored: Sequence[Window]) -> None:
    """Delete the rows that the ``stored`` windows of ``kind`` take the place of: those starting at the same
    moment and ending before, but the calendar's own (a day, a Monday's week, a span ending as a month
    begins: a finished month, quarter or year, still asked for as the previous period).

    What they take the place of is yesterday's "so far": a period's ended days are joined into one row
    (``_parts``), so a running year adds a row a day, a year's bridges about a megabyte each, and only the
    latest is read again. One statement per stored window longer than a day."""
    tz = ZoneInfo(scope.viewer.workspace.timezone)
    department = scope.department_id or 0
    for window in stored:
        if window.last_day == window.first_day:
            continue  # nothing shorter starts at a midnight
        keep = [_midnight(window.first_day + timedelta(days=1), tz)]
        if window.first_day.weekday() == 0:
            keep.append(_midnight(window.first_day + timedelta(days=7), tz))
        month = _next_month(window.first_day)
        while month <= window.last_day:
            keep.append(_midnight(month, tz))
            month = _next_month(month)
        await DashboardFigure.filter(workspace_id=scope.viewer.workspace.id, epoch=epoch, kind=kind,
                                     department=department, window_start=window.start,
                                     window_end__lt=window.end).exclude(window_end__in=keep).delete()


async def forget_figures(workspace_id: int, connection: Any = None) -> None:
    """History of the workspace was restated: no figure stored so far may be read again (call it in the
    transaction that restates it)."""
    sql = Sql(connection)
    await sql.rows("INSERT INTO dashboard_epoch (workspace_id, epoch) VALUES (?, 1) ON CONFLICT (workspace_id) "
                   "DO UPDATE SET epoch = dashboard_epoch.epoch + 1", [workspace_id])
    await sql.rows("DELETE FROM dashboard_figure WHERE workspace_id = ?", [workspace_id])


# ---- SQL over thanks_recipient ------------------------------------------------------------------

_CROSSED = (f"CASE WHEN sender_department_id <> recipient_department_id AND sender_department_id <> {NO_DEPARTMENT} "
            f"AND recipient_department_id <> {NO_DEPARTMENT} THEN 1 ELSE 0 END")


def _where(scope: Scope, start: datetime, end: datetime, prefix: str = "") -> tuple[str, list[object]]:
    """The rows of the scope's workspace in [start, end), of its department filter (sent or received)."""
    sql = f"{prefix}workspace_id = ? AND {prefix}created_at >= ? AND {prefix}created_at < ?"
    params: list[object] = [scope.viewer.workspace.id, start, end]
    if scope.department_id is not None:
        sql += f" AND ({prefix}sender_department_id = ? OR {prefix}recipient_department_id = ?)"
        params += [scope.department_id, scope.department_id]
    return sql, params


def _which(windows: Sequence[Window], prefix: str = "") -> tuple[str, list[object]]:
    """A CASE giving the index of the window a row's ``created_at`` falls in (NULL: none)."""
    column = f"{prefix}created_at"
    whens = " ".join(f"WHEN {column} >= ? AND {column} < ? THEN {i}" for i in range(len(windows)))
    return f"CASE {whens} END", [t for w in windows for t in (w.start, w.end)]


def _pieces(scope: Scope, window: Window) -> list[Window]:
    """``window`` cut into calendar pieces that can be stored and added up: the whole months that lie in
    it and have ended, else the whole weeks (Monday to Sunday), else the days, then the rest, still
    running, as one last piece (a piece is over an hour after its end).
    A window not cut at the workspace's midnights (asked in another time zone) is one piece."""
    tz = ZoneInfo(scope.viewer.workspace.timezone)
    if _midnight(window.first_day, tz) != window.start or \
            _midnight(window.last_day + timedelta(days=1), tz) != window.end:
        return [window]
    pieces: list[Window] = []
    day = window.first_day
    while day <= window.last_day:
        month_end = _next_month(day) - timedelta(days=1)
        week_end = day + timedelta(days=6)
        spans = [month_end] if day.day == 1 and month_end <= window.last_day else []
        spans += [week_end] if day.weekday() == 0 and week_end <= window.last_day else []
        for last in [*spans, day]:
            piece = Window(_midnight(day, tz), _midnight(last + timedelta(days=1), tz), day, last)
            if piece.end + STORE_AFTER <= scope.now:
                pieces.append(piece)
                break
        else:
            break  # this day is not over (an hour ago): from here on, the rest
        day = pieces[-1].last_day + timedelta(days=1)
    if day <= window.last_day:
        pieces.append(Window(_midnight(day, tz), window.end, day, window.last_day))
    return pieces


Join = Callable[[list[Any], int], Any]


async def _parts(scope: Scope, kind: str, windows: Sequence[Window], compute: Compute,
                 join: Join, codec: Codec = JSON) -> list[list[Any]]:
    """For each window, ``kind``'s data in at most two parts: what has ended, and the rest, still running.

    What has ended is one stored row, the ``join`` of its pieces (``_pieces``; they are stored too, so
    tomorrow's span is joined from them, not counted again); the rest is computed. A period then costs a
    row or two and today's thanks, however long it is."""
    cap = _people_cap(scope)
    spans: dict[Window, list[Window]] = {}
    wanted: list[list[Window]] = []
    for window in windows:
        pieces = _pieces(scope, window)
        ended = [p for p in pieces if p.end + STORE_AFTER <= scope.now]
        rest = [p for p in pieces if p not in ended]
        if len(ended) > 1:
            span = Window(ended[0].start, ended[-1].end, ended[0].first_day, ended[-1].last_day)
            spans[span] = ended
            ended = [span]
        wanted.append(ended + rest)

    async def joined_or_computed(s: Scope, some: list[Window]) -> dict[Window, Any]:
        out: dict[Window, Any] = {}
        for window in some:
            if window in spans:
                pieces = await _stored(s, kind, spans[window], compute, codec)
                out[window] = join([pieces[p] for p in spans[window]], cap)
            else:
                out.update(await compute(s, [window]))
        return out

    found = await _stored(scope, kind, list(dict.fromkeys(w for ws in wanted for w in ws)), joined_or_computed,
                          codec)
    return [[found[w] for w in ws] for ws in wanted]


def _people_cap(scope: Scope) -> int:
    """How many distinct people of a cell a stored piece keeps: enough to tell whether any viewer's
    threshold is reached (the union of capped sets reaches k exactly when the union of the sets does)."""
    return max(1, scope.viewer.workspace.privacy_threshold)


async def _totals(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """Of each window: ``t`` thanks, ``n`` rows, ``c`` rows that crossed departments, ``s`` and ``r`` the
    ids of the people who sent and received; in one scan of the windows' span per statement.

    Without a department filter the thanks are counted in ``thanks`` (its (workspace, created_at, …) index
    alone; every thanks has a recipient row with its time); with one, as distinct thanks of the rows."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    filtered = scope.department_id is not None
    sql = Sql()
    out: dict[Window, Any] = {w: {"t": 0, "n": 0, "c": 0, "s": [], "r": []} for w in windows}
    for row in await sql.rows(
            f"SELECT {which} AS w, COUNT(*) AS n, SUM({_CROSSED}) AS c"
            f"{', COUNT(DISTINCT thanks_id) AS t' if filtered else ''} FROM thanks_recipient WHERE {where} "
            "GROUP BY 1", which_params + params):
        if row["w"] is not None:
            figure = out[windows[int(row["w"])]]
            figure["n"], figure["c"] = int(row["n"] or 0), int(row["c"] or 0)
            if filtered:
                figure["t"] = int(row["t"] or 0)
    if not filtered:
        for row in await sql.rows(
                f"SELECT {which} AS w, COUNT(*) AS n FROM thanks WHERE workspace_id = ? AND created_at >= ? "
                "AND created_at < ? GROUP BY 1", [*which_params, scope.viewer.workspace.id, start, end]):
            if row["w"] is not None:
                out[windows[int(row["w"])]]["t"] = int(row["n"] or 0)
    for row in await sql.rows(
            f"SELECT {which} AS w, sender_id AS m, 0 AS k FROM thanks_recipient WHERE {where} GROUP BY 1, 2 "
            f"UNION ALL SELECT {which} AS w, recipient_id AS m, 1 AS k FROM thanks_recipient WHERE {where} "
            "GROUP BY 1, 2", which_params + params + which_params + params):
        if row["w"] is not None:
            out[windows[int(row["w"])]]["r" if int(row["k"]) else "s"].append(int(row["m"]))
    return out


def _added_totals(parts: Sequence[Any]) -> Totals:
    senders: set[int] = set()
    receivers: set[int] = set()
    for part in parts:
        senders.update(part["s"])
        receivers.update(part["r"])
    return Totals(sum(p["t"] for p in parts), len(senders), len(receivers), sum(p["n"] for p in parts),
                  sum(p["c"] for p in parts))


async def _week_totals(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """[thanks, senders, receivers, rows, cross rows] of each window (a trend's weeks), in one scan."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    filtered = scope.department_id is not None
    sql = Sql()
    rows = {r["w"]: r for r in await sql.rows(
        f"SELECT {which} AS w, COUNT(*) AS n, COUNT(DISTINCT sender_id) AS senders, COUNT(DISTINCT recipient_id) "
        f"AS receivers, SUM({_CROSSED}) AS crossed"
        f"{', COUNT(DISTINCT thanks_id) AS thanks' if filtered else ''} FROM thanks_recipient WHERE {where} "
        "GROUP BY 1", which_params + params)}
    if filtered:
        thanks = {w: r["thanks"] for w, r in rows.items()}
    else:
        thanks = {r["w"]: r["n"] for r in await sql.rows(
            f"SELECT {which} AS w, COUNT(*) AS n FROM thanks WHERE workspace_id = ? AND created_at >= ? "
            "AND created_at < ? GROUP BY 1", [*which_params, scope.viewer.workspace.id, start, end])}
    out: dict[Window, Any] = {}
    for i, window in enumerate(windows):
        row = rows.get(i)
        out[window] = [int(thanks.get(i) or 0), *(int(row[k] or 0) if row else 0
                                                  for k in ("senders", "receivers", "n", "crossed"))]
    return out


def _visible(value: float | int, people: int, threshold: int) -> float | int | None:
    # Nothing at all is built from nobody: a zero shows.
    return value if people == 0 or people >= threshold else None


def _figure(now: float | int | None, before: float | int | None) -> dict[str, Any]:
    change = None if now is None or before is None else round(now - before, 4)
    return {"value": now, "previous": before, "change": change}


async def _yours(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """[thanks sent, thanks received (per recipient row)] of the viewer in each window."""
    me = scope.viewer.member.id
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    out: dict[Window, Any] = {w: [0, 0] for w in windows}
    for row in await Sql().rows(
            f"SELECT {which} AS w, COUNT(DISTINCT CASE WHEN sender_id = ? THEN thanks_id END) AS sent, "
            f"SUM(CASE WHEN recipient_id = ? THEN 1 ELSE 0 END) AS received FROM thanks_recipient WHERE {where} "
            "AND (sender_id = ? OR recipient_id = ?) GROUP BY 1", [*which_params, me, me, *params, me, me]):
        if row["w"] is not None:
            out[windows[int(row["w"])]] = [int(row["sent"] or 0), int(row["received"] or 0)]
    return out


async def totals(scope: Scope) -> tuple[Totals, Totals]:
    """The window's totals and the previous window's, raw (the overview's, apart from the viewer's own)."""
    now_parts, before_parts = await _parts(scope, "total", [scope.window, scope.window.previous()], _totals,
                                           _join_totals)
    return _added_totals(now_parts), _added_totals(before_parts)


async def overview(scope: Scope) -> dict[str, Any]:
    """Thanks, senders, receivers and the cross-department share, with the previous period's; and the
    viewer's own sent and received."""
    k = scope.threshold
    now, before = await totals(scope)

    def share(t: Totals) -> float | None:
        return None if 0 < t.senders < k else (round(t.cross_rows / t.rows, 4) if t.rows else 0.0)

    # The viewer's own, stored under their own member id.
    [mine] = await _parts(scope, f"you/{scope.viewer.member.id}", [scope.window], _yours, _join_yours)
    return {
        "thanks": _figure(_visible(now.thanks, now.senders, k), _visible(before.thanks, before.senders, k)),
        "senders": _figure(_visible(now.senders, now.senders, k), _visible(before.senders, before.senders, k)),
        "receivers": _figure(_visible(now.receivers, now.receivers, k),
                             _visible(before.receivers, before.receivers, k)),
        # A share against a period with no thanks at all is no change: there was nothing to cross.
        "cross_share": _figure(share(now), share(before) if before.rows else None),
        "you": {"sent": sum(part[0] for part in mine), "received": sum(part[1] for part in mine)},
    }


async def _departments(scope: Scope) -> list[dict[str, Any]]:
    named = await Department.filter(workspace_id=scope.viewer.workspace.id).order_by("name").values_list("id", "name")
    return [{"id": int(i), "name": n} for i, n in named]


def _capped(rows: Sequence[dict[str, Any]], windows: Sequence[Window], width: int,
            cap: int) -> dict[Window, dict[Any, Any]]:
    """Rows (w, the key's ``width`` columns k0…, m, and optionally r: 0 a sender, 1 a recipient; at most
    ``cap`` people per key) gathered into {window: {key: [senders, recipients]}}, each the list of ids, or
    ``True`` when it holds ``cap`` of them (``_People``)."""
    out: dict[Window, dict[Any, Any]] = {w: {} for w in windows}
    for row in rows:
        if row["w"] is None:
            continue
        key = tuple(int(row[f"k{i}"]) for i in range(width))
        people = out[windows[int(row["w"])]].setdefault(key, [[], []])
        people[int(row.get("r") or 0)].append(int(row["m"]))
    for keys in out.values():
        for people in keys.values():
            people[:] = [True if len(ids) >= cap else ids for ids in people]
    return out


class _People:
    """Distinct people over the pieces, as far as a threshold up to ``cap`` needs to know: a piece holds
    its people's ids, or ``True`` when it alone has ``cap`` of them (then who they are no longer matters)."""

    __slots__ = ("cap", "full", "ids")

    def __init__(self, cap: int) -> None:
        self.cap, self.full, self.ids = cap, False, set[int]()

    def add(self, part: list[int] | bool) -> None:
        if self.full:
            return
        if part is True:
            self.full = True
            return
        self.ids.update(part)  # type: ignore[arg-type]
        self.full = len(self.ids) >= self.cap

    def count(self) -> int:
        """How many, up to ``cap``."""
        return self.cap if self.full else len(self.ids)

    def stored(self) -> list[int] | bool:
        return True if self.full else sorted(self.ids)


def _people(cap: int, parts: Sequence[list[int] | bool]) -> _People:
    people = _People(cap)
    for part in parts:
        people.add(part)
    return people


def _join_totals(parts: list[Any], _cap: int) -> Any:
    return {"t": sum(p["t"] for p in parts), "n": sum(p["n"] for p in parts), "c": sum(p["c"] for p in parts),
            "s": sorted({m for p in parts for m in p["s"]}), "r": sorted({m for p in parts for m in p["r"]})}


def _join_yours(parts: list[Any], _cap: int) -> Any:
    return [sum(p[0] for p in parts), sum(p[1] for p in parts)]


def _join_received(parts: list[Any], _cap: int) -> Any:
    received: dict[int, int] = {}
    for part in parts:
        for recipient, n in part:
            received[recipient] = received.get(recipient, 0) + n
    return sorted([m, n] for m, n in received.items())


def _join_pairs(parts: list[Any], _cap: int) -> Any:
    rows: dict[tuple[int, int], int] = {}
    for part in parts:
        for a, b, n in part:
            rows[(a, b)] = rows.get((a, b), 0) + n
    return [[a, b, n] for (a, b), n in sorted(rows.items())]


def _people_of_pairs(parts: Sequence[Any], cap: int) -> dict[tuple[int, int], tuple[_People, _People]]:
    """The senders and the receivers of each department pair, over stored parts."""
    cells: dict[tuple[int, int], tuple[_People, _People]] = {}
    for part in parts:
        for a, b, senders, receivers in part:
            cell = cells.get((a, b))
            if cell is None:
                cell = cells[(a, b)] = (_People(cap), _People(cap))
            cell[0].add(senders)
            cell[1].add(receivers)
    return cells


def _join_pair_people(parts: list[Any], cap: int) -> Any:
    return [[a, b, s.stored(), r.stored()] for (a, b), (s, r) in sorted(_people_of_pairs(parts, cap).items())]


def _join_values(parts: list[Any], cap: int) -> Any:
    cells: dict[tuple[int, int], tuple[list[int], _People]] = {}
    weeks: dict[tuple[int, str], int] = {}
    for part in parts:
        for value, department, n, senders in part["cells"]:
            cell = cells.get((value, department))
            if cell is None:
                cell = cells[(value, department)] = ([0], _People(cap))
            cell[0][0] += n
            cell[1].add(senders)
        for value, monday, n in part["weeks"]:
            weeks[(value, monday)] = weeks.get((value, monday), 0) + n
    return {"cells": [[v, d, n[0], people.stored()] for (v, d), (n, people) in sorted(cells.items())],
            "weeks": [[v, w, n] for (v, w), n in sorted(weeks.items())]}


async def _pairs(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """Of each window: [sender department, recipient department, rows] (in one scan of their span)."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    out: dict[Window, Any] = {w: [] for w in windows}
    for row in await Sql().rows(
            f"SELECT {which} AS w, sender_department_id AS a, recipient_department_id AS b, COUNT(*) AS n "
            f"FROM thanks_recipient WHERE {where} GROUP BY 1, 2, 3 ORDER BY 2, 3", which_params + params):
        if row["w"] is not None:
            out[windows[int(row["w"])]].append([int(row["a"]), int(row["b"]), int(row["n"])])
    return out


async def _pair_people(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """Of each window: [sender department, recipient department, [senders], [recipients]], the people
    capped at ``_people_cap`` (in one scan of their span)."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    people = _capped(await Sql().rows(
        "SELECT w, k0, k1, m, r FROM (SELECT w, k0, k1, m, r, ROW_NUMBER() OVER (PARTITION BY w, k0, k1, r "
        "ORDER BY m) AS i FROM ("
        f"SELECT {which} AS w, sender_department_id AS k0, recipient_department_id AS k1, sender_id AS m, 0 AS r "
        f"FROM thanks_recipient WHERE {where} GROUP BY 1, 2, 3, 4 UNION ALL "
        f"SELECT {which} AS w, sender_department_id AS k0, recipient_department_id AS k1, recipient_id AS m, 1 AS r "
        f"FROM thanks_recipient WHERE {where} GROUP BY 1, 2, 3, 4) who) numbered WHERE i <= ?",
        [*which_params, *params, *which_params, *params, _people_cap(scope)]), windows, 2, _people_cap(scope))
    return {w: [[a, b, senders, receivers] for (a, b), (senders, receivers) in sorted(people[w].items())]
            for w in windows}


def _added_pairs(counts: Sequence[Any], people: Sequence[Any] | None,
                 cap: int = 1) -> list[tuple[int, int, int, int, int]]:
    """(sender department, recipient department, rows, senders, recipients) over the pieces, the people
    counted up to ``cap``; without ``people`` (an admin's view needs none), counted as one."""
    rows: dict[tuple[int, int], int] = {}
    for part in counts:
        for a, b, n in part:
            rows[(a, b)] = rows.get((a, b), 0) + n
    if people is None:
        return [(a, b, n, 1, 1) for (a, b), n in sorted(rows.items())]
    who = _people_of_pairs(people, cap)
    return [(a, b, n, who[(a, b)][0].count(), who[(a, b)][1].count()) for (a, b), n in sorted(rows.items())]


async def heatmap(scope: Scope) -> dict[str, Any]:
    """Thanks from each department (rows) to each (columns): counts, and each sender department's share."""
    k = scope.threshold
    [counts] = await _parts(scope, "pair", [scope.window], _pairs, _join_pairs)
    # Every cell has a sender and a recipient: only a threshold above one needs the people.
    [people] = await _parts(scope, f"pairpeople/{_people_cap(scope)}", [scope.window], _pair_people,
                            _join_pair_people) if k > 1 else [None]
    groups = _added_pairs(counts, people, _people_cap(scope))
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
    spans = []
    for index in range(weeks - 1, -1, -1):
        monday = last_monday - timedelta(weeks=index)
        spans.append(Window(_midnight(monday, tz), _midnight(monday + timedelta(days=7), tz), monday,
                            monday + timedelta(days=6)))
    stored = await _stored(scope, "week", spans, _week_totals)
    rows = []
    for week in spans:
        monday = week.first_day
        totals = Totals(*stored[week])
        visible = totals.senders == 0 or totals.senders >= k
        rows.append({"week": monday.isoformat(), "thanks": totals.thanks if visible else None,
                     "senders": totals.senders if visible else None,
                     "cross_share": (round(totals.cross_rows / totals.rows, 4) if totals.rows else 0.0)
                     if visible else None})
    return {"weeks": rows, "threshold": k}


async def _reach(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """Of each window: by sender, the departments their thanks went to (rows where neither side is without
    a department), flat (``_reach_flat``)."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    out: dict[Window, dict[int, dict[int, int]]] = {w: {} for w in windows}
    for row in await Sql().rows(
            f"SELECT {which} AS w, sender_id AS s, recipient_department_id AS b, COUNT(*) AS n FROM thanks_recipient "
            f"WHERE {where} AND sender_department_id <> {NO_DEPARTMENT} AND recipient_department_id <> "
            f"{NO_DEPARTMENT} GROUP BY 1, 2, 3", which_params + params):
        if row["w"] is not None:
            out[windows[int(row["w"])]].setdefault(int(row["s"]), {})[int(row["b"])] = int(row["n"])
    return {w: _reach_flat(senders) for w, senders in out.items()}


def _reach_flat(senders: dict[int, dict[int, int]]) -> array[int]:
    """``{sender: {department: thanks}}`` as one array of integers (stored with ``INTS``): for each sender in
    order, ``sender, thanks, k``, then ``k`` pairs ``department, thanks`` in order of department."""
    flat = array("i")
    for sender, departments in sorted(senders.items()):
        flat.extend((sender, sum(departments.values()), len(departments)))
        for pair in sorted(departments.items()):
            flat.extend(pair)
    return flat


def _reach_senders(flat: array[int]) -> dict[int, dict[int, int]]:
    senders: dict[int, dict[int, int]] = {}
    i, size = 0, len(flat)
    while i < size:
        first, i = i + 3, i + 3 + 2 * flat[i + 2]
        senders[flat[first - 3]] = dict(zip(flat[first:i:2], flat[first + 1:i:2], strict=True))
    return senders


def _join_reach(parts: list[Any], _cap: int) -> Any:
    senders: dict[int, dict[int, int]] = {}
    for part in parts:
        for sender, reached in _reach_senders(part).items():
            departments = senders.setdefault(sender, {})
            for d, n in reached.items():
                departments[d] = departments.get(d, 0) + n
    return _reach_flat(senders)


async def bridges(scope: Scope, limit: int = 10) -> dict[str, Any] | None:
    """Admins only: the people whose thanks reach the most other departments (None for anyone else)."""
    if not scope.viewer.is_admin:
        return None
    # Each sender's reach: the departments other than the one they are in *now* that their thanks went to.
    # What is stored is history (thanks by sender and recipient department); the department a sender is in
    # now is read now.
    parts = sorted((await _parts(scope, "bridge", [scope.window], _reach, _join_reach, INTS))[0], key=len)
    own = {int(r["id"]): r["d"] for r in await Sql().rows(
        "SELECT id, department_id AS d FROM member WHERE workspace_id = ?", [scope.viewer.workspace.id])}
    ranked: list[tuple[int, int, int]] = []  # (-departments, -thanks, sender)

    def rank(sender: int, thanks: int, departments: Sequence[int], counts: Sequence[int]) -> None:
        mine = own.get(sender)
        if mine in departments:
            reach, thanks = len(departments) - 1, thanks - counts[departments.index(mine)]
        else:
            reach = len(departments)
        if reach:
            ranked.append((-reach, -thanks, sender))

    # The senders of the smaller parts (today's) are joined with their entries of the largest; the others
    # are read off the largest part as they are, its flat array walked in place (a year: 5,000 senders).
    large = parts[-1] if parts else array("i")
    small = _reach_senders(parts[0] if len(parts) == 2 else _join_reach(parts[:-1], 0))
    i, size = 0, len(large)
    while i < size:
        sender, thanks, first = large[i], large[i + 1], i + 3
        i = first + 2 * large[i + 2]
        more = small.pop(sender, None)
        if more is None:
            rank(sender, thanks, large[first:i:2], large[first + 1:i:2])
        else:
            for d, n in zip(large[first:i:2], large[first + 1:i:2], strict=True):
                more[d] = more.get(d, 0) + n
            joined = sorted(more.items())
            rank(sender, sum(n for _d, n in joined), [d for d, _n in joined], [n for _d, n in joined])
    for sender, more in small.items():
        joined = sorted(more.items())
        rank(sender, sum(n for _d, n in joined), [d for d, _n in joined], [n for _d, n in joined])
    top = heapq.nsmallest(limit, ranked)
    names = dict(await Member.filter(id__in=[s for _r, _c, s in top]).values_list("id", "display_name"))
    return {"people": [{"name": names.get(s, ""), "departments": -r, "thanks": -c} for r, c, s in top]}


async def _values(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """Of each window: ``cells``, [value, sender department, thanks, [senders]] (the people capped at
    ``_people_cap``); ``weeks`` (the whole workspace only), [value, Monday, thanks] by the senders' local
    days. Read from the tagged thanks of the window (``thanks`` by its time index, then their tags)."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows, "t.")
    workspace_id = scope.viewer.workspace.id
    joined = ("FROM thanks t JOIN thanks_value v ON v.thanks_id = t.id JOIN thanks_recipient r ON r.thanks_id = t.id "
              "WHERE t.workspace_id = ? AND t.created_at >= ? AND t.created_at < ?")
    params: list[object] = [workspace_id, start, end]
    if scope.department_id is not None:
        joined += " AND (r.sender_department_id = ? OR r.recipient_department_id = ?)"
        params += [scope.department_id, scope.department_id]
    sql = Sql()
    counts = await sql.rows(
        f"SELECT {which} AS w, v.value_id AS v, r.sender_department_id AS d, COUNT(DISTINCT r.thanks_id) AS n "
        f"{joined} GROUP BY 1, 2, 3 ORDER BY 2, 3", which_params + params)
    people = _capped(await sql.rows(
        "SELECT w, k0, k1, m FROM (SELECT w, k0, k1, m, ROW_NUMBER() OVER (PARTITION BY w, k0, k1 ORDER BY m) AS i "
        f"FROM (SELECT {which} AS w, v.value_id AS k0, r.sender_department_id AS k1, r.sender_id AS m {joined} "
        "GROUP BY 1, 2, 3, 4) who) numbered WHERE i <= ?", [*which_params, *params, _people_cap(scope)]), windows, 2,
        _people_cap(scope))
    out: dict[Window, Any] = {w: {"cells": [], "weeks": []} for w in windows}
    for row in counts:
        if row["w"] is not None:
            window = windows[int(row["w"])]
            value, department = int(row["v"]), int(row["d"])
            senders, _ = people[window].get((value, department), ([], []))
            out[window]["cells"].append([value, department, int(row["n"]), senders])
    if scope.department_id is None:
        weeks: dict[tuple[int, int, str], int] = {}
        for row in await sql.rows(
                f"SELECT {which} AS w, v.value_id AS v, t.local_day AS day, COUNT(*) AS n FROM thanks t "
                "JOIN thanks_value v ON v.thanks_id = t.id WHERE t.workspace_id = ? AND t.created_at >= ? "
                "AND t.created_at < ? GROUP BY 1, 2, 3", [*which_params, workspace_id, start, end]):
            if row["w"] is None:
                continue
            day = row["day"]
            local = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
            key = (int(row["w"]), int(row["v"]), (local - timedelta(days=local.weekday())).isoformat())
            weeks[key] = weeks.get(key, 0) + int(row["n"])
        for (w, value, monday), n in sorted(weeks.items()):
            out[windows[w]]["weeks"].append([value, monday, n])
    return out


async def values(scope: Scope) -> dict[str, Any]:
    """Which values live: thanks tagged with each value, by sender department (at the time) and by week."""
    k = scope.threshold
    workspace = scope.viewer.workspace
    known = await Value.filter(workspace_id=workspace.id).order_by("position", "id") \
        .values_list("id", "key", "name_en", "name_ja", "emoji")
    [parts] = await _parts(scope, f"values/{_people_cap(scope)}", [scope.window], _values, _join_values)
    added = _join_values(parts, _people_cap(scope))
    by_department = [(v, d, n, _people(_people_cap(scope), [senders]).count()) for v, d, n, senders in added["cells"]]
    weeks = {(v, w): n for v, w, n in added["weeks"]}
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


async def _received(scope: Scope, windows: list[Window]) -> dict[Window, Any]:
    """[recipient, thanks received (rows)] of each window."""
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    which, which_params = _which(windows)
    where, params = _where(scope, start, end)
    out: dict[Window, Any] = {w: [] for w in windows}
    for row in await Sql().rows(f"SELECT {which} AS w, recipient_id AS m, COUNT(*) AS n FROM thanks_recipient "
                                f"WHERE {where} GROUP BY 1, 2", which_params + params):
        if row["w"] is not None:
            out[windows[int(row["w"])]].append([int(row["m"]), int(row["n"])])
    return out


async def leaderboard(scope: Scope, limit: int = 10) -> dict[str, Any] | None:
    """The people thanked most in the window, where the workspace has leaderboards on (None otherwise);
    what the chat's leaderboard already shows everyone."""
    if not scope.viewer.workspace.leaderboard_enabled:
        return None
    [parts] = await _parts(scope, "received", [scope.window], _received, _join_received)
    rows = sorted(((m, n) for m, n in _join_received(parts, 1)), key=lambda r: (-r[1], r[0]))[:limit]
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
