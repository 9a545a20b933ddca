"""``kizuna digest schedule|run-due``: how often the digest is posted, and one pass that posts what is due."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from core import digest_scheduler, outbox
from core.app import commands as c
from core.config import Settings
from core.models import Delivery
from kizuna.cli_admin import _leaf
from kizuna.cli_meetings import _parse_now, _passes, delivery_adapters


def cmd_digest_run_due(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """``kizuna digest run-due [--now ISO-8601]``: post the due digests and recaps, deliver them, exit.

    A ``--now`` in the future is refused unless ``--force``: it would post digests early and skip the real ones."""
    from kizuna.cli import CommandError, run_with_database
    from kizuna.worker import OutboxWorker

    now = _parse_now(args.now)

    async def body() -> int:
        passes = await _passes(now)
        if not args.force and any(moment is not None and moment > datetime.now(UTC) for moment, _ in passes):
            raise CommandError("cli.digest_future")
        any_failed = False
        adapters = delivery_adapters(settings, out)
        for moment, workspace_ids in passes:
            result = await digest_scheduler.run_due(moment, workspace_ids=workspace_ids)
            worker = OutboxWorker.from_settings(adapters, settings)
            for adapter in adapters:
                await adapter.start()
            try:
                await worker.drain()
            finally:
                for adapter in adapters:
                    await adapter.close()
            statuses = {d.id: d.status for d in await Delivery.filter(id__in=result.enqueued)} \
                if result.enqueued else {}
            delivered = sum(1 for s in statuses.values() if s == outbox.DELIVERED)
            waiting = sum(1 for s in statuses.values() if s == outbox.PENDING)
            failed = sum(1 for s in statuses.values() if s == outbox.FAILED)
            any_failed = any_failed or failed > 0
            print(f"digests at {result.now.isoformat()}: {result.sent - result.recaps} digests and {result.recaps} "
                  f"recaps enqueued ({result.late} late), {result.dropped} skipped; delivered {delivered}, "
                  f"will retry {waiting}, failed {failed}", file=out)
        return 1 if any_failed else 0

    return run_with_database(settings, body)


def add_digest_commands(digest_sub: Any) -> None:
    """``kizuna digest schedule`` and ``kizuna digest run-due`` (``preview`` is in ``kizuna.cli``)."""
    _leaf(digest_sub, "schedule", "how often the digest is posted: weekly (Mondays 09:00), monthly (the 1st, "
          "09:00) or off", lambda a: c.SetDigestSchedule(a.schedule),
          arguments=lambda p: p.add_argument("schedule", help="weekly, monthly or off"))
    run_due = digest_sub.add_parser("run-due", help="post the digests and recaps that are due, deliver them, exit")
    run_due.add_argument("--now", help="as if it were this time (ISO 8601; without a zone, each workspace's zone)")
    run_due.add_argument("--force", action="store_true", help="run a pass at a --now in the future for real")
    run_due.set_defaults(handler=cmd_digest_run_due)
