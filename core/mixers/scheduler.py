"""The mixer pass: every mixer whose next round is due has its groups formed and announced, once.

The same claim as the reminder scheduler (``core.meetings.scheduler``): due rows are read through
the ``next_round_at`` index (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), and in one transaction a
conditional update on ``schedule_version`` claims the mixer, the round is stored (unique per mixer
and occurrence) and its announcements written to the outbox with dedupe keys. A racing pass
changes nothing; a crash before the commit leaves the mixer due for the next pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core import outage
from core.meetings.recurrence import parse_local, zone
from core.mixers.models import Mixer, MixerRound
from core.mixers.service import _plan_next, form_round, queue_day_reminder

log = logging.getLogger("kizuna.mixers.scheduler")
DEFAULT_BATCH = 50
DEFAULT_INTERVAL = 30.0
# A day's reminder found this long after its round started (downtime) is not sent.
REMINDER_TOO_LATE = timedelta(hours=2)


@dataclass
class MixerPassResult:
    """What one pass did: the rounds formed (ids) and the rounds dropped because they had started."""

    now: datetime
    formed: list[int] = field(default_factory=list)
    missed: int = 0
    reminded: list[int] = field(default_factory=list)


class _LostRace(Exception):
    pass


async def run_due(now: datetime | None = None, *, batch: int = DEFAULT_BATCH,
                  workspace_ids: Collection[int] | None = None) -> MixerPassResult:
    """Form and announce every round due by ``now`` (default: the clock); ``workspace_ids`` limits
    the pass to those workspaces' mixers."""
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    result = MixerPassResult(moment)
    for _ in range(100):
        async with in_transaction() as conn:
            query = Mixer.filter(next_round_at__lte=moment)
            if workspace_ids is not None:
                query = query.filter(workspace_id__in=list(workspace_ids))
            query = query.order_by("next_round_at", "id").limit(batch)
            if conn.capabilities.support_for_update:
                query = query.select_for_update(skip_locked=True)
            due = await query
            for mixer in due:
                try:
                    async with in_transaction():
                        await _handle(mixer, moment, result)
                except _LostRace:
                    log.debug("mixer %s: another pass changed it first", mixer.id)
        if len(due) < batch:
            break
    await _remind(moment, batch, result)
    return result


async def _remind(moment: datetime, batch: int, result: MixerPassResult) -> None:
    """The day's reminders that are due: each claimed by clearing ``reminder_at`` where it still
    holds the value read, so it is queued once. One found after its round ended is not sent."""
    for _ in range(100):
        async with in_transaction() as conn:
            query = MixerRound.filter(reminder_at__lte=moment).order_by("reminder_at", "id").limit(batch)
            if conn.capabilities.support_for_update:
                query = query.select_for_update(skip_locked=True)
            due = await query
            for round_ in due:
                async with in_transaction():
                    claimed = await MixerRound.filter(id=round_.id, reminder_at=round_.reminder_at).update(
                        reminder_at=None)
                    if not claimed:
                        continue
                    if moment >= round_.starts_at + REMINDER_TOO_LATE:
                        log.warning("mixer round %s: the day's reminder not sent, the round is over", round_.id)
                        continue
                    await queue_day_reminder(round_)
                    result.reminded.append(round_.id)
        if len(due) < batch:
            return


async def _handle(mixer: Mixer, moment: datetime, result: MixerPassResult) -> None:
    occurrence = mixer.next_round_occurrence
    version = mixer.schedule_version
    _plan_next(mixer, occurrence, moment)
    changed = await Mixer.filter(id=mixer.id, schedule_version=version).update(
        next_round_at=mixer.next_round_at, next_round_occurrence=mixer.next_round_occurrence,
        schedule_version=F("schedule_version") + 1)
    if not changed:
        raise _LostRace()
    if occurrence is None:
        return
    starts_at = parse_local(occurrence).replace(tzinfo=zone(mixer.timezone)).astimezone(UTC)
    if starts_at <= moment:
        # Down through the whole announcement window: a lunch that has begun is not announced.
        log.warning("mixer %s round %s not formed: it had started", mixer.id, occurrence)
        result.missed += 1
        return
    formed = await form_round(mixer, occurrence, starts_at)
    if formed is not None:
        result.formed.append(formed.id)


async def run_forever(interval: float = DEFAULT_INTERVAL) -> None:
    """A mixer pass every ``interval`` seconds until cancelled; a failing pass is logged, never fatal."""
    while True:
        try:
            result = await run_due()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await outage.report(log, error, "mixer pass failed")
        else:
            if result.formed:
                log.info("mixers: %d rounds formed", len(result.formed))
        await asyncio.sleep(interval)
