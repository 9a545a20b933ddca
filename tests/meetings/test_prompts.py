"""After every meeting: when an occurrence ends, one prompt to thank who came, through the outbox, exactly once."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise import connections

from cards.payloads import delivery_message
from core import outbox
from core.app.deliveries import load_delivery
from core.meetings import errors, prompts, scheduler, service
from core.meetings.models import Meeting
from core.models import Delivery
from core.services.members import ensure_member

from .conftest import NOW

ROOT = Path(__file__).parents[2]
# The fixture's meeting: the first Monday of the month, 10:00–11:00 in Tokyo (01:00–02:00 UTC).
ENDS = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
NEXT_ENDS = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)


def prompts_of(meeting_id: int):
    return Delivery.filter(kind=service.PROMPT_KIND, dedupe_key__startswith=f"prompt:{meeting_id}:")


async def answer(workspace, meeting, who: str, reply: str, name: str | None = None):
    member = await ensure_member(workspace, who, display_name=name or who.title())
    await service.answer_rsvp(workspace, member, meeting.id, "2026-12-07T10:00", reply)


async def test_the_prompt_is_posted_once_when_the_occurrence_ends(workspace, meeting):
    assert (await Meeting.get(id=meeting.id)).next_prompt_at == ENDS
    await answer(workspace, meeting, "bob", "yes")
    await answer(workspace, meeting, "carol", "maybe")
    await answer(workspace, meeting, "dave", "yes", "山田 太郎")
    assert (await scheduler.run_due(ENDS - timedelta(seconds=1))).prompts.sent == 0
    result = await scheduler.run_due(ENDS + timedelta(seconds=5))
    assert result.prompts.sent == 1 and result.prompts.late == 0
    delivery = await Delivery.get(id=result.prompts.enqueued[0])
    assert (delivery.kind, delivery.address_key, delivery.late) == ("after_meeting", "channel:general", False)
    assert delivery.dedupe_key == f"prompt:{meeting.id}:2026-12-07T10:00:20261207T0200Z"
    for _ in range(2):
        assert (await scheduler.run_due(ENDS + timedelta(seconds=30))).prompts.sent == 0
    assert await prompts_of(meeting.id).count() == 1
    # The plan moves on to the next occurrence's end.
    row = await Meeting.get(id=meeting.id)
    assert (row.next_prompt_at, row.next_prompt_occurrence) == (NEXT_ENDS, "2027-01-04T10:00")

    # Only those who said "going", by name; the console is shown the command that thanks them.
    message = delivery_message(await load_delivery(workspace, dict(delivery.message)), "en", workspace.timezone)
    assert message.kind == "after_meeting"
    assert [p.name for p in message.attendees] == ["Bob", "山田 太郎"]
    assert message.attendees_text == "Said they were coming: Bob and 山田 太郎"
    assert message.command_hint == "Type: thanks @bob @dave for … #value"
    assert [(a.kind, a.data) for a in message.actions] == [
        ("thank_attendees", {"meeting_id": str(meeting.id), "occurrence": "2026-12-07T10:00"})]
    ja = delivery_message(await load_delivery(workspace, dict(delivery.message)), "ja", workspace.timezone, "discord")
    assert ja.attendees_text == "参加と回答した人: Bob、山田 太郎" and ja.command_hint == ""


async def test_two_racing_passes_post_each_prompt_once(workspace, alice):
    for i in range(20):
        await service.create_meeting(workspace, alice, title=f"M{i}", start="2026-12-07 10:00", timezone="Asia/Tokyo",
                                     channel="c", repeat="weekly", now=NOW)
    moment = ENDS + timedelta(seconds=1)
    first, second = await asyncio.gather(scheduler.run_due(moment), scheduler.run_due(moment))
    third = await scheduler.run_due(moment)
    assert first.prompts.sent + second.prompts.sent + third.prompts.sent == 20
    assert await Delivery.filter(kind="after_meeting").count() == 20


RACER = """
import asyncio, sys
from datetime import datetime
from core import db
from core.meetings.scheduler import run_due

async def main():
    async with db.database(sys.argv[1]):
        result = await run_due(datetime.fromisoformat(sys.argv[2]))
        print(result.prompts.sent)

asyncio.run(main())
"""


@pytest.mark.postgres_only
async def test_two_processes_on_postgresql_post_each_prompt_once(workspace, alice):
    for i in range(60):
        await service.create_meeting(workspace, alice, title=f"M{i}", start="2026-12-07 10:00", timezone="Asia/Tokyo",
                                     channel="c", repeat="weekly", now=NOW)
    client = connections.get("default")
    url = f"postgres://{client.user}:{client.password or ''}@{client.host}:{client.port}/{client.database}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [await asyncio.create_subprocess_exec(sys.executable, "-c", RACER, url, "2026-12-07T02:00:01+00:00",
                                                  stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT)
             for _ in range(2)]
    outputs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    # A meeting one process lost the claim of is left to the next pass, never posted twice.
    posted = sum(int(out.strip()) for out, _ in outputs)
    posted += (await scheduler.run_due(datetime(2026, 12, 7, 2, 0, 2, tzinfo=UTC))).prompts.sent
    assert posted == 60
    assert await Delivery.filter(kind="after_meeting").count() == 60


async def test_a_skipped_occurrence_gets_no_prompt_and_a_moved_one_prompts_at_its_new_end(workspace, alice, meeting):
    await service.skip_occurrence(workspace, alice, meeting.id, "2026-12-07", now=NOW)
    assert (await Meeting.get(id=meeting.id)).next_prompt_at == NEXT_ENDS
    assert (await scheduler.run_due(ENDS + timedelta(minutes=1))).prompts.sent == 0
    await service.restore_occurrence(workspace, alice, meeting.id, "2026-12-07", now=NOW)
    # Moved to Tuesday 15:00 Tokyo (06:00 UTC): its prompt comes at 16:00 Tokyo, not on Monday.
    await service.move_occurrence(workspace, alice, meeting.id, "2026-12-07", "2026-12-08 15:00", now=NOW)
    assert (await scheduler.run_due(ENDS + timedelta(minutes=1))).prompts.sent == 0
    moved_end = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    assert (await scheduler.run_due(moved_end - timedelta(seconds=1))).prompts.sent == 0
    result = await scheduler.run_due(moved_end + timedelta(seconds=1))
    assert result.prompts.sent == 1
    assert (await Delivery.get(id=result.prompts.enqueued[0])).dedupe_key.endswith(":20261208T0700Z")


async def test_organisers_and_admins_can_turn_it_off_and_on(workspace, alice, bob, meeting):
    with pytest.raises(errors.NotMeetingOrganiser):
        await service.edit_meeting(workspace, bob, meeting.id, thanks_prompt="off", now=NOW)
    with pytest.raises(errors.InvalidThanksPrompt) as bad:
        await service.edit_meeting(workspace, alice, meeting.id, thanks_prompt="sometimes", now=NOW)
    assert "sometimes" in bad.value.localized("en") and "sometimes" in bad.value.localized("ja")
    view = await service.edit_meeting(workspace, alice, meeting.id, thanks_prompt="オフ", now=NOW)
    assert view.thanks_prompt is False and view.next_prompt_at is None
    assert (await scheduler.run_due(ENDS + timedelta(minutes=1))).prompts.sent == 0
    view = await service.edit_meeting(workspace, alice, meeting.id, thanks_prompt="on", now=ENDS + timedelta(minutes=1))
    # Turned on again after that meeting ended: from the next one on.
    assert view.thanks_prompt is True and view.next_prompt_at == NEXT_ENDS
    assert (await scheduler.run_due(NEXT_ENDS + timedelta(seconds=1))).prompts.sent == 1


async def test_turning_it_off_drops_a_prompt_not_yet_posted(workspace, alice, meeting):
    result = await scheduler.run_due(ENDS + timedelta(seconds=1))
    [delivery_id] = result.prompts.enqueued
    await service.edit_meeting(workspace, alice, meeting.id, thanks_prompt=False, now=ENDS + timedelta(seconds=2))
    delivery = await Delivery.get(id=delivery_id)
    assert (delivery.status, delivery.last_error) == (outbox.DROPPED, "thanks prompt turned off")


async def test_a_paused_or_ended_meeting_prompts_nobody(workspace, alice, meeting):
    await service.pause_meeting(workspace, alice, meeting.id, now=NOW)
    assert (await scheduler.run_due(ENDS + timedelta(minutes=1))).prompts.sent == 0
    await service.resume_meeting(workspace, alice, meeting.id, now=NOW)
    await service.end_meeting(workspace, alice, meeting.id, now=NOW)
    assert (await Meeting.get(id=meeting.id)).next_prompt_at is None
    assert (await scheduler.run_due(ENDS + timedelta(minutes=1))).prompts.sent == 0


async def test_a_prompt_found_late_is_posted_once_and_says_so(workspace, meeting):
    # The server was down for three hours when the meeting ended: posted on restart, marked late.
    late = ENDS + timedelta(hours=3)
    result = await scheduler.run_due(late)
    assert (result.prompts.sent, result.prompts.late) == (1, 1)
    delivery = await Delivery.get(id=result.prompts.enqueued[0])
    assert delivery.late and delivery.message["late"] is True
    message = delivery_message(await load_delivery(workspace, dict(delivery.message)), "en", workspace.timezone)
    assert message.late_note == "Posted late: Kizuna was offline when the meeting ended."
    assert (await scheduler.run_due(late + timedelta(minutes=1))).prompts.sent == 0


async def test_a_prompt_more_than_a_day_late_is_dropped_and_recorded(meeting):
    result = await scheduler.run_due(ENDS + timedelta(days=1, minutes=1))
    assert (result.prompts.sent, result.prompts.dropped) == (0, 1)
    [row] = await prompts_of(meeting.id)
    assert row.status == outbox.DROPPED and "more than a day" in (row.last_error or "")
    assert (await Meeting.get(id=meeting.id)).next_prompt_at == NEXT_ENDS


async def test_a_prompt_found_after_the_next_occurrence_began_is_dropped(workspace, alice):
    view = await service.create_meeting(workspace, alice, title="Daily stand-up", start="2026-12-07 10:00",
                                        timezone="Asia/Tokyo", channel="c", rrule="FREQ=DAILY", duration_minutes=15,
                                        now=NOW)
    # Found the next morning at 10:05, less than a day late, but the next stand-up has begun.
    result = await scheduler.run_due(datetime(2026, 12, 8, 1, 5, tzinfo=UTC))
    assert (result.prompts.sent, result.prompts.dropped) == (0, 1)
    # That one's own prompt comes when it ends.
    result = await scheduler.run_due(datetime(2026, 12, 8, 1, 15, 30, tzinfo=UTC))
    assert result.prompts.sent == 1
    assert (await Delivery.get(id=result.prompts.enqueued[0])).message["occurrence"] == "2026-12-08T10:00"
    assert await prompts_of(view.id).count() == 2


async def test_a_meeting_from_before_prompts_is_planned_without_posting_for_the_past(meeting):
    # What the migration leaves on a meeting that existed before: due, with no occurrence planned.
    await Meeting.filter(id=meeting.id).update(next_prompt_at=datetime(2000, 1, 1, tzinfo=UTC),
                                               next_prompt_occurrence=None)
    result = await scheduler.run_due(ENDS + timedelta(hours=1))
    assert result.prompts.sent == 0 and result.prompts.dropped == 0
    row = await Meeting.get(id=meeting.id)
    assert (row.next_prompt_at, row.next_prompt_occurrence) == (NEXT_ENDS, "2027-01-04T10:00")


def test_the_late_policy():
    from core.meetings.recurrence import Occurrence

    occurrence = Occurrence("2026-12-07T10:00", ENDS - timedelta(hours=1), ENDS)
    following = Occurrence("2026-12-08T10:00", ENDS + timedelta(hours=23), ENDS + timedelta(hours=24))
    assert prompts.classify(occurrence, None, ENDS + prompts.LATE_TOLERANCE) == "send"
    assert prompts.classify(occurrence, None, ENDS + timedelta(hours=5)) == "late"
    assert prompts.classify(occurrence, None, ENDS + prompts.STALE_AFTER + timedelta(seconds=1)) == "drop"
    assert prompts.classify(occurrence, following, ENDS + timedelta(hours=22)) == "late"
    assert prompts.classify(occurrence, following, ENDS + timedelta(hours=23)) == "drop"
