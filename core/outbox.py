"""The delivery outbox: messages Kizuna sends on its own are written first, then delivered with retries.

A row is claimed with a lease before it is sent, so several processes never send it twice and a
crashed worker's claim is retaken when the lease runs out. On PostgreSQL the claim is
``SELECT … FOR UPDATE SKIP LOCKED``; on SQLite an atomic conditional ``UPDATE``.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.models import Delivery, Workspace

PENDING, DELIVERED, FAILED, DROPPED = "pending", "delivered", "failed", "dropped"
MAX_ATTEMPTS = 8
BASE_BACKOFF = 2.0
MAX_BACKOFF = 900.0
DEFAULT_LEASE = timedelta(seconds=120)
# A delivery attempt that takes longer is abandoned (and retried later), well inside the lease, so
# no other worker can retake a row while it is still being sent.
DELIVERY_TIMEOUT = 45.0


def _now() -> datetime:
    return datetime.now(UTC)


async def enqueue(workspace: Workspace | int, platform: str, address_key: str, kind: str,
                  message: dict[str, Any], *, locale: str = "ja", dedupe_key: str | None = None,
                  not_before: datetime | None = None, late: bool = False,
                  dropped_because: str | None = None) -> Delivery | None:
    """Write one message to the outbox (call inside the transaction of the change that caused it).

    With a ``dedupe_key`` that is already in the outbox nothing is written and None is returned.
    ``dropped_because`` records a message that will not be sent (status ``dropped``, the reason
    kept for ``kizuna outbox list``), so its dedupe key still stops it from being queued later.
    """
    workspace_id = workspace if isinstance(workspace, int) else workspace.id
    if dedupe_key and await Delivery.exists(dedupe_key=dedupe_key):
        return None
    try:
        async with in_transaction():
            return await Delivery.create(
                workspace_id=workspace_id, platform=platform, address_key=address_key, kind=kind,
                message=message, locale=locale, dedupe_key=dedupe_key,
                next_attempt_at=not_before or _now(), late=late,
                status=DROPPED if dropped_because else PENDING, last_error=dropped_because,
            )
    except IntegrityError:
        if dedupe_key:
            return None
        raise


def _claimable(now: datetime) -> Q:
    return Q(status=PENDING, next_attempt_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


async def claim_due(worker_id: str, *, limit: int = 50, now: datetime | None = None,
                    lease: timedelta = DEFAULT_LEASE, platforms: Collection[str] | None = None) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries for ``worker_id`` until ``now + lease``.

    ``platforms``: only deliveries for these (the ones the worker has an adapter for); the others
    stay pending, untouched, for a process that can send them.
    """
    moment = now or _now()
    until = moment + lease
    claimed: list[int] = []
    due = _claimable(moment) if platforms is None else _claimable(moment) & Q(platform__in=list(platforms))
    async with in_transaction() as conn:
        if conn.capabilities.support_for_update:
            rows = await Delivery.filter(due).order_by("next_attempt_at", "id").limit(limit) \
                .select_for_update(skip_locked=True)
            ids: list[int] = [row.id for row in rows]
            if ids:
                await Delivery.filter(id__in=ids).update(claimed_until=until, claimed_by=worker_id)
            claimed = ids
        else:
            candidates = await Delivery.filter(due).order_by("next_attempt_at", "id") \
                .limit(limit).values_list("id", flat=True)
            for delivery_id in candidates:
                # Conditional update: only one claimer sees "1 row changed".
                changed = await Delivery.filter(Q(id=delivery_id) & _claimable(moment)) \
                    .update(claimed_until=until, claimed_by=worker_id)
                if changed:
                    claimed.append(delivery_id)  # type: ignore[arg-type]
    if not claimed:
        return []
    return await Delivery.filter(id__in=claimed).order_by("next_attempt_at", "id")


async def mark_delivered(delivery: Delivery, worker_id: str) -> bool:
    """Record success (only if this worker still holds the claim)."""
    changed = await Delivery.filter(id=delivery.id, claimed_by=worker_id, status=PENDING).update(
        status=DELIVERED, delivered_at=_now(), attempts=delivery.attempts + 1, claimed_until=None, last_error=None)
    return bool(changed)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never shorter than the platform's ``retry_after``."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * (2 ** max(0, attempts - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


async def mark_failed(delivery: Delivery, worker_id: str, reason: str, *, permanent: bool = False,
                      retry_after: float | None = None, now: datetime | None = None) -> str:
    """Record a failed attempt; schedules a retry or fails the row for good. Returns the new status."""
    attempts = delivery.attempts + 1
    status = FAILED if permanent or attempts >= MAX_ATTEMPTS else PENDING
    next_at = (now or _now()) + timedelta(seconds=backoff_seconds(attempts, retry_after))
    await Delivery.filter(id=delivery.id, claimed_by=worker_id, status=PENDING).update(
        status=status, attempts=attempts, last_error=reason[:2000], claimed_until=None, next_attempt_at=next_at)
    return status


async def retry(delivery_id: int) -> bool:
    """Put a failed delivery back in the queue (admins: ``kizuna outbox retry ID``)."""
    changed = await Delivery.filter(id=delivery_id, status__in=[FAILED, DROPPED]).update(
        status=PENDING, next_attempt_at=_now(), claimed_until=None, claimed_by=None, attempts=0)
    return bool(changed)


@dataclass(frozen=True)
class OutboxRow:
    """A delivery as ``kizuna outbox list`` shows it."""

    id: int
    platform: str
    kind: str
    address_key: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


async def list_deliveries(*, status: str | None = None, limit: int = 100) -> list[OutboxRow]:
    """Recent deliveries, newest first, optionally of one status."""
    query = Delivery.all() if status is None else Delivery.filter(status=status)
    rows = await query.order_by("-id").limit(limit)
    return [OutboxRow(r.id, r.platform, r.kind, r.address_key, r.status, r.attempts, r.last_error, r.created_at)
            for r in rows]
