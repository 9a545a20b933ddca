"""The digest of a period, computed on a real database with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.meetings.service import answer_rsvp, create_meeting, end_meeting, skip_occurrence
from core.projects.service import close_project, create_project
from core.services.digest import DepartmentPair, Island, SharedMeeting, build_digest, digest_bounds, recent_bounds
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
    assert digest.islands == (Island("Engineering", "Sales"),)
    assert digest.new_bridges == ()  # Tiny–Engineering is new but Tiny is too small to name
    # One thanks between two people: no longer an island, but too few people to tell as a bridge.
    await give_thanks(workspace, e[2], [s[2]], "again", now=IN_WEEK)
    digest = await build_digest(workspace, now=NOW)
    assert digest.islands == () and digest.new_bridges == ()
    # A third person: the pair is a bridge (quiet for 10 weeks), made by as many people as the threshold.
    await give_thanks(workspace, s[1], [e[2]], "and back", now=IN_WEEK)
    digest = await build_digest(workspace, now=NOW)
    assert digest.islands == () and digest.new_bridges == (DepartmentPair("Engineering", "Sales"),)


async def test_the_workspace_privacy_threshold_decides_what_pairs_are_named(workspace, admin):
    workspace.daily_limit = 100
    await workspace.save()
    s = await _people(workspace, admin, "Sales", "Sam", "Sue", "Sid")
    e = await _people(workspace, admin, "Engineering", "Eve", "Eli", "Ema")
    h = await _people(workspace, admin, "HR", "Hana", "Hiro")
    await give_thanks(workspace, h[0], [s[0]], "old", now=IN_WEEK - timedelta(weeks=10))
    await give_thanks(workspace, s[0], [e[0]], "one", now=IN_WEEK)
    await give_thanks(workspace, e[1], [s[1]], "two", now=IN_WEEK)
    digest = await build_digest(workspace, now=NOW)  # the default threshold, 3
    assert digest.new_bridges == (DepartmentPair("Engineering", "Sales"),) and digest.islands == ()
    workspace.privacy_threshold = 5  # four people made the bridge; departments of three are too small
    await workspace.save()
    digest = await build_digest(workspace, now=NOW)
    assert digest.new_bridges == () and digest.islands == ()
    workspace.privacy_threshold = 2  # HR (two people) can be named now
    await workspace.save()
    digest = await build_digest(workspace, now=NOW)
    assert digest.new_bridges == (DepartmentPair("Engineering", "Sales"),)
    assert digest.islands == (Island("HR", "Sales"),)


async def test_islands_are_departments_that_share_a_meeting_with_their_next_one(workspace, admin):
    workspace.daily_limit = 100
    await workspace.save()
    s = await _people(workspace, admin, "Sales", "Sam", "Sue", "Sid")
    e = await _people(workspace, admin, "Engineering", "Eve", "Eli", "Ema")
    h = await _people(workspace, admin, "HR", "Hana", "Hiro", "Haru")
    o = await _people(workspace, admin, "Ops", "Oda", "Oto", "Ozu")
    # Sales and Engineering are invited to a monthly meeting (never thanked each other: quiet since ever).
    sync = await create_meeting(workspace, admin, title="Sales × Eng sync", start="2026-11-02 15:00", channel="c",
                                repeat="monthly", departments=["Sales", "Engineering"],
                                now=IN_WEEK - timedelta(weeks=4))
    # HR and Ops people went to an all-hands that invited nobody in particular; it has ended.
    hands = await create_meeting(workspace, admin, title="All hands", start="2026-10-05 10:00", channel="c",
                                 now=IN_WEEK - timedelta(weeks=8))
    await answer_rsvp(workspace, h[0], hands.id, "2026-10-05T10:00", "yes")
    await answer_rsvp(workspace, o[0], hands.id, "2026-10-05T10:00", "yes")
    await answer_rsvp(workspace, s[0], hands.id, "2026-10-05T10:00", "no")  # not going: not near
    digest = await build_digest(workspace, now=NOW)
    # The pair with a meeting ahead comes first, with the soonest occurrence after now (Dec 2, 15:00 Tokyo).
    assert digest.islands == (
        Island("Engineering", "Sales", SharedMeeting("Sales × Eng sync", datetime(2026, 12, 2, 6, tzinfo=UTC),
                                                     "Asia/Tokyo")),
        Island("HR", "Ops"))
    # A skipped occurrence is not the next meeting: the one after it is.
    await skip_occurrence(workspace, admin, sync.id, "2026-12-02T15:00", now=IN_WEEK)
    next_one = (await build_digest(workspace, now=NOW)).islands[0].next_meeting
    assert next_one is not None and next_one.starts_at == datetime(2027, 1, 2, 6, tzinfo=UTC)
    # They thank each other: no longer an island; HR–Sales, who thanked long ago, takes the second place.
    await give_thanks(workspace, h[1], [s[1]], "old", now=IN_WEEK - timedelta(weeks=20))
    await give_thanks(workspace, s[2], [e[2]], "at last", now=IN_WEEK)
    digest = await build_digest(workspace, now=NOW)
    assert digest.islands == (Island("HR", "Ops"), Island("HR", "Sales"))
    await end_meeting(workspace, admin, hands.id)
    assert (await build_digest(workspace, now=NOW)).islands == digest.islands  # an ended meeting still counts


async def test_projects_that_started_or_closed_and_the_project_of_a_clapped_thanks(workspace, admin, alice, bob,
                                                                                    carol):
    await create_project(workspace, admin, "old", "Old one", start="2026-10-01", now=IN_WEEK - timedelta(weeks=8))
    await create_project(workspace, admin, "launch", "Launch 2027", start="2026-11-24", members=[alice, bob],
                         now=IN_WEEK)
    await create_project(workspace, admin, "later", "Later", start="2026-12-01", now=IN_WEEK)
    await close_project(workspace, admin, "old", now=IN_WEEK)
    given = await give_thanks(workspace, alice, [bob], "shipped it", project_tags=["launch"], now=IN_WEEK)
    await clap(workspace, given.view.id, carol)
    digest = await build_digest(workspace, now=NOW)
    assert digest.projects_started == ("Launch 2027",) and digest.projects_closed == ("Old one",)
    assert [(t.excerpt, t.project) for t in digest.most_clapped] == [("shipped it", "Launch 2027")]


def test_the_period_ending_now_includes_today():
    now = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)  # Saturday 12:30 in Tokyo
    previous, start, end = recent_bounds(Period.WEEK, "Asia/Tokyo", now)
    assert end == now and start == datetime(2026, 11, 28, 15, tzinfo=UTC)  # Sunday Nov 29, 00:00 Tokyo
    assert previous == start - timedelta(days=7)
    previous, start, end = recent_bounds(Period.MONTH, "Asia/Tokyo", now)
    assert (previous, start) == (datetime(2026, 10, 5, 15, tzinfo=UTC), datetime(2026, 11, 5, 15, tzinfo=UTC))


async def test_a_digest_ending_now_counts_today(workspace, alice, bob):
    now = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)
    await give_thanks(workspace, alice, [bob], "this morning", now=now - timedelta(hours=2))
    await give_thanks(workspace, bob, [alice], "last week", now=now - timedelta(days=8))
    digest = await build_digest(workspace, now=now, ending_now=True)
    assert (digest.thanks, digest.previous_thanks) == (1, 1)
    assert (await build_digest(workspace, now=now)).thanks == 1  # the complete week before: only "last week"


async def test_a_month_digest(workspace, alice, bob):
    await give_thanks(workspace, alice, [bob], "october", now=datetime(2026, 10, 10, tzinfo=UTC))
    await give_thanks(workspace, alice, [bob], "november", now=datetime(2026, 11, 10, tzinfo=UTC))
    await give_thanks(workspace, bob, [alice], "november", now=datetime(2026, 11, 11, tzinfo=UTC))
    digest = await build_digest(workspace, Period.MONTH, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert (digest.thanks, digest.previous_thanks, digest.people) == (2, 1, 2)
