"""Reminders from the outbox to a fake chat API on loopback: retries with backoff, leases, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import outbox
from core.meetings import scheduler
from core.models import Delivery
from kizuna.loopback import FakeApi, HttpAdapter
from kizuna.worker import OutboxWorker


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _clock_moves_past_backoff(delivery_id: int) -> None:
    """The fake clock: the backoff has passed (instead of sleeping seconds in a test)."""
    await Delivery.filter(id=delivery_id).update(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))


async def test_503_twice_then_200_is_delivered_once_after_backoff(meeting):
    result = await scheduler.run_due(utc(2026, 12, 6, 1))
    delivery_id = result.enqueued[0]
    async with FakeApi([503, 503]) as api:
        adapter = HttpAdapter(api.url)
        await adapter.start()
        try:
            worker = OutboxWorker([adapter], worker_id="w1")
            for attempt in (1, 2):
                started = datetime.now(UTC)
                assert await worker.run_once() == 1
                row = await Delivery.get(id=delivery_id)
                assert (row.status, row.attempts, row.last_error) == ("pending", attempt, "HTTP 503")
                # Backoff: at least the server's Retry-After (1 s), and nothing is due before it.
                assert row.next_attempt_at >= started + timedelta(seconds=1)
                assert await worker.run_once() == 0
                await _clock_moves_past_backoff(delivery_id)
            assert await worker.run_once() == 1
            assert await worker.run_once() == 0
        finally:
            await adapter.close()
    row = await Delivery.get(id=delivery_id)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert len(api.requests) == 3 and len(api.accepted) == 1
    sent = api.accepted[0]["message"]
    assert sent["kind"] == "reminder" and [a["data"]["answer"] for a in sent["actions"]] == ["yes", "maybe", "no"]


async def test_a_permanent_failure_is_kept_with_its_reason_and_can_be_retried(meeting):
    result = await scheduler.run_due(utc(2026, 12, 6, 1))
    async with FakeApi([403]) as api:
        adapter = HttpAdapter(api.url)
        await adapter.start()
        try:
            worker = OutboxWorker([adapter], worker_id="w1")
            await worker.drain()
            failed = await outbox.list_deliveries(status=outbox.FAILED)
            assert [(r.id, r.last_error) for r in failed] == [(result.enqueued[0], "HTTP 403")]
            assert await outbox.retry(result.enqueued[0])
            await worker.drain()
        finally:
            await adapter.close()
    assert (await Delivery.get(id=result.enqueued[0])).status == "delivered"
    assert len(api.accepted) == 1


async def test_a_killed_workers_claim_is_retaken_after_the_lease(meeting):
    result = await scheduler.run_due(utc(2026, 12, 6, 1))
    now = datetime.now(UTC)
    # Worker "dead" claims the reminder and is killed before it can deliver or release it.
    claimed = await outbox.claim_due("dead", now=now, lease=timedelta(seconds=60))
    assert [d.id for d in claimed] == result.enqueued
    assert await outbox.claim_due("alive", now=now + timedelta(seconds=30)) == []
    retaken = await outbox.claim_due("alive", now=now + timedelta(seconds=61))
    assert [d.id for d in retaken] == result.enqueued
    assert await outbox.mark_delivered(retaken[0], "alive")
    # The dead worker, coming back, cannot record anything on a claim it lost.
    assert not await outbox.mark_delivered(claimed[0], "dead")
    assert (await Delivery.get(id=result.enqueued[0])).claimed_by == "alive"


async def test_a_whole_day_of_reminders_through_the_api_exactly_once(workspace, alice):
    from core.meetings import service

    for i in range(5):
        await service.create_meeting(workspace, alice, title=f"M{i}", start=f"2026-12-07 1{i}:00", channel=f"c{i}",
                                     timezone="Asia/Tokyo", now=utc(2026, 12, 1))
    async with FakeApi() as api:
        adapter = HttpAdapter(api.url)
        await adapter.start()
        try:
            worker = OutboxWorker([adapter], worker_id="w1")
            for hour in range(0, 24):
                await scheduler.run_due(utc(2026, 12, 6, hour, 0, 30))
                await scheduler.run_due(utc(2026, 12, 6, hour, 0, 30))
                await worker.drain()
            for minute in range(0, 24 * 60, 5):
                await scheduler.run_due(utc(2026, 12, 7) + timedelta(minutes=minute))
                await worker.drain()
        finally:
            await adapter.close()
    # Each meeting: its two reminders, and the prompt to thank who came once it ended, each posted once.
    assert sorted((r["to"], r["message"]["kind"]) for r in api.accepted) == sorted(
        [(f"channel:c{i}", "reminder") for i in range(5)] * 2 + [(f"channel:c{i}", "after_meeting") for i in range(5)])
