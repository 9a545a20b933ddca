"""The digest schedule: due digests and recaps reach the outbox exactly once, late ones follow the late policy."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from adapters.console import ConsoleSession
from adapters.console.adapter import ConsoleAdapter
from cards.model import DigestMessage
from cards.payloads import delivery_message
from cards.text import render_text
from core import digest_scheduler, outbox
from core.app.deliveries import load_delivery
from core.models import Delivery, Workspace
from core.services.digest_schedule import next_slot
from core.services.members import ensure_member, set_department
from core.services.thanks import clap, give_thanks
from core.services.workspaces import ensure_workspace
from kizuna.worker import OutboxWorker

ROOT = Path(__file__).parents[2]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY = utc(2026, 11, 30, 0, 0)  # Monday 09:00 in Tokyo
BEFORE = utc(2026, 11, 27, 3, 0)  # a Friday


async def _feed(workspace: Workspace, channel: str = "feed") -> Workspace:
    workspace.feed_channel = channel
    await workspace.save()
    return workspace


def test_weekly_is_monday_nine_and_monthly_the_first_nine_in_the_workspace_zone():
    assert next_slot("weekly", "Asia/Tokyo", BEFORE) == MONDAY
    assert next_slot("weekly", "Asia/Tokyo", MONDAY) == MONDAY + timedelta(weeks=1)  # strictly after
    assert next_slot("monthly", "Asia/Tokyo", BEFORE) == utc(2026, 12, 1, 0, 0)
    assert next_slot("monthly", "Asia/Tokyo", utc(2026, 12, 20)) == utc(2026, 12, 31, 15) + timedelta(hours=9)
    assert next_slot("off", "Asia/Tokyo", BEFORE) is None
    # 09:00 on the wall clock, on both sides of a change of daylight saving time.
    summer = next_slot("weekly", "Europe/Berlin", utc(2026, 10, 13))
    assert summer == utc(2026, 10, 19, 7)  # CEST, UTC+2
    assert next_slot("weekly", "Europe/Berlin", summer) == utc(2026, 10, 26, 8)  # CET, UTC+1


async def test_a_new_workspace_is_planned_then_posted_once_at_monday_nine(workspace):
    await _feed(workspace)
    first = await digest_scheduler.run_due(BEFORE)
    assert (first.planned, first.sent) == (1, 0)
    assert (await Workspace.get(id=workspace.id)).next_digest_at == MONDAY
    assert (await digest_scheduler.run_due(MONDAY - timedelta(seconds=1))).sent == 0
    result = await digest_scheduler.run_due(MONDAY + timedelta(seconds=20))
    assert (result.sent, result.late, result.dropped) == (1, 0, 0)
    delivery = await Delivery.get(id=result.enqueued[0])
    assert (delivery.kind, delivery.address_key, delivery.platform, delivery.late, delivery.locale) == (
        "digest", "channel:feed", "console", False, "en")
    assert delivery.dedupe_key == f"digest:{workspace.id}:weekly:2026-11-30T00:00Z"
    assert (await digest_scheduler.run_due(MONDAY + timedelta(seconds=20))).sent == 0
    assert (await Workspace.get(id=workspace.id)).next_digest_at == MONDAY + timedelta(weeks=1)
    message = delivery_message(await load_delivery(workspace, dict(delivery.message)), "en", workspace.timezone)
    assert isinstance(message, DigestMessage) and message.title.startswith("📬 Weekly thanks digest · Nov 23, 2026")
    assert not message.note


async def test_without_a_feed_channel_nothing_is_posted_and_the_next_is_planned(workspace):
    await digest_scheduler.run_due(BEFORE)
    assert (await digest_scheduler.run_due(MONDAY)).sent == 0
    assert await Delivery.all().count() == 0
    assert (await Workspace.get(id=workspace.id)).next_digest_at == MONDAY + timedelta(weeks=1)


async def test_a_digest_found_late_is_posted_once_marked_late(workspace):
    await _feed(workspace)
    await digest_scheduler.run_due(BEFORE)
    # The server was down from Sunday until Wednesday.
    result = await digest_scheduler.run_due(MONDAY + timedelta(days=2))
    assert (result.sent, result.late, result.dropped) == (1, 1, 0)
    delivery = await Delivery.get(id=result.enqueued[0])
    assert delivery.late and delivery.message["late"] is True
    message = delivery_message(await load_delivery(workspace, dict(delivery.message)), "ja", workspace.timezone)
    assert isinstance(message, DigestMessage) and "遅れて投稿" in message.note
    assert "2026/11/23" in message.title  # still the week that ended before the due moment


async def test_a_digest_older_than_its_period_is_skipped_and_the_newer_one_posted(workspace):
    await _feed(workspace)
    await digest_scheduler.run_due(BEFORE)
    # Down for ten days: Monday 30 is more than a week old; Monday 7 is three days late.
    result = await digest_scheduler.run_due(MONDAY + timedelta(days=10))
    assert (result.sent, result.late, result.dropped) == (1, 1, 1)
    rows = {d.dedupe_key: d for d in await Delivery.all()}
    old = rows[f"digest:{workspace.id}:weekly:2026-11-30T00:00Z"]
    assert old.status == outbox.DROPPED and "older than the period" in (old.last_error or "")
    new = rows[f"digest:{workspace.id}:weekly:2026-12-07T00:00Z"]
    assert new.status == outbox.PENDING and new.late
    assert (await Workspace.get(id=workspace.id)).next_digest_at == utc(2026, 12, 14)


async def test_two_racing_passes_post_each_digest_once(db):
    for i in range(20):
        await _feed(await ensure_workspace("console", f"w{i}"))
    await digest_scheduler.run_due(BEFORE)
    first, second = await asyncio.gather(digest_scheduler.run_due(MONDAY), digest_scheduler.run_due(MONDAY))
    assert first.sent + second.sent == 20
    assert await Delivery.all().count() == 20
    assert (await digest_scheduler.run_due(MONDAY)).sent == 0


async def test_a_restart_loses_no_digest(workspace):
    # The pass wrote the digest; the process died before anything was delivered.
    await _feed(workspace)
    await digest_scheduler.run_due(BEFORE)
    assert (await digest_scheduler.run_due(MONDAY)).sent == 1
    out = io.StringIO()
    assert await OutboxWorker([ConsoleAdapter(out)], worker_id="after-restart").drain() == 1
    assert "--- channel:feed" in out.getvalue() and "Weekly thanks digest" in out.getvalue()
    assert (await Delivery.get()).status == outbox.DELIVERED
    assert (await digest_scheduler.run_due(MONDAY + timedelta(minutes=1))).sent == 0


async def test_no_ranking_where_leaderboards_are_off_and_no_small_department_pairs(workspace, admin):
    await _feed(workspace)
    workspace.daily_limit = 100
    people = {}
    for name, department in [("Sam", "Sales"), ("Sue", "Sales"), ("Sid", "Sales"), ("Eve", "Engineering"),
                             ("Eli", "Engineering"), ("Ema", "Engineering"), ("Hana", "HR")]:
        people[name] = member = await ensure_member(workspace, name.lower(), display_name=name)
        await set_department(workspace, admin, member, department)
    thanks = await give_thanks(workspace, people["Sam"], [people["Eve"]], "for the deploy", now=BEFORE)
    await give_thanks(workspace, people["Hana"], [people["Sue"]], "for the hiring fair", now=BEFORE)
    # A bridge needs as many people as the privacy threshold (3): Sam, Eve, Eli and Sid made this one.
    await give_thanks(workspace, people["Eli"], [people["Sid"]], "for the review", now=BEFORE)
    await clap(workspace, thanks.view.id, people["Eli"])
    await digest_scheduler.run_due(BEFORE)
    delivery = await Delivery.get(id=(await digest_scheduler.run_due(MONDAY)).enqueued[0])

    async def text() -> str:
        fresh = await Workspace.get(id=workspace.id)
        return render_text(delivery_message(await load_delivery(fresh, dict(delivery.message)), "en", fresh.timezone))

    shown = await text()
    assert "Most applauded" in shown and "Sam → Eve" in shown
    assert "Engineering ⇄ Sales" in shown and "HR" not in shown  # HR has one person: below the threshold
    workspace.leaderboard_enabled = False
    await workspace.save()
    assert "Most applauded" not in await text() and "Sam → Eve" not in await text()


async def test_admins_set_the_schedule_in_either_language_and_members_cannot(db):
    admin = await ConsoleSession.open("demo", "alice", "en")
    admin.member.is_admin = True
    await admin.member.save()
    member = await ConsoleSession.open("demo", "bob", "ja")
    assert "管理者" in render_text(await member.handle("ダイジェスト 毎月"))
    answer = render_text(await admin.handle("digest monthly"))
    assert "1st of every month" in answer and "no feed channel" in answer
    workspace = await Workspace.get(external_id="demo")
    assert workspace.digest_schedule == "monthly" and workspace.next_digest_at is not None
    assert workspace.next_digest_at.astimezone(ZoneInfo("Asia/Tokyo")).timetuple()[2:4] == (1, 9)  # the 1st, 9:00
    assert "weekly, monthly, off" in render_text(await admin.handle("digest sometimes"))
    assert "Usage: digest weekly|monthly|off" in render_text(await admin.handle("digest"))
    assert "Settings saved" in render_text(await admin.handle("settings digest オフ"))
    workspace = await Workspace.get(external_id="demo")
    assert (workspace.digest_schedule, workspace.next_digest_at) == ("off", None)
    shown = render_text(await admin.handle("settings"))
    assert "(digest): off" in shown
    await admin.handle("ダイジェスト 毎週")
    workspace = await Workspace.get(external_id="demo")
    assert workspace.digest_schedule == "weekly"
    local = workspace.next_digest_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.weekday(), local.hour) == (0, 9)


async def test_a_recap_reaches_each_member_who_asked_privately_in_their_language(workspace, admin):
    await _feed(workspace)
    alice = await ConsoleSession.open("demo", "alice", "ja")
    bob = await ConsoleSession.open("demo", "bob", "en")
    await ensure_member(workspace, "carol", display_name="Carol")
    for session, department in ((alice, "Sales"), (bob, "Engineering")):
        await set_department(workspace, admin, session.member, department)
    assert "毎月 1 日" in render_text(await alice.handle("まとめ オン"))
    fresh = await Workspace.get(id=workspace.id)
    assert fresh.next_recap_at is not None
    due = fresh.next_recap_at  # the 1st of next month, 9:00: the recap covers this month
    in_month = due - timedelta(days=10)
    await give_thanks(workspace, alice.member, [bob.member], "for the review", now=in_month)
    await give_thanks(workspace, bob.member, [alice.member], "for the specs", now=in_month)
    await give_thanks(workspace, bob.member, [alice.member], "for the demo", now=in_month + timedelta(days=1))
    await give_thanks(workspace, bob.member, [alice.member], "last month", now=due - timedelta(days=40))
    result = await digest_scheduler.run_due(due + timedelta(seconds=5))
    assert result.recaps == 1  # bob did not ask for one
    delivery = await Delivery.get(kind="recap")
    assert (delivery.address_key, delivery.locale) == ("member:alice", "ja")
    message = delivery_message(await load_delivery(workspace, dict(delivery.message)), "ja", workspace.timezone)
    text = render_text(message)
    assert "送った感謝：1 件" in text and "受け取った感謝：2 件" in text and "Engineering" in text
    assert (await digest_scheduler.run_due(due + timedelta(seconds=5))).recaps == 0
    assert (await Workspace.get(id=workspace.id)).next_recap_at == next_slot("monthly", "Asia/Tokyo", due)
    assert "オフ" in render_text(await alice.handle("まとめ オフ"))
    await digest_scheduler.run_due(next_slot("monthly", "Asia/Tokyo", due))
    assert await Delivery.filter(kind="recap").count() == 1  # nobody asked any more
    assert (await Workspace.get(id=workspace.id)).next_recap_at is None


RACER = """
import asyncio, sys
from datetime import datetime
from core import db
from core.digest_scheduler import run_due

async def main():
    async with db.database(sys.argv[1]):
        result = await run_due(datetime.fromisoformat(sys.argv[2]))
        print(result.sent)

asyncio.run(main())
"""


@pytest.mark.postgres_only
async def test_two_processes_on_postgresql_post_each_digest_once(db):
    for i in range(60):
        await _feed(await ensure_workspace("console", f"w{i}"))
    await digest_scheduler.run_due(BEFORE)
    client = connections.get("default")
    url = f"postgres://{client.user}:{client.password or ''}@{client.host}:{client.port}/{client.database}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", RACER, url, MONDAY.isoformat(),
                                                  stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT)
             for _ in range(2)]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(int(out.strip()) for out, _ in outputs) == 60
    assert await Delivery.all().count() == 60


async def test_a_late_digest_names_the_shared_meeting_still_ahead(workspace, admin):
    from core.meetings.service import create_meeting

    for name, department in [("Sam", "Sales"), ("Sue", "Sales"), ("Sid", "Sales"), ("Eve", "Engineering"),
                             ("Eli", "Engineering"), ("Ema", "Engineering")]:
        await set_department(workspace, admin, await ensure_member(workspace, name.lower(), display_name=name),
                             department)
    now = datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).astimezone(ZoneInfo(workspace.timezone)).strftime("%Y-%m-%d %H:%M")
    await create_meeting(workspace, admin, title="Weekly sync", start=yesterday, channel="c", repeat="weekly",
                         departments=["Sales", "Engineering"], now=now - timedelta(days=2))
    # The digest was due three days ago: yesterday's occurrence was still ahead then, but not for its readers.
    payload = {"type": "digest", "period": "week", "at": (now - timedelta(days=3)).isoformat(), "late": True}
    message = delivery_message(await load_delivery(workspace, payload), "en", workspace.timezone)
    assert isinstance(message, DigestMessage)
    [meeting] = message.sections[-1].meetings
    starts = datetime.fromisoformat(meeting.starts_at_utc)
    assert now < starts <= now + timedelta(days=6), starts
