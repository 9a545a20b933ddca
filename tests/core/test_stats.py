"""Leaderboards, the department matrix and cross-department shares, computed in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import errors
from core.services.members import ensure_member, get_department, set_department
from core.services.stats import Direction, Period, department_matrix, department_shares, leaderboard, period_start
from core.services.thanks import give_thanks

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # Friday, noon in Tokyo


def test_periods_start_on_monday_and_the_first_in_the_workspace_zone():
    assert period_start(Period.WEEK, "Asia/Tokyo", NOW) == datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    assert period_start(Period.MONTH, "Asia/Tokyo", NOW) == datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    assert period_start(Period.ALL, "Asia/Tokyo", NOW) is None


async def test_leaderboard_ranks_with_ties_and_periods(workspace, alice, bob, carol, admin):
    workspace.daily_limit = 100
    await workspace.save()
    dave = await ensure_member(workspace, "dave", display_name="Dave")
    last_month = NOW - timedelta(days=40)
    await give_thanks(workspace, alice, [bob], "old", now=last_month)
    await give_thanks(workspace, alice, [bob], "old", now=last_month)
    await give_thanks(workspace, alice, [carol, dave], "a", now=NOW)
    await give_thanks(workspace, bob, [carol], "b", now=NOW)
    month = await leaderboard(workspace, Period.MONTH, now=NOW)
    assert [(e.rank, e.display_name, e.count) for e in month.entries] == [(1, "Carol", 2), (2, "Dave", 1)]
    all_time = await leaderboard(workspace, Period.ALL, now=NOW)
    assert [(e.rank, e.display_name, e.count) for e in all_time.entries] == [
        (1, "Bob", 2), (1, "Carol", 2), (3, "Dave", 1)]
    sent = await leaderboard(workspace, Period.MONTH, Direction.SENT, now=NOW)
    assert [(e.display_name, e.count) for e in sent.entries] == [("Alice", 1), ("Bob", 1)]
    await set_department(workspace, admin, dave, "Sales")
    sales = await leaderboard(workspace, Period.ALL, department=await get_department(workspace, "sales"), now=NOW)
    assert [e.display_name for e in sales.entries] == ["Dave"]


async def test_leaderboard_can_be_turned_off(workspace):
    workspace.leaderboard_enabled = False
    await workspace.save()
    with pytest.raises(errors.LeaderboardDisabled):
        await leaderboard(workspace)
    assert (await leaderboard(workspace, check_enabled=False)).entries == ()


async def test_matrix_and_shares_use_departments_at_the_time_of_thanks(workspace, admin, alice, bob, carol):
    await set_department(workspace, admin, alice, "Sales")
    await set_department(workspace, admin, bob, "Sales")
    await set_department(workspace, admin, carol, "Engineering")
    await give_thanks(workspace, alice, [bob, carol], "x", now=NOW)  # Sales→Sales, Sales→Eng
    await give_thanks(workspace, carol, [alice], "y", now=NOW)  # Eng→Sales
    await set_department(workspace, admin, carol, "Sales")  # moving later does not rewrite history
    matrix = await department_matrix(workspace, Period.MONTH, now=NOW)
    ids = {name: i for i, name in matrix.departments}
    sales, eng = ids["Sales"], ids["Engineering"]
    assert matrix.count(sales, sales) == 1 and matrix.count(sales, eng) == 1 and matrix.count(eng, sales) == 1
    shares = {s.name: s for s in department_shares(matrix)}
    assert (shares["Sales"].sent, shares["Sales"].sent_cross) == (2, 1)
    assert shares["Sales"].sent_share == 0.5
    assert (shares["Engineering"].received, shares["Engineering"].received_share) == (1, 1.0)
    assert (await department_matrix(workspace, Period.WEEK, now=NOW + timedelta(days=7))).cells == {}
