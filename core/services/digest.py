"""The recognition digest of a period, computed in SQL: activity, bridges, values, claps, projects and islands.

Privacy: a department pair (a new bridge or an island) is shown only when both departments have at
least the workspace's ``privacy_threshold`` people, and a new bridge only when the thanks that made it
involve that many distinct people (senders and recipients), so a digest never points at one or two
individuals through their department. The most-clapped thanks are a ranking, so they are left out
where the workspace turned leaderboards off. Names are plain text: a digest mentions nobody.

Islands are department pairs that work near each other (they share a meeting: one that invites both
departments, or whose "going" attendees came from both; or they thanked each other before) and have
exchanged no thanks for ``QUIET_WEEKS``; the ones with a shared meeting coming up are shown first,
with that meeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from tortoise.functions import Count

from core.meetings.models import ACTIVE, Meeting, OccurrenceOverride, Rsvp
from core.meetings.recurrence import LOCAL_FORMAT, Override, occurrences
from core.meetings.service import series_of
from core.mixers.models import MixerGroupMember, MixerRound
from core.models import NO_DEPARTMENT, Department, Member, Thanks, ThanksRecipient, ThanksValue, Workspace
from core.projects.models import Project
from core.services.stats import Period, period_start
from core.sql import Sql, placeholders

QUIET_WEEKS = 8
"""A bridge is new after this many weeks without thanks between the two departments; an island is a pair
that thanked each other before but not for this long."""

EXCERPT_CHARS = 40
TOP_VALUES = 3
TOP_CLAPPED = 3
ISLANDS = 2


@dataclass(frozen=True)
class DigestValue:
    key: str
    name_en: str
    name_ja: str
    emoji: str
    count: int


@dataclass(frozen=True)
class DigestThanks:
    thanks_id: int
    sender: str
    recipients: tuple[str, ...]
    excerpt: str
    claps: int
    # The name of the project it was given within, or "".
    project: str = ""


@dataclass(frozen=True)
class DepartmentPair:
    first: str
    second: str


@dataclass(frozen=True)
class SharedMeeting:
    """The next occurrence of a meeting two departments share: its title, its start and its own zone."""

    title: str
    starts_at: datetime
    timezone: str


@dataclass(frozen=True)
class Island:
    """Two departments that work near each other but have exchanged no thanks for ``QUIET_WEEKS`` or more,
    and their next shared meeting if one is scheduled."""

    first: str
    second: str
    next_meeting: SharedMeeting | None = None


@dataclass(frozen=True)
class DigestMixerRound:
    """The last mixer round of the period, per mixer: how many people and groups, how many department
    pairs sat together, and how many said they met (of those who answered)."""

    name: str
    people: int
    groups: int
    department_pairs: int
    met: int
    answered: int


@dataclass(frozen=True)
class Digest:
    """What a digest says about the period [start, end) against the period before it."""

    period: Period
    start: datetime
    end: datetime
    thanks: int
    previous_thanks: int
    people: int
    previous_people: int
    cross_share: float
    previous_cross_share: float
    new_bridges: tuple[DepartmentPair, ...]
    top_values: tuple[DigestValue, ...]
    most_clapped: tuple[DigestThanks, ...]
    islands: tuple[Island, ...]
    mixer_rounds: tuple[DigestMixerRound, ...] = ()
    # The names of the projects that started (start date in the period) or closed in it.
    projects_started: tuple[str, ...] = ()
    projects_closed: tuple[str, ...] = ()

    def first_day(self, tz_name: str) -> date:
        return self.start.astimezone(ZoneInfo(tz_name)).date()

    def last_day(self, tz_name: str) -> date:
        return (self.end.astimezone(ZoneInfo(tz_name)) - timedelta(seconds=1)).date()


def digest_bounds(period: Period, tz_name: str, now: datetime) -> tuple[datetime, datetime, datetime]:
    """(previous start, start, end) of the last complete ``period`` before ``now`` in ``tz_name``."""
    end = period_start(period, tz_name, now)
    assert end is not None
    start = period_start(period, tz_name, end - timedelta(seconds=1))
    assert start is not None
    previous = period_start(period, tz_name, start - timedelta(seconds=1))
    assert previous is not None
    return previous, start, end


def recent_bounds(period: Period, tz_name: str, now: datetime) -> tuple[datetime, datetime, datetime]:
    """(previous start, start, end) of the period ending at ``now``: the last 7 days or the last month,
    today included (from local midnight), against as long a period just before it."""
    zone = ZoneInfo(tz_name)
    today = now.astimezone(zone).date()
    step = timedelta(weeks=1) if period is Period.WEEK else relativedelta(months=1)
    first = today - step + timedelta(days=1)
    earlier = first - step

    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)

    return midnight(earlier), midnight(first), now.astimezone(UTC)


_CROSSED = (f"CASE WHEN sender_department_id <> recipient_department_id AND sender_department_id <> {NO_DEPARTMENT} "
            f"AND recipient_department_id <> {NO_DEPARTMENT} THEN 1 ELSE 0 END")


async def _activity(workspace_id: int, previous: datetime, start: datetime,
                    end: datetime) -> tuple[tuple[int, int, float], tuple[int, int, float]]:
    """For [start, end) and the period before it, [previous, start): (thanks, distinct people who sent or
    received, share of recipient rows that crossed a department line).

    Three statements over the two periods at once, each a range scan of one covering index (``thanks``
    by (workspace, created_at, sender); ``thanks_recipient`` by (workspace, created_at, recipient, sender,
    departments)): no table row is read."""
    sql = Sql()
    window = "workspace_id = ? AND created_at >= ? AND created_at < ?"
    now = "CASE WHEN created_at >= ? THEN 1 ELSE 0 END"
    thanks = {int(r["p"]): int(r["n"]) for r in await sql.rows(
        f"SELECT {now} AS p, COUNT(*) AS n FROM thanks WHERE {window} GROUP BY 1",
        [start, workspace_id, previous, end])}
    rows = {int(r["p"]): (int(r["n"]), int(r["crossed"] or 0)) for r in await sql.rows(
        f"SELECT {now} AS p, COUNT(*) AS n, SUM({_CROSSED}) AS crossed FROM thanks_recipient WHERE {window} "
        "GROUP BY 1", [start, workspace_id, previous, end])}
    people = {int(r["p"]): int(r["n"]) for r in await sql.rows(
        f"SELECT p, COUNT(*) AS n FROM (SELECT {now} AS p, sender_id AS m FROM thanks_recipient WHERE {window} "
        f"UNION SELECT {now} AS p, recipient_id AS m FROM thanks_recipient WHERE {window}) who GROUP BY p",
        [start, workspace_id, previous, end, start, workspace_id, previous, end])}

    def period(p: int) -> tuple[int, int, float]:
        total, crossed = rows.get(p, (0, 0))
        return thanks.get(p, 0), people.get(p, 0), (crossed / total if total else 0.0)

    return period(1), period(0)


async def _active_pairs(workspace_id: int, since: date, until: date) -> dict[tuple[int, int], date]:
    """The first day in [since, until) on which each unordered department pair thanked across (the rollup's
    unique (workspace, day, …) index alone: days × pairs of a few weeks, not the whole history). A rollup
    row is only ever written with a count of one or more, so its presence is the activity."""
    rows = await Sql().rows(
        "SELECT sender_department_id AS a, recipient_department_id AS b, MIN(day) AS first FROM department_flow "
        "WHERE workspace_id = ? AND day >= ? AND day < ? AND sender_department_id <> "
        f"{NO_DEPARTMENT} AND recipient_department_id <> {NO_DEPARTMENT} "
        "AND sender_department_id <> recipient_department_id GROUP BY 1, 2", [workspace_id, since, until])
    first: dict[tuple[int, int], date] = {}
    for row in rows:
        a, b, day = int(row["a"]), int(row["b"]), row["first"]
        key = (min(a, b), max(a, b))
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        if key not in first or day < first[key]:
            first[key] = day
    return first


async def _pairs_before(workspace_id: int, department_ids: list[int], before: date) -> set[tuple[int, int]]:
    """The unordered pairs of these departments that thanked across at some time before ``before``.

    One index probe per pair and direction into the rollup's (workspace, sender, recipient, day, count)
    index (EXISTS stops at the first row), instead of grouping every day of history."""
    if len(department_ids) < 2:
        return set()
    ids = placeholders(len(department_ids))
    probe = ("EXISTS (SELECT 1 FROM department_flow f WHERE f.workspace_id = ? AND f.sender_department_id = {0}.id "
             "AND f.recipient_department_id = {1}.id AND f.day < ?)")
    rows = await Sql().rows(
        f"SELECT a.id AS a, b.id AS b FROM department a JOIN department b ON b.workspace_id = a.workspace_id "
        f"AND b.id > a.id WHERE a.workspace_id = ? AND a.id IN ({ids}) AND b.id IN ({ids}) "
        f"AND ({probe.format('a', 'b')} OR {probe.format('b', 'a')})",
        [workspace_id, *department_ids, *department_ids, workspace_id, before, workspace_id, before])
    return {(int(r["a"]), int(r["b"])) for r in rows}


async def _pair_people(workspace_id: int, start: datetime, end: datetime,
                       department_ids: set[int]) -> dict[tuple[int, int], int]:
    """For each unordered pair of these departments that thanked across in [start, end): how many distinct
    people (senders and recipients) those thanks involve (one range scan of ``thanks_recipient``'s covering
    index; only the candidates' rows are grouped)."""
    low = "CASE WHEN sender_department_id < recipient_department_id THEN sender_department_id " \
          "ELSE recipient_department_id END"
    high = "CASE WHEN sender_department_id < recipient_department_id THEN recipient_department_id " \
           "ELSE sender_department_id END"
    ids = sorted(department_ids)
    where = (f"workspace_id = ? AND created_at >= ? AND created_at < ? AND sender_department_id IN "
             f"({placeholders(len(ids))}) AND recipient_department_id IN ({placeholders(len(ids))}) "
             "AND sender_department_id <> recipient_department_id")
    arguments = [workspace_id, start, end, *ids, *ids]
    rows = await Sql().rows(
        f"SELECT a, b, COUNT(DISTINCT m) AS n FROM (SELECT {low} AS a, {high} AS b, sender_id AS m "
        f"FROM thanks_recipient WHERE {where} UNION SELECT {low} AS a, {high} AS b, recipient_id AS m "
        f"FROM thanks_recipient WHERE {where}) who GROUP BY a, b", arguments * 2)
    return {(int(r["a"]), int(r["b"])): int(r["n"]) for r in rows}


async def _meeting_pairs(workspace_id: int, department_ids: list[int],
                         now: datetime) -> dict[tuple[int, int], SharedMeeting | None]:
    """The unordered pairs of these departments that share a meeting (it invites both, or its "going"
    attendees came from both), each with the next occurrence of such a meeting still ahead of ``now`` (the
    soonest; None if none is scheduled)."""
    wanted = set(department_ids)
    meetings = {m.id: m for m in await Meeting.filter(workspace_id=workspace_id)}
    if not meetings or len(wanted) < 2:
        return {}
    departments: dict[int, set[int]] = {i: {d for d in m.department_ids if d in wanted} for i, m in meetings.items()}
    for meeting_id, department_id in await Rsvp.filter(meeting_id__in=list(meetings), answer="yes",
                                                       member__department_id__in=list(wanted)) \
            .distinct().values_list("meeting_id", "member__department_id"):
        departments[int(meeting_id)].add(int(department_id))
    shared = {i: ids for i, ids in departments.items() if len(ids) >= 2}
    active = [i for i in shared if meetings[i].status == ACTIVE]
    # The skipped and moved occurrences of the active ones, in one read.
    overrides: dict[int, dict[str, Override]] = {i: {} for i in active}
    for row in await OccurrenceOverride.filter(meeting_id__in=active) if active else []:
        overrides[row.meeting_id][row.occurrence] = Override(row.skipped, datetime.strptime(
            row.moved_to_local, LOCAL_FORMAT) if row.moved_to_local else None)
    pairs: dict[tuple[int, int], SharedMeeting | None] = {}
    for meeting_id, ids in shared.items():
        meeting, soon = meetings[meeting_id], None
        if meeting_id in overrides:
            ahead = [o for o in occurrences(series_of(meeting), overrides[meeting_id], now, limit=3)
                     if o.starts_at >= now]
            if ahead:
                soon = SharedMeeting(meeting.title, ahead[0].starts_at, meeting.timezone)
        for a in ids:
            for b in ids:
                if a < b:
                    known = pairs.get((a, b))
                    if known is None or (soon is not None and soon.starts_at < known.starts_at):
                        pairs[(a, b)] = soon
    return pairs


async def build_digest(workspace: Workspace, period: Period = Period.WEEK, *, now: datetime | None = None,
                       ending_now: bool = False, meetings_from: datetime | None = None) -> Digest:
    """The digest of the last complete ``period`` before ``now`` (Monday-to-Sunday weeks, calendar months),
    or with ``ending_now`` of the period ending at ``now`` (the last 7 days or the last month, today
    included). An island's next shared meeting is the first to start from ``meetings_from`` (default
    ``now``; a digest posted late names a meeting still ahead of its readers)."""
    if period is Period.ALL:
        raise ValueError("a digest covers a week or a month")
    now = now or datetime.now(UTC)
    tz = workspace.timezone
    previous, start, end = (recent_bounds if ending_now else digest_bounds)(period, tz, now)
    (thanks, people, share), (previous_thanks, previous_people, previous_share) = \
        await _activity(workspace.id, previous, start, end)

    zone = ZoneInfo(tz)
    first_day = start.astimezone(zone).date()
    # The day after the period's last day (a period ending now includes today).
    end_day = (end - timedelta(microseconds=1)).astimezone(zone).date() + timedelta(days=1)
    quiet_from = first_day - timedelta(weeks=QUIET_WEEKS)
    threshold = max(1, workspace.privacy_threshold)
    sizes = dict(await Member.filter(workspace_id=workspace.id, department_id__not_isnull=True)
                 .annotate(n=Count("id")).group_by("department_id").values_list("department_id", "n"))
    names = {d.id: d.name for d in await Department.filter(workspace_id=workspace.id)}
    # Only departments big enough to be named can make a bridge or an island.
    big = sorted(i for i in names if int(sizes.get(i, 0)) >= threshold)

    def shown(pair: tuple[int, int]) -> bool:
        return all(i in names and int(sizes.get(i, 0)) >= threshold for i in pair)

    def named(pair: tuple[int, int]) -> DepartmentPair:
        first, second = sorted((names[pair[0]], names[pair[1]]))
        return DepartmentPair(first, second)

    # A bridge: active this period, silent in the QUIET_WEEKS before it, and made by enough people to be
    # told. An island: near each other (a shared meeting, or thanks once), silent from QUIET_WEEKS before
    # the period to its end.
    recent = await _active_pairs(workspace.id, quiet_from, end_day)
    fresh = [p for p, day in recent.items() if day >= first_day and shown(p)]
    makers = await _pair_people(workspace.id, start, end, {i for p in fresh for i in p}) if fresh else {}
    bridges = sorted((named(p) for p in fresh if makers.get(p, 0) >= threshold), key=lambda p: (p.first, p.second))
    near: dict[tuple[int, int], SharedMeeting | None] = dict.fromkeys(
        await _pairs_before(workspace.id, big, quiet_from))
    near.update(await _meeting_pairs(workspace.id, big, meetings_from or now))
    quiet = [(named(p), soon) for p, soon in near.items() if p not in recent and shown(p)]
    # Those with a shared meeting coming up first (the nudge has somewhere to go), soonest first.
    quiet.sort(key=lambda x: (x[1] is None, x[1].starts_at if x[1] else now, x[0].first, x[0].second))
    islands = [Island(pair.first, pair.second, soon) for pair, soon in quiet[:ISLANDS]]

    value_rows = await ThanksValue.filter(thanks__workspace_id=workspace.id, thanks__created_at__gte=start,
                                          thanks__created_at__lt=end) \
        .annotate(n=Count("id")).group_by("value_id", "value__key", "value__name_en", "value__name_ja",
                                          "value__emoji") \
        .order_by("-n", "value_id").limit(TOP_VALUES) \
        .values_list("value__key", "value__name_en", "value__name_ja", "value__emoji", "n")
    values = tuple(DigestValue(k, en, ja, emoji, int(n)) for k, en, ja, emoji, n in value_rows)

    clapped: list[DigestThanks] = []
    if workspace.leaderboard_enabled:
        top = await Thanks.filter(workspace_id=workspace.id, created_at__gte=start, created_at__lt=end,
                                  clap_count__gt=0).order_by("-clap_count", "id").limit(TOP_CLAPPED) \
            .prefetch_related("sender")
        recipients: dict[int, list[str]] = {}
        for thanks_id, name in await ThanksRecipient.filter(thanks_id__in=[t.id for t in top]) \
                .order_by("thanks_id", "position").values_list("thanks_id", "recipient_name"):
            recipients.setdefault(int(thanks_id), []).append(str(name))
        project_ids = {t.project_id for t in top if t.project_id is not None}
        project_names = dict(await Project.filter(id__in=list(project_ids)).values_list("id", "name")) \
            if project_ids else {}
        for t in top:
            text = " ".join(t.message.split())
            excerpt = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"
            clapped.append(DigestThanks(t.id, t.sender.display_name, tuple(recipients.get(t.id, ())),
                                        excerpt, t.clap_count, str(project_names.get(t.project_id, ""))))
    started = await Project.filter(workspace_id=workspace.id, start_date__gte=first_day, start_date__lt=end_day) \
        .order_by("start_date", "id").values_list("name", flat=True)
    closed = await Project.filter(workspace_id=workspace.id, closed_at__gte=start, closed_at__lt=end) \
        .order_by("closed_at", "id").values_list("name", flat=True)
    return Digest(period, start, end, thanks, previous_thanks, people, previous_people, share, previous_share,
                  tuple(bridges), values, tuple(clapped), tuple(islands),
                  await _mixer_rounds(workspace.id, start, end), tuple(map(str, started)), tuple(map(str, closed)))


async def _mixer_rounds(workspace_id: int, start: datetime, end: datetime) -> tuple[DigestMixerRound, ...]:
    """Each mixer's last round that took place in [start, end)."""
    rounds = await MixerRound.filter(mixer__workspace_id=workspace_id, starts_at__gte=start, starts_at__lt=end) \
        .order_by("mixer_id", "-starts_at").select_related("mixer")
    found: list[DigestMixerRound] = []
    seen: set[int] = set()
    for round_ in rounds:
        if round_.mixer_id in seen:
            continue
        seen.add(round_.mixer_id)
        rows = await MixerGroupMember.filter(group__round_id=round_.id).values_list(
            "group_id", "member__department_id", "met")
        groups: dict[int, list[int | None]] = {}
        for group_id, department_id, _ in rows:
            groups.setdefault(int(group_id), []).append(department_id)
        pairs = {(min(a, b), max(a, b)) for members in groups.values() for a in members for b in members
                 if a is not None and b is not None and a != b}
        answers = [met for _, _, met in rows if met is not None]
        found.append(DigestMixerRound(round_.mixer.name, len(rows), len(groups), len(pairs),
                                      sum(1 for met in answers if met), len(answers)))
    return tuple(found)
