"""The digest of a period, computed on a real database with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.services.digest import DepartmentPair, build_digest, digest_bounds
from core.services.members import ensure_member, set_department
from core.services.stats import Period
from core.services.thanks import clap, give_thanks

# Monday 2026-11-30 09:00 in Tokyo: the digest covers Monday 11-23 .. Sunday 11-29.
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
IN_WEEK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
WEEK_BEFORE = IN_WEEK - timedelta(days=7)


def test_bounds_are_the_last_complete_week_and_month_in_the_workspace_zone():
    previous, start, end = digest_bounds(Period.WEEK, "Asia/Tokyo", NOW)
    assert end == datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    assert start == datetime(2026, 11, 22, 15, 0, tzinfo=UTC) and previous == start - timedelta(days=7)
    previous, start, end = digest_bounds(Period.MONTH, "Asia/Tokyo", datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 10, 31, 15, tzinfo=UTC), datetime(2026, 11, 30, 15, tzinfo=UTC))
    assert previous == datetime(2026, 9, 30, 15, tzinfo=UTC)


async def _people(workspace, admin, department, *names):
    members = []
    for name in names:
        member = await ensure_member(workspace, name.lower(), display_name=name)
        await set_department(workspace, admin, member, department)
        members.append(member)
    return members


async def test_a_week_compared_with_the_week_before(workspace, admin):
    workspace.daily_limit = 100
    await workspace.save()
    s1, s2, s3 = await _people(workspace, admin, "Sales", "Sam", "Sue", "Sid")
    e1, e2, e3 = await _people(workspace, admin, "Engineering", "Eve", "Eli", "Ema")
    lone = await ensure_member(workspace, "lone", display_name="Lone")
    await give_thanks(workspace, s1, [s2], "same department", now=WEEK_BEFORE)
    first = await give_thanks(workspace, s1, [e1, s2], "thanks for the late-night deploy and the calm on the call",
                              ["collaboration"], now=IN_WEEK)
    await give_thanks(workspace, e2, [s3], "great demo", ["collaboration", "growth"], now=IN_WEEK)
    await give_thanks(workspace, lone, [e3], "x", ["growth"], now=IN_WEEK)
    await give_thanks(workspace, e3, [s1], "next week", now=NOW + timedelta(hours=1))  # not in the period
    for member in (e2, e3, s3):
        await clap(workspace, first.view.id, member)

    digest = await build_digest(workspace, Period.WEEK, now=NOW)
    assert (digest.thanks, digest.previous_thanks) == (3, 1)
    assert (digest.people, digest.previous_people) == (7, 2)
    # Rows: Sales→Eng, Sales→Sales, Eng→Sales cross; none→Eng does not count as crossing a line.
    assert digest.cross_share == pytest.approx(2 / 4) and digest.previous_cross_share == 0.0
    assert digest.new_bridges == (DepartmentPair("Engineering", "Sales"),)
    assert [(v.key, v.count) for v in digest.top_values] == [("collaboration", 2), ("growth", 2)]
    top = digest.most_clapped[0]
    assert (top.sender, top.recipients, top.claps) == ("Sam", ("Eve", "Sue"), 3)
    assert top.excerpt.endswith("…") and len(top.excerpt) == 40
    assert digest.islands == ()


async def test_rankings_are_left_out_where_leaderboards_are_off(workspace, admin, alice, bob, carol):
    given = await give_thanks(workspace, alice, [bob], "hi", now=IN_WEEK)
    await clap(workspace, given.view.id, carol)
    assert len((await build_digest(workspace, now=NOW)).most_clapped) == 1
    workspace.leaderboard_enabled = False
    await workspace.save()
    digest = await build_digest(workspace, now=NOW)
    assert digest.most_clapped == () and digest.thanks == 1


async def test_small_departments_are_never_named_and_old_pairs_become_islands(workspace, admin):
    workspace.daily_limit = 100
    await workspace.save()
    s = await _people(workspace, admin, "Sales", "Sam", "Sue", "Sid")
    e = await _people(workspace, admin, "Engineering", "Eve", "Eli", "Ema")
    t = await _people(workspace, admin, "Tiny", "Tom", "Tim")  # two people: below the threshold
    long_ago = IN_WEEK - timedelta(weeks=10)
    await give_thanks(workspace, s[0], [e[0]], "old", now=long_ago)
    await give_thanks(workspace, s[0], [t[0]], "old", now=long_ago)
    await give_thanks(workspace, t[1], [e[1]], "new", now=IN_WEEK)
    digest = await build_digest(workspace, now=NOW)
    assert digest.islands == (DepartmentPair("Engineering", "Sales"),)
    assert digest.new_bridges == ()  # Tiny–Engineering is new but Tiny is too small to name
    # After the pair thanks again it is a bridge (quiet for 10 weeks) and no longer an island.
    await give_thanks(workspace, e[2], [s[2]], "again", now=IN_WEEK)
    digest = await build_digest(workspace, now=NOW)
    assert digest.islands == () and digest.new_bridges == (DepartmentPair("Engineering", "Sales"),)


async def test_a_month_digest(workspace, alice, bob):
    await give_thanks(workspace, alice, [bob], "october", now=datetime(2026, 10, 10, tzinfo=UTC))
    await give_thanks(workspace, alice, [bob], "november", now=datetime(2026, 11, 10, tzinfo=UTC))
    await give_thanks(workspace, bob, [alice], "november", now=datetime(2026, 11, 11, tzinfo=UTC))
    digest = await build_digest(workspace, Period.MONTH, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert (digest.thanks, digest.previous_thanks, digest.people) == (2, 1, 2)
