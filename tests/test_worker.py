"""The outbox worker: a message about something that no longer exists fails at once, with its reason."""

from __future__ import annotations

from adapters.contract import OutgoingMessage
from core import outbox
from core.models import Delivery
from core.services.thanks import give_thanks
from kizuna.worker import OutboxWorker


class RecordingAdapter:
    name = platform = "console"

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def mount(self, app) -> None: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        self.sent.append(outgoing)


async def test_deliverable_payload_is_sent_once_and_a_vanished_one_fails_for_good(workspace, alice, bob):
    thanks = (await give_thanks(workspace, alice, [bob], "thanks!")).view
    await outbox.enqueue(workspace, "console", "channel:c1", "feed", {"type": "thanks", "thanks_id": thanks.id})
    await outbox.enqueue(workspace, "console", "channel:c1", "feed", {"type": "thanks", "thanks_id": 999999})
    adapter = RecordingAdapter()
    worker = OutboxWorker([adapter])
    assert await worker.drain() == 2
    assert [m.message.thanks_id for m in adapter.sent] == [thanks.id]  # type: ignore[union-attr]
    gone = await Delivery.get(status=outbox.FAILED)
    assert gone.attempts == 1 and "no longer exists" in (gone.last_error or "")
    assert await worker.drain() == 0


class SlowAdapter(RecordingAdapter):
    async def deliver(self, outgoing: OutgoingMessage) -> None:
        import asyncio

        await asyncio.sleep(5)


async def test_an_attempt_that_hangs_is_abandoned_inside_the_lease_and_retried(workspace, alice, bob):
    thanks = (await give_thanks(workspace, alice, [bob], "thanks!")).view
    await outbox.enqueue(workspace, "console", "channel:c1", "feed", {"type": "thanks", "thanks_id": thanks.id})
    worker = OutboxWorker([SlowAdapter()], timeout=0.05)
    assert worker.timeout < outbox.DEFAULT_LEASE.total_seconds()
    assert await worker.run_once() == 1
    row = await Delivery.get()
    assert (row.status, row.attempts, row.claimed_until) == (outbox.PENDING, 1, None)
    assert "no answer" in (row.last_error or "")


async def test_a_worker_claims_only_what_it_sends_at_once(workspace, alice, bob):
    thanks = (await give_thanks(workspace, alice, [bob], "thanks!")).view
    for n in range(20):
        await outbox.enqueue(workspace, "console", f"channel:c{n}", "feed", {"type": "thanks", "thanks_id": thanks.id})
    adapter = RecordingAdapter()
    worker = OutboxWorker([adapter], batch=8)
    assert await worker.run_once() == 8
    assert await Delivery.filter(status=outbox.PENDING).count() == 12
    assert await worker.drain() == 12
    assert len(adapter.sent) == 20


def test_one_delivery_failure_policy_for_every_platform():
    from adapters.contract import DeliveryFailed

    retried = [None, 401, 408, 412, 429, 500, 502, 503, 504]
    final = [400, 403, 404, 410, 413]
    assert not any(DeliveryFailed.for_status(s, "x").permanent for s in retried)
    assert all(DeliveryFailed.for_status(s, "x").permanent for s in final)
    assert DeliveryFailed.for_status(429, "x", 2.5).retry_after == 2.5


class DiscordAdapter(RecordingAdapter):
    name = platform = "discord"


async def test_deliveries_no_adapter_serves_wait_untouched_with_a_warning(workspace, alice, bob, caplog):
    thanks = (await give_thanks(workspace, alice, [bob], "thanks!")).view
    await outbox.enqueue(workspace, "console", "channel:console", "feed", {"type": "thanks", "thanks_id": thanks.id})
    # The server: Discord on, no console adapter (console messages are printed by `kizuna reminders run-due`).
    server = OutboxWorker([DiscordAdapter()])
    with caplog.at_level("WARNING", logger="kizuna.outbox"):
        for _ in range(outbox.MAX_ATTEMPTS + 2):
            assert await server.drain() == 0
    row = await Delivery.get()
    assert (row.status, row.attempts, row.last_error, row.claimed_by) == (outbox.PENDING, 0, None, None)
    warnings = [r.getMessage() for r in caplog.records if r.name == "kizuna.outbox"]
    assert len(warnings) == 1  # said once, not on every pass
    assert warnings[0].startswith("1 delivery for console waiting in the outbox: no adapter here serves console")
    assert "adapters here: discord" in warnings[0]
    # A process that can send it still does.
    printer = RecordingAdapter()
    assert await OutboxWorker([printer]).drain() == 1
    assert [m.delivery_id for m in printer.sent] == [row.id]
    assert (await Delivery.get()).status == outbox.DELIVERED
