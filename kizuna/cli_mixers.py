"""``kizuna mixer run-due [--now T]``: form and announce the mixer rounds that are due, deliver, exit."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from core import outbox
from core.config import Settings
from core.mixers import scheduler
from core.mixers.models import Mixer
from core.models import Delivery
from kizuna.cli_meetings import _parse_now, _passes, delivery_adapters


def cmd_mixer_run_due(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """One mixer pass (at ``--now``, without a zone in each workspace's own), then the outbox drained."""
    from kizuna.cli import run_with_database
    from kizuna.worker import OutboxWorker

    now = _parse_now(args.now)

    async def body() -> int:
        passes = await _passes(now)
        clock = datetime.now(UTC)
        if not args.force and any(moment is not None and moment > clock for moment, _ in passes):
            return await _dry_run(passes, out)
        failed = 0
        for moment, workspace_ids in passes:
            result = await scheduler.run_due(moment or datetime.now(UTC), workspace_ids=workspace_ids)
            adapters = delivery_adapters(settings, out)
            worker = OutboxWorker.from_settings(adapters, settings)
            for adapter in adapters:
                await adapter.start()
            try:
                await worker.drain()
            finally:
                for adapter in adapters:
                    await adapter.close()
            failed += await Delivery.filter(kind__startswith="mixer", status=outbox.FAILED).count()
            print(f"mixers at {result.now.isoformat()}: {len(result.formed)} rounds formed, "
                  f"{len(result.reminded)} day reminders, {result.missed} missed (already started)", file=out)
        return 1 if failed else 0

    return run_with_database(settings, body)


async def _dry_run(passes: list[tuple[datetime | None, list[int] | None]], out: TextIO) -> int:
    """What a pass at a future ``--now`` would form, changing nothing (a real one would announce early)."""
    for moment, workspace_ids in passes:
        assert moment is not None
        query = Mixer.filter(next_round_at__lte=moment)
        if workspace_ids is not None:
            query = query.filter(workspace_id__in=workspace_ids)
        due = await query.order_by("next_round_at", "id")
        print(f"dry run at {moment.isoformat()} (a future --now changes nothing; add --force to run it): "
              f"{len(due)} rounds would be formed", file=out)
        for mixer in due:
            print(f"  mixer #{mixer.id} {mixer.name}: round {mixer.next_round_occurrence}", file=out)
    return 0


def add_cli(subparsers: Any) -> None:
    """``kizuna mixer …``."""
    mixer = subparsers.add_parser("mixer", help="shuffle-lunch mixers")
    mixer_sub = mixer.add_subparsers(dest="mixer_command", required=True)
    run_due = mixer_sub.add_parser("run-due", help="form and announce the rounds that are due, deliver, exit")
    run_due.add_argument("--now", help="pretend it is this time (ISO 8601; without a zone, the workspace's)")
    run_due.add_argument("--force", action="store_true",
                         help="run a pass at a future --now for real (otherwise it is a dry run)")
    run_due.set_defaults(handler=cmd_mixer_run_due)
