"""The outbox worker: a message about something that no longer exists fails at once, with its reason."""

from __future__ import annotations

from core import outbox
from core.models import Delivery
from core.services.thanks import give_thanks
from kizuna.plugin import OutgoingMessage
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
