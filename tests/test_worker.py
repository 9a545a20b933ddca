"""The outbox worker: a message about something that no longer exists fails at once, with its reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

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


def test_the_lease_is_read_from_the_settings_and_must_fit_the_deduplication_window():
    from core.config import ConfigurationError, Settings
    from kizuna.worker import outbox_lease

    assert outbox_lease(Settings()) == outbox.DEFAULT_LEASE == timedelta(seconds=60)
    assert outbox_lease(Settings(environ={"KIZUNA_OUTBOX_LEASE_SECONDS": "2.5"})) == timedelta(seconds=2.5)
    for bad in ("0.5", "61", "soon", "nan"):
        with pytest.raises(ConfigurationError, match="KIZUNA_OUTBOX_LEASE_SECONDS must be a number of seconds"):
            outbox_lease(Settings(environ={"KIZUNA_OUTBOX_LEASE_SECONDS": bad}))
    # A retaken claim is sent again at most a lease after the first attempt: inside the window, twice over.
    assert outbox.MAX_LEASE * 2 <= outbox.DEDUPE_WINDOW
    worker = OutboxWorker([], lease=timedelta(seconds=4))
    assert worker.timeout == 2.0


@pytest.mark.sqlite_only  # a SQLite file: re-initialising Tortoise mid-run on the PostgreSQL half would not do
def test_run_due_refuses_a_bad_lease_before_it_queues_anything(tmp_path, monkeypatch, capsys):
    from kizuna.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIZUNA_DATABASE_URL", f"sqlite://{tmp_path}/k.sqlite3")
    monkeypatch.setenv("KIZUNA_OUTBOX_LEASE_SECONDS", "600")
    assert main(["reminders", "run-due"]) == 2
    assert "KIZUNA_OUTBOX_LEASE_SECONDS must be a number of seconds from 1 to 60, not '600'" in capsys.readouterr().err


async def test_an_attempt_is_not_started_when_too_little_of_the_lease_is_left(workspace, alice, bob):
    thanks = (await give_thanks(workspace, alice, [bob], "thanks!")).view
    await outbox.enqueue(workspace, "console", "channel:c1", "feed", {"type": "thanks", "thanks_id": thanks.id})
    adapter = RecordingAdapter()
    assert await OutboxWorker([adapter], lease=timedelta(microseconds=1)).run_once() == 1
    row = await Delivery.get()
    assert adapter.sent == []
    assert (row.status, row.attempts, row.claimed_until, row.claimed_by) == (outbox.PENDING, 0, None, None)
    assert await OutboxWorker([adapter]).drain() == 1
    assert len(adapter.sent) == 1


async def test_drain_waits_for_a_dead_peers_claim_and_takes_it_over_then(workspace, alice, bob):
    thanks = (await give_thanks(workspace, alice, [bob], "thanks!")).view
    await outbox.enqueue(workspace, "console", "channel:c1", "feed", {"type": "thanks", "thanks_id": thanks.id})
    [claimed] = await outbox.claim_due("dead", lease=timedelta(seconds=0.5))
    adapter = RecordingAdapter()
    assert await OutboxWorker([adapter], idle_seconds=0.1).drain() == 1
    assert [m.idempotency_key for m in adapter.sent] == [outbox.idempotency_key(claimed)]
    assert (await Delivery.get()).status == outbox.DELIVERED
