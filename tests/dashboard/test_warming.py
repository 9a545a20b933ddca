"""The pass after each workspace's midnight stores what the dashboard's default view asks for, once a day."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tortoise import connections

from core.dashboard import insights, warming
from core.dashboard.access import Viewer
from core.dashboard.models import DashboardFigure
from core.models import Workspace
from core.services.workspaces import ensure_workspace
from tests.conftest import BACKEND
from tests.dashboard.kit import NOW, Company, company

ROOT = Path(__file__).parents[2]
TZ = "Asia/Tokyo"
# Thursday 19 November 2026 begins in Tokyo at 15:00 UTC; its figures may be warmed an hour later.
MIDNIGHT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
WARM = MIDNIGHT + insights.STORE_AFTER
LATER = WARM + timedelta(hours=9)  # 10:00 in Tokyo: an admin opens the dashboard
PANELS = ("overview", "heatmap", "network", "trends", "values", "bridges", "leaderboard")
# What the default view stores, but the viewer's own numbers (``you/<member id>``, one person's).
KINDS = ("total", "pair", "pairpeople/3", "week", "values/3", "received", "bridge")


@pytest_asyncio.fixture
async def acme(db) -> Company:
    return await company()


async def shared_rows(workspace: Workspace) -> list[tuple[str, datetime, datetime]]:
    """The stored rows every viewer reads (not one person's own numbers)."""
    rows = await DashboardFigure.filter(workspace_id=workspace.id).exclude(kind__startswith="you/") \
        .order_by("kind", "window_start", "window_end").values_list("kind", "window_start", "window_end")
    return [(kind, start, end) for kind, start, end in rows]


async def default_view(acme: Company, who: str, now: datetime) -> dict[str, Any]:
    """Every panel of every period the page offers but custom, with no department filter, as ``who`` at ``now``."""
    viewer = Viewer(acme.workspace, acme.people[who], "en", "")
    out: dict[str, Any] = {}
    for period in warming.PERIODS:
        scope = insights.Scope(viewer, insights.resolve_window(period, TZ, now), now=now)
        for name in PANELS:
            out[f"{period}/{name}"] = await getattr(insights, name)(scope)
    return out


def at(day: int) -> datetime:
    """Midnight in Tokyo, starting ``day`` November 2026, in UTC."""
    return datetime(2026, 11, day, tzinfo=UTC) - timedelta(hours=9)


async def test_a_pass_after_midnight_stores_what_the_default_view_reads_and_requests_then_store_nothing(acme):
    result = await warming.run_due(WARM)
    assert result.warmed == [acme.workspace.id]
    stored = set(await shared_rows(acme.workspace))
    # What has ended of each period is one joined row, up to the midnight just past, of every shared kind...
    for kind in KINDS:
        if kind == "week":
            continue  # trends keep whole weeks, below
        for first in (at(16), at(1), datetime(2026, 9, 30, 15, tzinfo=UTC), datetime(2025, 12, 31, 15, tzinfo=UTC)):
            assert (kind, first, MIDNIGHT) in stored, (kind, first)
    # ...and the periods they are compared with, whole.
    assert ("total", datetime(2024, 12, 31, 15, tzinfo=UTC), datetime(2025, 12, 31, 15, tzinfo=UTC)) in stored
    assert ("total", at(9), at(16)) in stored  # last week
    # Trends: the weeks that ended, Monday to Monday.
    assert ("week", at(9), at(16)) in stored
    assert not [row for row in stored if row[2] > MIDNIGHT]  # nothing still running is stored

    # The day's requests, an admin's and a member's, store nothing more, and see what computing gives.
    admin, member = await default_view(acme, "root", LATER), await default_view(acme, "s1", LATER)
    assert set(await shared_rows(acme.workspace)) == stored
    await DashboardFigure.filter(workspace_id=acme.workspace.id).delete()
    assert await default_view(acme, "root", LATER) == admin
    assert await default_view(acme, "s1", LATER) == member


async def test_without_the_pass_the_first_request_of_the_day_stores_the_new_span(acme):
    # The counterpart of the test above: what the pass spares the day's first reader.
    await warming.run_due(WARM)
    await default_view(acme, "root", LATER)
    before = set(await shared_rows(acme.workspace))
    await default_view(acme, "root", LATER + timedelta(days=1))
    assert ("total", at(1), MIDNIGHT + timedelta(days=1)) in set(await shared_rows(acme.workspace)) - before


async def test_a_second_pass_the_same_day_does_nothing_and_the_next_day_warms_again(acme):
    assert (await warming.run_due(WARM)).warmed == [acme.workspace.id]
    assert (await Workspace.get(id=acme.workspace.id)).next_warm_at == WARM + timedelta(days=1)
    rows = await shared_rows(acme.workspace)
    for moment in (WARM, LATER, WARM + timedelta(days=1) - timedelta(seconds=1)):
        assert (await warming.run_due(moment)).claimed == 0
    assert await shared_rows(acme.workspace) == rows
    assert (await warming.run_due(WARM + timedelta(days=1))).warmed == [acme.workspace.id]
    assert ("total", at(1), MIDNIGHT + timedelta(days=1)) in set(await shared_rows(acme.workspace))
    assert (await Workspace.get(id=acme.workspace.id)).next_warm_at == WARM + timedelta(days=2)


RACER = """
import asyncio, sys, time
from datetime import datetime
from core import db
from core.dashboard.warming import run_due

async def main():
    async with db.database(sys.argv[1]):
        await asyncio.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # every racer starts at once
        claimed = []
        while True:
            result = await run_due(datetime.fromisoformat(sys.argv[2]), batch=2)
            if not result.claimed:
                break
            claimed += result.warmed + result.idle + result.failed
        print(" ".join(map(str, claimed)))

asyncio.run(main())
"""


@pytest.mark.postgres_only
async def test_three_processes_on_postgresql_warm_each_workspace_once(db):
    ids = [(await ensure_workspace("console", f"w{i}")).id for i in range(60)]
    client = connections.get("default")
    url = f"postgres://{client.user}:{client.password or ''}@{client.host}:{client.port}/{client.database}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = str(time.time() + 3)
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", RACER, url, WARM.isoformat(), start,
                                                  stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT)
             for _ in range(3)]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    claimed = [int(i) for out, _ in outputs for i in out.split()]
    assert sorted(claimed) == sorted(ids)  # each exactly once


async def test_a_workspace_in_another_time_zone_is_warmed_after_its_own_midnight(acme):
    acme.workspace.timezone = "America/Los_Angeles"
    await acme.workspace.save()
    # Never warmed: due at once. 18 November, 02:00 in Los Angeles.
    assert (await warming.run_due(datetime(2026, 11, 18, 10, tzinfo=UTC))).warmed == [acme.workspace.id]
    la_midnight = datetime(2026, 11, 19, 8, tzinfo=UTC)  # 19 November begins there (PST, UTC-8)
    assert (await Workspace.get(id=acme.workspace.id)).next_warm_at == la_midnight + insights.STORE_AFTER
    # Tokyo's midnight, and the hour after Los Angeles' own, are not its moment.
    for moment in (WARM, la_midnight + insights.STORE_AFTER - timedelta(seconds=1)):
        assert (await warming.run_due(moment)).claimed == 0
    assert (await warming.run_due(la_midnight + insights.STORE_AFTER)).warmed == [acme.workspace.id]
    november = datetime(2026, 11, 1, 7, tzinfo=UTC)  # 1 November, midnight in Los Angeles (still PDT)
    assert ("total", november, la_midnight) in set(await shared_rows(acme.workspace))


async def test_a_workspace_without_thanks_is_claimed_but_nothing_is_computed(db):
    quiet = await ensure_workspace("console", "quiet")
    result = await warming.run_due(WARM)
    assert result.idle == [quiet.id] and not result.warmed
    assert await DashboardFigure.all().count() == 0
    assert (await Workspace.get(id=quiet.id)).next_warm_at == WARM + timedelta(days=1)


async def test_a_pass_with_nothing_due_touches_no_workspace(db):
    for i in range(30):
        await ensure_workspace("console", f"w{i}")
    first = await warming.run_due(WARM, batch=100)
    assert first.claimed == 30
    planned = dict(await Workspace.all().values_list("id", "next_warm_at"))
    again = await warming.run_due(LATER, batch=100)
    assert again.claimed == 0
    assert dict(await Workspace.all().values_list("id", "next_warm_at")) == planned


async def test_a_pass_takes_a_bounded_batch(db):
    for i in range(5):
        await ensure_workspace("console", f"w{i}")
    assert (await warming.run_due(WARM, batch=2)).claimed == 2
    assert (await warming.run_due(WARM, batch=2)).claimed == 2
    assert (await warming.run_due(WARM, batch=2)).claimed == 1
    assert (await warming.run_due(WARM, batch=2)).claimed == 0


async def test_the_due_workspaces_are_found_through_an_index(db):
    conn = connections.get("default")
    if BACKEND != "postgres":
        for condition in ("next_warm_at IS NULL", "next_warm_at <= '2030-01-01'"):
            plan = await conn.execute_query_dict(
                f"EXPLAIN QUERY PLAN SELECT * FROM workspace WHERE {condition} ORDER BY next_warm_at, id LIMIT 4")
            assert any("USING INDEX" in str(row["detail"]) and "next_warm_at" in str(row["detail"]) for row in plan)
    else:
        rows = await conn.execute_query_dict(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'workspace' AND indexdef LIKE '%next_warm_at%'")
        assert len(rows) == 1


def test_the_warming_moment_is_an_hour_after_the_next_local_midnight():
    assert warming.next_warming(TZ, MIDNIGHT) == WARM
    assert warming.next_warming(TZ, WARM) == WARM + timedelta(days=1)
    # The day daylight saving time ends in Los Angeles (1 November 2026) is 25 hours long.
    assert warming.next_warming("America/Los_Angeles", datetime(2026, 11, 1, 12, tzinfo=UTC)) == \
        datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert NOW < WARM
