"""The outbox worker: claims due deliveries and hands them to their platform's adapter."""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.functions import Count

from adapters.contract import Adapter, DeliveryFailed, OutgoingMessage
from cards.payloads import delivery_message
from core import outage, outbox
from core.app.deliveries import load_delivery
from core.config import ConfigurationError, Settings
from core.errors import KizunaError
from core.models import Address, Delivery, Workspace

log = logging.getLogger("kizuna.outbox")

LEASE_VARIABLE = "KIZUNA_OUTBOX_LEASE_SECONDS"
# An attempt is started only if this share of the lease is left for it: whatever is sent, is sent
# while the claim holds, so a takeover never overlaps a send.
_LEASE_SAFETY = 0.9


def outbox_lease(settings: Settings) -> timedelta:
    """The claim lease from ``KIZUNA_OUTBOX_LEASE_SECONDS`` (default 60, at most 60: a message re-sent after
    a crash must reach Discord inside its de-duplication window; the tests shorten it)."""
    text = settings.env(LEASE_VARIABLE)
    if not text:
        return outbox.DEFAULT_LEASE
    longest = outbox.MAX_LEASE.total_seconds()
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 1.0 <= seconds <= longest:
        raise ConfigurationError(f"{LEASE_VARIABLE} must be a number of seconds from 1 to {longest:.0f}, "
                                 f"not {text!r}")
    return timedelta(seconds=seconds)


class OutboxWorker:
    """Delivers what the outbox holds, with retries; one per process, safe with many processes."""

    def __init__(self, adapters: Iterable[Adapter], *, worker_id: str | None = None, batch: int = 8,
                 idle_seconds: float = 1.0, timeout: float | None = None,
                 lease: timedelta = outbox.DEFAULT_LEASE, unserved_warning_every: float = 600.0,
                 public_url: str = "") -> None:
        self.adapters = {a.platform: a for a in adapters}
        # Where people reach Kizuna (KIZUNA_PUBLIC_URL), for the links a message carries (the digest's dashboard).
        self.public_url = public_url
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Claim only what is sent at once: a claimed row waiting its turn would eat into its lease.
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.unserved_warning_every = unserved_warning_every
        self._unserved_checked: float | None = None
        self.lease = lease
        self.timeout = min(outbox.DELIVERY_TIMEOUT, lease.total_seconds() / 2) if timeout is None else timeout
        # Seconds from a platform's yes (``deliver`` returned) to the row committed as delivered: the
        # window in which a crash sends a message twice where the platform cannot de-duplicate.
        self.commit_lags: collections.deque[float] = collections.deque(maxlen=10_000)

    @classmethod
    def from_settings(cls, adapters: Iterable[Adapter], settings: Settings) -> OutboxWorker:
        """A worker with the lease the settings ask for (``KIZUNA_OUTBOX_LEASE_SECONDS``) and the public URL."""
        return cls(adapters, lease=outbox_lease(settings), public_url=settings.base_url)

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
        """Claim and deliver one batch; returns how many were claimed.

        Only deliveries for a platform with an adapter here are claimed: the others wait in the
        outbox, untouched (another process may serve them), and a warning says so now and then.
        """
        await self._warn_about_unserved()
        if not self.adapters:
            return 0
        claimed = await outbox.claim_due(self.worker_id, limit=self.batch, lease=self.lease,
                                         platforms=list(self.adapters))
        if not claimed:
            return 0
        send_by = time.monotonic() + self.lease.total_seconds() * _LEASE_SAFETY
        # One read each for the batch's workspaces and addresses, not two per delivery.
        workspaces = {w.id: w for w in await Workspace.filter(id__in={d.workspace_id for d in claimed})}
        addresses = {(a.workspace_id, a.key): a for a in await Address.filter(
            workspace_id__in=list(workspaces), key__in={d.address_key for d in claimed})}
        # Every read and every rendering first, then the sends: while the platforms answer, the only database
        # work left is marking rows delivered, so no mark waits behind another delivery's reads.
        prepared = await asyncio.gather(*(self._prepare(d, workspaces[d.workspace_id],
                                                        addresses.get((d.workspace_id, d.address_key)))
                                          for d in claimed))
        await asyncio.gather(*(self._send(d, outgoing, send_by) for d, outgoing in zip(claimed, prepared, strict=True)
                               if outgoing is not None))
        return len(claimed)

    async def drain(self, max_passes: int = 10_000) -> int:
        """Deliver until nothing is due (for the CLI and tests); returns how many were handled.

        Rows other processes hold a claim on when the work runs out are waited for, up to the end of
        their leases: a live process releases them within seconds, and those of a crashed one are
        retaken here the moment their lease ends, so they are re-sent inside the platforms'
        de-duplication window instead of whenever the next pass happens to run.
        """
        total = 0
        awaited: set[int] | None = None
        give_up = 0.0
        for _ in range(max_passes):
            n = await self.run_once()
            total += n
            if n:
                continue
            busy = await outbox.claimed_elsewhere(self.worker_id)
            if awaited is None:  # only what was in flight when the work ran out: a busy peer cannot keep us here
                awaited = {delivery_id for delivery_id, _ in busy}
                if busy:
                    last = max(until for _, until in busy)
                    give_up = time.monotonic() + (last - _utcnow()).total_seconds() + self.idle_seconds
            busy = [(delivery_id, until) for delivery_id, until in busy if delivery_id in awaited]
            if not busy or time.monotonic() > give_up:
                break
            wait = (busy[0][1] - _utcnow()).total_seconds() + 0.05
            await asyncio.sleep(min(self.idle_seconds, max(wait, 0.05)))
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

    async def _prepare(self, delivery: Delivery, workspace: Workspace,
                       address: Address | None) -> OutgoingMessage | None:
        """The message to send, or None when the row is settled already (its failure recorded)."""
        try:
            if delivery.platform not in self.adapters:
                raise DeliveryFailed(f"the {delivery.platform} adapter is not enabled")
            try:
                message = delivery_message(await load_delivery(workspace, dict(delivery.message)), delivery.locale,
                                           workspace.timezone, delivery.platform, self.public_url)
            except KizunaError as gone:
                # What it was about no longer exists (a skipped occurrence, a deleted thanks): retrying cannot help.
                raise DeliveryFailed(f"nothing to send: {gone.localized('en')}", permanent=True) from gone
        except Exception as error:
            await self._failed(delivery, error)
            return None
        return OutgoingMessage(
            delivery_id=delivery.id, workspace_external_id=workspace.external_id,
            address_key=delivery.address_key, address=dict(address.payload) if address else {},
            message=message, kind=delivery.kind, idempotency_key=outbox.idempotency_key(delivery),
        )

    async def _send(self, delivery: Delivery, outgoing: OutgoingMessage, send_by: float) -> None:
        budget = min(self.timeout, send_by - time.monotonic())
        if budget <= 0:
            # Too little of the lease is left: a send now could outlive the claim. Someone retakes it.
            await outbox.release(delivery, self.worker_id)
            return
        try:
            try:
                await asyncio.wait_for(self.adapters[delivery.platform].deliver(outgoing), budget)
            except TimeoutError:
                raise DeliveryFailed(f"no answer from {delivery.platform} within {budget:.1f} s") from None
        except Exception as error:
            await self._failed(delivery, error)
            return
        answered = time.perf_counter()
        # Nothing between the platform's yes and this commit: it is the window a crash duplicates in.
        await outbox.mark_delivered(delivery, self.worker_id)
        self.commit_lags.append(time.perf_counter() - answered)

    async def _failed(self, delivery: Delivery, error: Exception) -> None:
        if not isinstance(error, DeliveryFailed):
            await outage.report(log, error, "delivery %s crashed", delivery.id)
            await outbox.mark_failed(delivery, self.worker_id, f"{type(error).__name__}: {error}")
            return
        status = await outbox.mark_failed(delivery, self.worker_id, error.reason, permanent=error.permanent,
                                          retry_after=error.retry_after)
        log.log(logging.ERROR if status == outbox.FAILED else logging.WARNING,
                "delivery %s (%s to %s) %s: %s", delivery.id, delivery.kind, delivery.address_key,
                "failed for good" if status == outbox.FAILED else "will be retried", error.reason)


def _utcnow() -> datetime:
    return datetime.now(UTC)
