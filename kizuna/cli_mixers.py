"""``kizuna mixer run-due [--now T]``: form and announce the mixer rounds that are due, deliver, exit."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from core import outbox
from core.config import Settings
from core.mixers import scheduler
from core.models import Delivery
from kizuna.cli_meetings import _parse_now, _passes, delivery_adapters


def cmd_mixer_run_due(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """One mixer pass (at ``--now``, without a zone in each workspace's own), then the outbox drained."""
    from kizuna.cli import run_with_database
    from kizuna.worker import OutboxWorker

    now = _parse_now(args.now)

    async def body() -> int:
        failed = 0
        for moment, workspace_ids in await _passes(now):
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


def add_cli(subparsers: Any) -> None:
    """``kizuna mixer …``."""
    mixer = subparsers.add_parser("mixer", help="shuffle-lunch mixers")
    mixer_sub = mixer.add_subparsers(dest="mixer_command", required=True)
    run_due = mixer_sub.add_parser("run-due", help="form and announce the rounds that are due, deliver, exit")
    run_due.add_argument("--now", help="pretend it is this time (ISO 8601; without a zone, the workspace's)")
    run_due.set_defaults(handler=cmd_mixer_run_due)
