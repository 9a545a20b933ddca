"""The outbox worker: claims due deliveries and hands them to their platform's adapter."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterable

from adapters.contract import Adapter, DeliveryFailed, OutgoingMessage
from cards.payloads import delivery_message
from core import outage, outbox
from core.app.deliveries import load_delivery
from core.errors import KizunaError
from core.models import Address, Delivery, Workspace

log = logging.getLogger("kizuna.outbox")


class OutboxWorker:
    """Delivers what the outbox holds, with retries; one per process, safe with many processes."""

    def __init__(self, adapters: Iterable[Adapter], *, worker_id: str | None = None, batch: int = 8,
                 idle_seconds: float = 1.0, timeout: float = outbox.DELIVERY_TIMEOUT) -> None:
        self.adapters = {a.platform: a for a in adapters}
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Claim only what is sent at once: a claimed row waiting its turn would eat into its lease.
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.timeout = timeout

    async def run_forever(self) -> None:
        """Run passes until cancelled; a failing pass is logged (a database outage once), never fatal."""
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                await outage.report(log, error, "outbox pass failed")
                done = 0
            else:
                outage.answered()
            if done < self.batch:
                await asyncio.sleep(self.idle_seconds)

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many were claimed."""
        claimed = await outbox.claim_due(self.worker_id, limit=self.batch)
        if not claimed:
            return 0
        # One read each for the batch's workspaces and addresses, not two per delivery.
        workspaces = {w.id: w for w in await Workspace.filter(id__in={d.workspace_id for d in claimed})}
        addresses = {(a.workspace_id, a.key): a for a in await Address.filter(
            workspace_id__in=list(workspaces), key__in={d.address_key for d in claimed})}
        await asyncio.gather(*(self._deliver(d, workspaces[d.workspace_id],
                                             addresses.get((d.workspace_id, d.address_key)))
                               for d in claimed))
        return len(claimed)

    async def drain(self, max_passes: int = 10_000) -> int:
        """Deliver until nothing is due (for the CLI and tests); returns how many were handled."""
        total = 0
        for _ in range(max_passes):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def _deliver(self, delivery: Delivery, workspace: Workspace, address: Address | None) -> None:
        adapter = self.adapters.get(delivery.platform)
        if adapter is None:
            await outbox.mark_failed(delivery, self.worker_id, f"the {delivery.platform} adapter is not enabled")
            return
        try:
            try:
                message = delivery_message(await load_delivery(workspace, dict(delivery.message)), delivery.locale,
                                           workspace.timezone)
            except KizunaError as gone:
                # What it was about no longer exists (a skipped occurrence, a deleted thanks): retrying cannot help.
                raise DeliveryFailed(f"nothing to send: {gone.localized('en')}", permanent=True) from gone
            outgoing = OutgoingMessage(
                delivery_id=delivery.id, workspace_external_id=workspace.external_id,
                address_key=delivery.address_key, address=dict(address.payload) if address else {},
                message=message, kind=delivery.kind,
            )
            try:
                await asyncio.wait_for(adapter.deliver(outgoing), self.timeout)
            except TimeoutError:
                raise DeliveryFailed(f"no answer from {delivery.platform} within {self.timeout:.0f} s") from None
        except DeliveryFailed as failure:
            status = await outbox.mark_failed(delivery, self.worker_id, failure.reason,
                                              permanent=failure.permanent, retry_after=failure.retry_after)
            log.log(logging.ERROR if status == outbox.FAILED else logging.WARNING,
                    "delivery %s (%s to %s) %s: %s", delivery.id, delivery.kind, delivery.address_key,
                    "failed for good" if status == outbox.FAILED else "will be retried", failure.reason)
            return
        except Exception as error:
            await outage.report(log, error, "delivery %s crashed", delivery.id)
            await outbox.mark_failed(delivery, self.worker_id, f"{type(error).__name__}: {error}")
            return
        await outbox.mark_delivered(delivery, self.worker_id)
