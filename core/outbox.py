"""The delivery outbox: messages Kizuna sends on its own are written first, then delivered with retries.

A row is claimed with a lease before it is sent, so several processes never send it twice and a
crashed worker's claim is retaken when the lease runs out. On PostgreSQL the claim is
``SELECT … FOR UPDATE SKIP LOCKED``; on SQLite an atomic conditional ``UPDATE``.

A crash between a platform accepting a message and the row being marked delivered means the
message is sent again by whoever retakes the claim. Each delivery therefore carries an
``idempotency_key`` (the same on every attempt and in every process) for platforms that
de-duplicate by key, and the lease is short enough that a retaken claim is re-sent inside their
de-duplication window (see ``DEDUPE_WINDOW`` and docs/design.md, "The outbox").
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.models import Delivery, Workspace

log = logging.getLogger("kizuna.outbox")

PENDING, DELIVERED, FAILED, DROPPED = "pending", "delivered", "failed", "dropped"
MAX_ATTEMPTS = 8
BASE_BACKOFF = 2.0
MAX_BACKOFF = 900.0
# How long a platform that de-duplicates by key is assumed to remember one: Discord's nonce holds
# "for a few minutes" (undocumented beyond that), so two minutes is the cautious reading.
DEDUPE_WINDOW = timedelta(minutes=2)
# A crashed worker's claim is retaken when its lease ends, and its message sent again then: at
# most a lease (plus a poll) after the first attempt, half the window above.
DEFAULT_LEASE = timedelta(seconds=60)
MAX_LEASE = DEDUPE_WINDOW / 2
# A delivery attempt that takes longer is abandoned (and retried later), well inside the lease, so
# no other worker can retake a row while it is still being sent.
DELIVERY_TIMEOUT = 30.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def idempotency_key(delivery: Delivery) -> str:
    """A key naming this delivery: the same on every attempt, in every process, and 24 characters long
    (Discord's nonce takes at most 25). The creation time is mixed in so that two installations that
    share a bot, or a database made again from scratch, never reuse one within a platform's window."""
    created = delivery.created_at if delivery.created_at.tzinfo else delivery.created_at.replace(tzinfo=UTC)
    micros = (created - _EPOCH) // timedelta(microseconds=1)
    digest = hashlib.blake2b(f"{delivery.id}:{micros}:{delivery.dedupe_key or ''}".encode(), digest_size=11)
    return "kz" + digest.hexdigest()


def _claimable(now: datetime) -> Q:
    return Q(status=PENDING, next_attempt_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


async def claim_due(worker_id: str, *, limit: int = 50, now: datetime | None = None,
                    lease: timedelta = DEFAULT_LEASE, platforms: Collection[str] | None = None) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries for ``worker_id`` until ``now + lease``.

    ``platforms``: only deliveries for these (the ones the worker has an adapter for); the others
    stay pending, untouched, for a process that can send them. A row whose previous claim ran out
    without a result (its worker crashed, or hung past its lease) is retaken like any other, and
    logged: its message may already have reached the platform.
    """
    moment = now or _now()
    until = moment + lease
    claimed: list[int] = []
    due = _claimable(moment) if platforms is None else _claimable(moment) & Q(platform__in=list(platforms))
    abandoned: list[tuple[int, datetime, str | None]] = []
    async with in_transaction() as conn:
        if conn.capabilities.support_for_update:
            rows = await Delivery.filter(due).order_by("next_attempt_at", "id").limit(limit) \
                .select_for_update(skip_locked=True)
            claimed = [row.id for row in rows]
            abandoned = [(row.id, row.claimed_until, row.claimed_by) for row in rows if row.claimed_until]
            if claimed:
                await Delivery.filter(id__in=claimed).update(claimed_until=until, claimed_by=worker_id)
        else:
            candidates = await Delivery.filter(due).order_by("next_attempt_at", "id") \
                .limit(limit).values_list("id", "claimed_until", "claimed_by")
            for delivery_id, previous_until, previous_by in candidates:
                # Conditional update: only one claimer sees "1 row changed".
                changed = await Delivery.filter(Q(id=delivery_id) & _claimable(moment)) \
                    .update(claimed_until=until, claimed_by=worker_id)
                if changed:
                    claimed.append(delivery_id)
                    if previous_until:
                        abandoned.append((delivery_id, previous_until, previous_by))
    for delivery_id, previous_until, previous_by in abandoned:
        _log_takeover(delivery_id, previous_until, previous_by, moment, lease)
    if not claimed:
        return []
    return await Delivery.filter(id__in=claimed).order_by("next_attempt_at", "id")


def _log_takeover(delivery_id: int, previous_until: datetime, previous_by: str | None, now: datetime,
                  lease: timedelta) -> None:
    # The previous attempt began about one lease before its claim ran out (leases are alike in one deployment).
    since = now - (previous_until - lease)
    late = since > DEDUPE_WINDOW
    log.warning("delivery %s: the claim of %s ran out %.0f s ago without a result (a crash?); sending it again, "
                "%.0f s after that attempt began%s", delivery_id, previous_by, (now - previous_until).total_seconds(),
                since.total_seconds(),
                ": later than platforms de-duplicate, so it may show twice" if late else "")


async def claimed_elsewhere(worker_id: str, *, now: datetime | None = None) -> list[tuple[int, datetime]]:
    """Due rows other workers hold a live claim on: ``(id, claimed_until)``, soonest to expire first."""
    moment = now or _now()
    rows = await Delivery.filter(status=PENDING, claimed_until__gte=moment).exclude(claimed_by=worker_id) \
        .order_by("claimed_until").values_list("id", "claimed_until")
    return [(int(delivery_id), until) for delivery_id, until in rows]


async def release(delivery: Delivery, worker_id: str) -> bool:
    """Give a claim back unsent (too little of the lease was left to send safely); no attempt is counted."""
    changed = await Delivery.filter(id=delivery.id, claimed_by=worker_id, status=PENDING).update(
        claimed_until=None, claimed_by=None)
    return bool(changed)


async def mark_delivered(delivery: Delivery, worker_id: str) -> bool:
    """Record success (only if this worker still holds the claim).

    One ``UPDATE`` in its own implicit transaction, called the moment the platform said yes: until
    it commits, a crash makes the message go out again (see the README on duplicates)."""
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
