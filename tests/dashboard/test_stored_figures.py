"""The stored figures of ended periods: the same numbers as computing them, never stale, never shared wrongly."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio

from core.dashboard import insights
from core.dashboard.access import Viewer
from core.dashboard.models import DashboardFigure
from core.models import NO_DEPARTMENT, Department, Member, ThanksRecipient, ThanksValue, Workspace
from core.services.members import ensure_member, merge_departments
from core.services.thanks import give_thanks
from tests.dashboard.kit import NOW, Company, company

TZ = "Asia/Tokyo"
NOVEMBER = insights.resolve_window("month", TZ, NOW)
AFTER = NOVEMBER.end + timedelta(days=3)  # November has ended: its figures are stored
DURING = NOW  # November is running: nothing of it is stored
PANELS = ("overview", "heatmap", "network", "trends", "values", "bridges", "leaderboard")


@pytest_asyncio.fixture
async def acme(db) -> Company:
    return await company()


def scope(company: Company, who: str, now: datetime, department: int | None = None,
          window: insights.Window = NOVEMBER) -> insights.Scope:
    return insights.Scope(Viewer(company.workspace, company.people[who], "en", ""), window, department, now=now)


async def panels(s: insights.Scope) -> dict[str, Any]:
    return {name: await getattr(insights, name)(s) for name in PANELS}


async def stored_rows(workspace: Workspace) -> int:
    return await DashboardFigure.filter(workspace_id=workspace.id).count()


async def test_what_is_still_running_is_computed_every_time_and_never_stored(acme):
    before = await insights.overview(scope(acme, "root", DURING))
    # The days of November that are over are stored; the rest of the month is not.
    assert await DashboardFigure.filter(window_end__lte=DURING - insights.STORE_AFTER).count() > 0
    assert await DashboardFigure.filter(window_end__gt=DURING - insights.STORE_AFTER).count() == 0
    await give_thanks(acme.workspace, acme.people["d2"], [acme.people["s3"]], "later that month",
                      now=NOW + timedelta(hours=1))
    after = await insights.overview(scope(acme, "root", DURING))
    assert after["thanks"]["value"] == before["thanks"]["value"] + 1


async def test_a_period_is_stored_only_once_it_ended_an_hour_ago(acme):
    await insights.overview(scope(acme, "root", NOVEMBER.end + timedelta(minutes=30)))
    assert await DashboardFigure.filter(window_end=NOVEMBER.end).count() == 0
    # A thanks given at 23:59:59 may commit a moment later, or on a server whose clock is behind.
    await give_thanks(acme.workspace, acme.people["d2"], [acme.people["s3"]], "just in time",
                      now=NOVEMBER.end - timedelta(seconds=1))
    late = await insights.overview(scope(acme, "root", NOVEMBER.end + timedelta(minutes=59)))
    assert late["thanks"]["value"] == 7
    assert (await insights.overview(scope(acme, "root", AFTER)))["thanks"]["value"] == 7
    stored = DashboardFigure.filter(window_start=NOVEMBER.start, window_end=NOVEMBER.end, kind="total")
    assert await stored.count() == 1


async def test_the_senders_reach_is_stored_as_32_bit_integers_little_endian(acme):
    # The one large kind (a year of bridges is about a megabyte): not JSON, which took tens of milliseconds
    # to read back. Each sender: id, thanks, k, then k (department, thanks) pairs in order.
    await insights.bridges(scope(acme, "root", AFTER))
    [raw] = await DashboardFigure.filter(window_start=NOVEMBER.start, window_end=NOVEMBER.end, kind="bridge") \
        .values_list("data", flat=True)
    ints = [int.from_bytes(raw[i:i + 4], "little", signed=True) for i in range(0, len(raw), 4)]
    senders: dict[int, Counter[int]] = {}
    for sender, a, b in await ThanksRecipient.filter(
            workspace_id=acme.workspace.id, created_at__gte=NOVEMBER.start, created_at__lt=NOVEMBER.end) \
            .values_list("sender_id", "sender_department_id", "recipient_department_id"):
        if NO_DEPARTMENT not in (a, b):
            senders.setdefault(sender, Counter())[b] += 1
    expected = [x for sender, reached in sorted(senders.items())
                for x in (sender, sum(reached.values()), len(reached), *(y for pair in sorted(reached.items())
                                                                          for y in pair))]
    assert senders and ints == expected


async def test_stored_figures_are_what_computing_gives_for_every_panel_viewer_and_filter(acme):
    sales = acme.departments["Sales"].id
    for who in ("root", "s2"):
        for department in (None, sales):
            computed = await panels(scope(acme, who, DURING, department, NOVEMBER))
            # The same November, asked once it has ended: first computed and stored, then read back.
            first = await panels(scope(acme, who, AFTER, department))
            again = await panels(scope(acme, who, AFTER, department))
            assert computed == first == again
    assert await stored_rows(acme.workspace) > 0


async def test_one_stored_figure_serves_an_admin_and_a_member_each_with_their_own_privacy(acme):
    sales, dev = acme.departments["Sales"].id, acme.departments["Dev"].id
    member = await insights.heatmap(scope(acme, "s2", AFTER))  # stored by a member's request first
    admin = await insights.heatmap(scope(acme, "root", AFTER))
    cells = {(c["from"], c["to"]): c["count"] for c in member["cells"]}
    assert cells[(sales, dev)] == 10 and cells[(sales, sales)] is None and cells[(dev, sales)] is None
    cells = {(c["from"], c["to"]): c["count"] for c in admin["cells"]}
    assert cells[(sales, sales)] == 1 and cells[(dev, sales)] == 1
    # The viewer's own figures are never stored: each sees their own.
    mine = await insights.overview(scope(acme, "s2", AFTER))
    theirs = await insights.overview(scope(acme, "d1", AFTER))
    assert mine["you"] == {"sent": 2, "received": 0} and theirs["you"] == {"sent": 1, "received": 3}
    # A threshold raised later applies to what was stored before.
    await Workspace.filter(id=acme.workspace.id).update(privacy_threshold=6)
    acme.workspace.privacy_threshold = 6
    assert (await insights.overview(scope(acme, "s2", AFTER)))["thanks"]["value"] is None


async def test_stored_figures_belong_to_their_workspace_and_department_filter(acme):
    other = await company("globex")
    await give_thanks(other.workspace, other.people["d1"], [other.people["d2"]], "only in globex",
                      now=NOW - timedelta(days=2))
    ours = await insights.overview(scope(acme, "root", AFTER))
    theirs = await insights.overview(scope(other, "root", AFTER))
    assert ours["thanks"]["value"] == 6 and theirs["thanks"]["value"] == 7
    assert (await insights.overview(scope(acme, "root", AFTER)))["thanks"]["value"] == 6
    dev = acme.departments["Dev"].id
    filtered = await insights.heatmap(scope(acme, "root", AFTER, dev))
    whole = await insights.heatmap(scope(acme, "root", AFTER))
    assert len(filtered["cells"]) == 2 and len(whole["cells"]) == 3


async def test_a_merge_of_departments_restates_the_stored_figures(acme):
    sales = acme.departments["Sales"].id
    december = insights.resolve_window("month", TZ, AFTER)
    stored = {name: await getattr(insights, name)(scope(acme, "root", AFTER)) for name in ("heatmap", "values")}
    assert stored["heatmap"]["cells"][0]["count"] is not None
    overview = await insights.overview(scope(acme, "root", AFTER + timedelta(days=30), window=december))
    assert overview["cross_share"]["previous"] == round(11 / 12, 4)  # November, as the previous period
    trends = await insights.trends(scope(acme, "root", AFTER))
    assert any(w["cross_share"] for w in trends["weeks"])
    assert await stored_rows(acme.workspace) > 0
    await merge_departments(acme.workspace, acme.people["root"], "Dev", "Sales")
    assert await stored_rows(acme.workspace) == 0
    heatmap = await insights.heatmap(scope(acme, "root", AFTER))
    assert [(c["from"], c["to"], c["count"]) for c in heatmap["cells"]] == [(sales, sales, 12)]
    values = await insights.values(scope(acme, "root", AFTER))
    assert {c["department"] for c in values["cells"]} == {sales}
    overview = await insights.overview(scope(acme, "root", AFTER + timedelta(days=30), window=december))
    assert overview["cross_share"]["previous"] == 0.0
    trends = await insights.trends(scope(acme, "root", AFTER))
    assert not any(w["cross_share"] for w in trends["weeks"])


async def test_a_figure_computed_while_departments_merge_is_never_read_afterwards(acme):
    merged = False

    async def computed_during_a_merge(s: insights.Scope, windows: list[insights.Window]) -> dict[insights.Window, Any]:
        nonlocal merged
        figures = await insights._pairs(s, windows)  # read before the merge commits
        if not merged:
            merged = True
            await merge_departments(acme.workspace, acme.people["root"], "Dev", "Sales")
        return figures

    s = scope(acme, "root", AFTER)
    before = await insights._stored(s, "pair", [NOVEMBER], computed_during_a_merge)
    assert len(before[NOVEMBER]) == 3  # Sales → Dev, Sales → Sales, Dev → Sales: the old history
    assert await stored_rows(acme.workspace) == 1  # stored, under the epoch before the merge
    sales = acme.departments["Sales"].id
    heatmap = await insights.heatmap(s)
    assert [(c["from"], c["to"], c["count"]) for c in heatmap["cells"]] == [(sales, sales, 12)]


# ---- the SQL against a plain count in Python, on random thanks ---------------------------------


async def random_company() -> tuple[Workspace, list[Member], list[int]]:
    """Three departments and people without one; 150 thanks to 1–3 people, some tagged, over October and
    November (Tokyo), some from people who changed department since."""
    rng = random.Random(10)
    workspace = (await company("random")).workspace
    workspace.daily_limit = 10_000
    await workspace.save()
    departments = [(await Department.create(workspace=workspace, name=f"Team {i}")).id for i in range(3)]
    people = []
    for i in range(14):
        member = await ensure_member(workspace, f"r{i}", display_name=f"Random {i}")
        member.department_id = departments[i % 3] if i < 12 else None
        await member.save()
        people.append(member)
    start = datetime(2026, 9, 28, tzinfo=UTC)
    for n in range(150):
        sender = rng.choice(people)
        recipients = rng.sample([p for p in people if p.id != sender.id], rng.randint(1, 3))
        tags = rng.sample(["teamwork", "growth", "challenge"], rng.randint(0, 2))
        moment = start + timedelta(minutes=rng.randrange(70 * 24 * 60))
        await give_thanks(workspace, sender, recipients, f"random {n}", tags, now=moment)
        if n % 37 == 0:  # people move: the thanks keep the department they were given from
            sender.department_id = rng.choice(departments)
            await Member.filter(id=sender.id).update(department_id=sender.department_id)
    return workspace, people, departments


def plain(rows: list[tuple[int, int, int, int, int]], department: int | None) -> list[tuple[int, int, int, int, int]]:
    return [r for r in rows if department is None or department in (r[3], r[4])]


async def added(s: insights.Scope, window: insights.Window) -> tuple[Any, Any, Any]:
    """Totals, department pairs and value cells of ``window``, from what has ended (stored, joined from
    stored pieces) and the rest."""
    cap = insights._people_cap(s)
    [totals] = await insights._parts(s, "total", [window], insights._totals, insights._join_totals)
    [pairs] = await insights._parts(s, "pair", [window], insights._pairs, insights._join_pairs)
    [who] = await insights._parts(s, f"pairpeople/{cap}", [window], insights._pair_people,
                                  insights._join_pair_people)
    [values] = await insights._parts(s, f"values/{cap}", [window], insights._values, insights._join_values)
    cells = insights._join_values(values, cap)["cells"]
    return (insights._added_totals(totals), insights._added_pairs(pairs, who, cap),
            sorted((v, d, n, insights._people(cap, [people]).count()) for v, d, n, people in cells))


async def test_the_sql_counts_what_a_plain_count_over_the_rows_gives(db):
    workspace, people, departments = await random_company()
    admin = people[0]
    admin.is_admin = True
    everything = [(int(t), int(s), int(r), int(a), int(b), c) for t, s, r, a, b, c in await ThanksRecipient.filter(
        workspace_id=workspace.id).values_list("thanks_id", "sender_id", "recipient_id", "sender_department_id",
                                               "recipient_department_id", "created_at")]
    tags: dict[int, set[int]] = {}
    for thanks_id, value_id in await ThanksValue.filter(thanks__workspace_id=workspace.id).values_list(
            "thanks_id", "value_id"):
        tags.setdefault(int(thanks_id), set()).add(int(value_id))
    now_department = {m.id: m.department_id for m in await Member.filter(workspace_id=workspace.id)}
    names = {m.id: m.display_name for m in people}
    workspace.leaderboard_enabled = True
    windows = (NOVEMBER, NOVEMBER.previous(), insights.resolve_window("week", TZ, NOW),
               insights.resolve_window("quarter", TZ, NOW))
    # Asked while November runs (ended days stored, the rest computed), a day later (what has ended grew), after
    # it ended, and again (read back); people counted exactly (a threshold of 100 keeps them all) and up to the
    # usual threshold of 3.
    for threshold, now in ((100, NOW), (100, NOW + timedelta(days=1)), (100, AFTER), (100, AFTER),
                           (3, NOW + timedelta(days=1)), (3, NOW + timedelta(days=2)), (3, AFTER)):
        workspace.privacy_threshold = threshold
        for window in windows:
            for department in (None, departments[1]):
                rows = [r[:5] for r in everything if window.start <= r[5] < window.end and
                        (department is None or department in (r[3], r[4]))]
                s = insights.Scope(Viewer(workspace, admin, "en", ""), window, department, now=now)
                totals, pairs, values = await added(s, window)
                crossing = sum(1 for _t, _s, _r, a, b in rows if a != b and NO_DEPARTMENT not in (a, b))
                assert totals == insights.Totals(len({r[0] for r in rows}), len({r[1] for r in rows}),
                                                 len({r[2] for r in rows}), len(rows), crossing)
                cells: dict[tuple[int, int], list[Any]] = {}
                for _t, sender, recipient, a, b in rows:
                    cell = cells.setdefault((a, b), [0, set(), set()])
                    cell[0] += 1
                    cell[1].add(sender)
                    cell[2].add(recipient)
                assert [(a, b, n, min(s_, threshold), min(r_, threshold)) for a, b, n, s_, r_ in pairs] == [
                    (a, b, n, min(len(senders), threshold), min(len(receivers), threshold))
                    for (a, b), (n, senders, receivers) in sorted(cells.items())]
                tagged: dict[tuple[int, int], tuple[set[int], set[int]]] = {}
                for thanks_id, sender, _r, a, _b in rows:
                    for value in tags.get(thanks_id, ()):
                        cell2 = tagged.setdefault((value, a), (set(), set()))
                        cell2[0].add(thanks_id)
                        cell2[1].add(sender)
                assert [(v, d, n, min(p, threshold)) for v, d, n, p in values] == [
                    (v, d, len(thanks), min(len(senders), threshold))
                    for (v, d), (thanks, senders) in sorted(tagged.items())]
                reach: dict[int, tuple[set[int], list[int]]] = {}
                for _t, sender, _r, a, b in rows:
                    if NO_DEPARTMENT not in (a, b) and now_department.get(sender) != b:
                        reach.setdefault(sender, (set(), []))[0].add(b)
                        reach[sender][1].append(1)
                received = Counter(r[2] for r in rows)
                board = await insights.leaderboard(s, limit=5)
                assert board is not None and [(e["name"], e["count"]) for e in board["entries"]] == [
                    (names[p], n) for p, n in sorted(received.items(), key=lambda pn: (-pn[1], pn[0]))[:5]]
                you = (await insights.overview(s))["you"]
                assert you == {"sent": len({r[0] for r in rows if r[1] == admin.id}), "received": received[admin.id]}
                top = sorted(reach, key=lambda p: (-len(reach[p][0]), -len(reach[p][1]), p))[:10]
                bridges = await insights.bridges(s)
                assert bridges is not None
                assert bridges["people"] == [{"name": names[p], "departments": len(reach[p][0]),
                                              "thanks": len(reach[p][1])} for p in top]
    assert await stored_rows(workspace) > 0


async def test_a_running_periods_rows_of_earlier_days_are_forgotten_and_finished_periods_are_kept(acme):
    """A running period's ended days are joined into one row a day; the row of the day before is deleted
    (a year's bridges are about a megabyte a day), but not the calendar's own pieces, nor a finished
    quarter, which the quarter view still asks for as its previous period."""
    tz = ZoneInfo(TZ)
    days = [NOW + timedelta(days=n) for n in range(3)]
    for moment in days:
        for period in ("year", "quarter"):
            await panels(scope(acme, "root", moment, window=insights.resolve_window(period, TZ, moment)))
    year = insights.resolve_window("year", TZ, NOW)
    ends: dict[str, list[datetime]] = {}
    for kind, end in await DashboardFigure.filter(workspace_id=acme.workspace.id, window_start=year.start) \
            .values_list("kind", "window_end"):
        ends.setdefault(kind, []).append(end)
    assert {"total", "pair", "bridge"} <= ends.keys()
    for kind, kept in ends.items():
        so_far = [end for end in kept if end.astimezone(tz).day != 1]  # not a month's, a quarter's or a year's end
        assert so_far == [datetime.combine(days[-1].astimezone(tz).date(), time(), tz)], kind  # up to today
    # The third quarter, ended (July to September): the previous period of the fourth, kept.
    third = insights.resolve_window("quarter", TZ, NOW).previous()
    assert await DashboardFigure.filter(workspace_id=acme.workspace.id, window_start=third.start,
                                        window_end=third.end, kind="total").exists()
    # What is read back is still what computing gives.
    s = scope(acme, "root", days[-1], window=insights.resolve_window("year", TZ, days[-1]))
    read = await panels(s)
    await DashboardFigure.filter(workspace_id=acme.workspace.id).delete()
    assert read == await panels(s)
