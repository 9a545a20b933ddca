"""The scheduler: due reminders reach the outbox exactly once, late ones follow the late policy."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import connections

from cards.meetings import reminder_message
from cards.payloads import delivery_message
from core import outbox
from core.app.deliveries import load_delivery
from core.app.execute import reminder
from core.meetings import scheduler, service
from core.meetings.models import Meeting
from core.models import Delivery

from .conftest import NOW

ROOT = Path(__file__).parents[2]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_nothing_due_means_nothing_written(meeting):
    result = await scheduler.run_due(utc(2026, 12, 6, 0, 59))
    assert (result.meetings, result.sent) == (0, 0)
    assert await Delivery.all().count() == 0


async def test_a_due_reminder_goes_to_the_outbox_once_and_the_next_is_planned(workspace, meeting):
    result = await scheduler.run_due(utc(2026, 12, 6, 1, 0, 5))
    assert result.sent == 1 and result.late == 0
    delivery = await Delivery.get(id=result.enqueued[0])
    assert (delivery.kind, delivery.address_key, delivery.platform, delivery.late) == (
        "reminder", "channel:general", "console", False)
    assert delivery.dedupe_key == f"reminder:{meeting.id}:2026-12-07T10:00:1440:20261207T0100Z"
    again = await scheduler.run_due(utc(2026, 12, 6, 1, 0, 5))
    assert again.sent == 0
    row = await Meeting.get(id=meeting.id)
    assert (row.next_reminder_at, row.next_reminder_offset) == (utc(2026, 12, 7, 0, 45), 15)
    message = delivery_message(await load_delivery(workspace, dict(delivery.message)), "en", workspace.timezone)
    assert message.kind == "reminder" and message.title == "Reminder: Sales x Eng sync"


async def test_two_racing_passes_send_each_reminder_once(workspace, alice):
    for i in range(20):
        await service.create_meeting(workspace, alice, title=f"M{i}", start="2026-12-07 10:00", timezone="Asia/Tokyo",
                                     channel="c", repeat="weekly", now=NOW)
    moment = utc(2026, 12, 6, 1, 0, 1)
    first, second = await asyncio.gather(scheduler.run_due(moment), scheduler.run_due(moment))
    assert first.sent + second.sent == 20
    assert await Delivery.all().count() == 20
    assert (await scheduler.run_due(moment)).sent == 0


async def test_late_but_before_the_start_is_sent_once_marked_late(workspace, meeting):
    # Kizuna was down from before the 1-day reminder until 2 hours after it.
    result = await scheduler.run_due(utc(2026, 12, 6, 3))
    assert (result.sent, result.late, result.dropped) == (1, 1, 0)
    delivery = await Delivery.get(id=result.enqueued[0])
    assert delivery.late and delivery.message["late"] is True
    card = delivery_message(await load_delivery(workspace, dict(delivery.message)), "ja", workspace.timezone)
    assert "遅れて" in card.late_note
    assert (await scheduler.run_due(utc(2026, 12, 6, 3))).sent == 0


async def test_later_than_its_lead_time_is_dropped_and_logged(workspace, meeting, caplog):
    # Down until 30 minutes after the start: both reminders of the first meeting come too late.
    result = await scheduler.run_due(utc(2026, 12, 7, 1, 30))
    assert (result.sent, result.dropped) == (0, 2)
    dropped = await Delivery.filter(status=outbox.DROPPED).order_by("id")
    assert len(dropped) == 2 and all("lead time" in (d.last_error or "") for d in dropped)
    assert "dropped" in caplog.text
    # The next reminder is the next month's, and nothing is claimable.
    row = await Meeting.get(id=meeting.id)
    assert row.next_reminder_occurrence == "2027-01-04T10:00"
    assert await outbox.claim_due("w", now=utc(2026, 12, 7, 1, 31)) == []


async def test_a_15_minute_reminder_10_minutes_late_is_sent_late(meeting):
    await scheduler.run_due(utc(2026, 12, 6, 1))
    result = await scheduler.run_due(utc(2026, 12, 7, 0, 55))
    assert (result.sent, result.late, result.dropped) == (1, 1, 0)


async def test_skipping_after_the_reminder_was_queued_drops_it(workspace, alice, meeting):
    result = await scheduler.run_due(utc(2026, 12, 6, 1))
    await service.skip_occurrence(workspace, alice, meeting.id, "2026-12-07", now=utc(2026, 12, 6, 1))
    assert (await Delivery.get(id=result.enqueued[0])).status == outbox.DROPPED


async def test_moving_an_occurrence_reminds_again_at_the_new_time(workspace, alice, meeting):
    await scheduler.run_due(utc(2026, 12, 6, 1))
    await service.move_occurrence(workspace, alice, meeting.id, "2026-12-07", "2026-12-08 10:00",
                                  now=utc(2026, 12, 6, 2))
    result = await scheduler.run_due(utc(2026, 12, 7, 1))
    assert result.sent == 1
    assert (await Delivery.get(id=result.enqueued[0])).dedupe_key.endswith(":1440:20261208T0100Z")


async def test_after_the_occurrence_the_card_offers_to_thank_attendees(workspace, alice, meeting):
    occ = "2026-12-07T10:00"
    before = reminder_message(await reminder(workspace, meeting.id, occ, now=utc(2026, 12, 6, 1)), "en")
    assert [(a.kind, a.data["answer"]) for a in before.actions] == [("rsvp", "yes"), ("rsvp", "maybe"),
                                                                     ("rsvp", "no")]
    assert before.actions[0].data == {"meeting_id": str(meeting.id), "occurrence": occ, "answer": "yes"}
    after = reminder_message(await reminder(workspace, meeting.id, occ, now=utc(2026, 12, 7, 2, 1)), "ja")
    assert [a.kind for a in after.actions] == ["thank_attendees"]
    assert after.actions[0].data == {"meeting_id": str(meeting.id), "occurrence": occ}


RACER = """
import asyncio, sys
from datetime import datetime
from core import db
from core.meetings.scheduler import run_due

async def main():
    async with db.database(sys.argv[1]):
        result = await run_due(datetime.fromisoformat(sys.argv[2]))
        print(result.sent)

asyncio.run(main())
"""


@pytest.mark.postgres_only
async def test_two_processes_on_postgresql_send_each_reminder_once(workspace, alice):
    for i in range(60):
        await service.create_meeting(workspace, alice, title=f"M{i}", start="2026-12-07 10:00", timezone="Asia/Tokyo",
                                     channel="c", repeat="weekly", now=NOW)
    client = connections.get("default")
    url = f"postgres://{client.user}:{client.password or ''}@{client.host}:{client.port}/{client.database}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", RACER, url, "2026-12-06T01:00:01+00:00",
                                                  stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT)
             for _ in range(2)]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(int(out.strip()) for out, _ in outputs) == 60
    assert await Delivery.all().count() == 60
