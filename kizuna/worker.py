"""The outbox worker: claims due deliveries and hands them to their platform's adapter."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterable

from tortoise.functions import Count

from adapters.contract import Adapter, DeliveryFailed, OutgoingMessage
from cards.payloads import delivery_message
from core import outbox
from core.app.deliveries import load_delivery
from core.errors import KizunaError
from core.models import Address, Delivery, Workspace

log = logging.getLogger("kizuna.outbox")


class OutboxWorker:
    """Delivers what the outbox holds, with retries; one per process, safe with many processes."""

    def __init__(self, adapters: Iterable[Adapter], *, worker_id: str | None = None, batch: int = 8,
                 idle_seconds: float = 1.0, timeout: float = outbox.DELIVERY_TIMEOUT,
                 unserved_warning_every: float = 600.0) -> None:
        self.adapters = {a.platform: a for a in adapters}
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Claim only what is sent at once: a claimed row waiting its turn would eat into its lease.
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.timeout = timeout
        self.unserved_warning_every = unserved_warning_every
        self._unserved_checked: float | None = None

    async def run_forever(self) -> None:
        """Run passes until cancelled; a failing pass is logged, never fatal."""
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed")
                done = 0
            if done < self.batch:
                await asyncio.sleep(self.idle_seconds)

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many were claimed.

        Only deliveries for a platform with an adapter here are claimed: the others wait in the
        outbox, untouched (another process may serve them), and a warning says so now and then.
        """
        await self._warn_about_unserved()
        if not self.adapters:
            return 0
        claimed = await outbox.claim_due(self.worker_id, limit=self.batch, platforms=list(self.adapters))
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

    async def _warn_about_unserved(self) -> None:
        """Log the pending deliveries no adapter here can send: once at start, then every so often."""
        now = time.monotonic()
        if self._unserved_checked is not None and now - self._unserved_checked < self.unserved_warning_every:
            return
        self._unserved_checked = now
        waiting = await Delivery.filter(status=outbox.PENDING).exclude(platform__in=list(self.adapters)) \
            .annotate(count=Count("id")).group_by("platform").order_by("platform").values_list("platform", "count")
        served = ", ".join(sorted(self.adapters)) or "none"
        for platform, count in waiting:
            log.warning("%s %s for %s waiting in the outbox: no adapter here serves %s (adapters here: %s). They are "
                        "kept, not retried; enable that adapter (KIZUNA_ADAPTERS), or deliver them with `kizuna "
                        "reminders run-due` (it prints console messages)", count,
                        "delivery" if count == 1 else "deliveries", platform, platform, served,
                        extra={"platform": platform, "waiting": count})

    async def _deliver(self, delivery: Delivery, workspace: Workspace, address: Address | None) -> None:
        adapter = self.adapters[delivery.platform]  # claim_due hands out only these platforms
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
            log.exception("delivery %s crashed", delivery.id)
            await outbox.mark_failed(delivery, self.worker_id, f"{type(error).__name__}: {error}")
            return
        await outbox.mark_delivered(delivery, self.worker_id)
