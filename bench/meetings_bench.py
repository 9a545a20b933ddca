"""Meetings benchmark: scheduler passes over 10,000 meetings, and 100 due reminders delivered to a fake API.

    .venv/bin/python -m bench meetings
Environment: KIZUNA_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; skipped if
unreachable), KIZUNA_BENCH_MEETINGS (default 10000), KIZUNA_BENCH_DUE (default 100).
Targets: a pass with nothing due < 20 ms; 100 due reminders delivered within 5 s.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tortoise import connections

from core import db
from core.meetings.models import Meeting
from core.meetings.recurrence import local_key, start_of_time, to_local, zone
from core.meetings.scheduler import run_due
from core.meetings.service import plan_next_prompt, plan_next_reminder
from core.models import Delivery
from core.services.workspaces import ensure_workspace
from kizuna.loopback import FakeApi, HttpAdapter
from kizuna.worker import OutboxWorker

T0 = datetime(2030, 6, 3, 0, 0, tzinfo=UTC)  # when the due reminders are due
TZ = "Asia/Tokyo"


async def seed(total: int, due: int) -> None:
    """``total`` weekly meetings; ``due`` of them have their 1-day reminder at T0, the rest later."""
    workspace = await ensure_workspace("bench", f"meetings-{uuid.uuid4().hex[:8]}", default_locale="en")
    tz = zone(TZ)
    rows = []
    for i in range(total):
        # Due ones start one day after T0; the others are spread over the following four weeks.
        starts = T0 + timedelta(days=1) if i < due else T0 + timedelta(days=1, minutes=10 + (i * 37) % 40000)
        local = to_local(starts, tz).replace(second=0)
        weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[local.weekday()]
        meeting = Meeting(workspace_id=workspace.id, title=f"Sync {i}", start_local=local_key(local), timezone=TZ,
                          rrule=f"FREQ=WEEKLY;BYDAY={weekday}", channel=f"ch{i % 50}", reminder_offsets=[1440, 15],
                          departments=["Sales", "Engineering"], status="active")
        plan_next_reminder(meeting, {}, start_of_time(T0 - timedelta(hours=1)))
        plan_next_prompt(meeting, {}, T0 - timedelta(hours=1))  # and the prompt after each one
        rows.append(meeting)
    for chunk in range(0, total, 1000):
        await Meeting.bulk_create(rows[chunk:chunk + 1000])


async def bench_backend(url: str, label: str, total: int, due: int) -> None:
    await db.init_db(url)
    try:
        await db.apply_migrations()
        await Delivery.all().delete()
        await Meeting.all().delete()
        started = time.perf_counter()
        await seed(total, due)
        print(f"[{label}] seeded {total:,} meetings in {time.perf_counter() - started:.1f} s", flush=True)
        if "sqlite" in url:
            plan = await connections.get("default").execute_query_dict(
                "EXPLAIN QUERY PLAN SELECT * FROM meeting WHERE next_reminder_at <= ? "
                "ORDER BY next_reminder_at LIMIT 200", [T0.isoformat()])
            print(f"[{label}] due query plan: {'; '.join(str(r.get('detail')) for r in plan)}")

        idle = []
        for _ in range(5):  # warm-up
            await run_due(T0 - timedelta(minutes=1))
        for i in range(50):
            moment = T0 - timedelta(minutes=1, seconds=i)
            started = time.perf_counter()
            result = await run_due(moment)
            idle.append((time.perf_counter() - started) * 1000)
            assert result.sent == 0
        idle.sort()
        print(f"[{label}] scheduler pass, nothing due, {total:,} meetings: median {statistics.median(idle):.2f} ms, "
              f"p95 {idle[int(len(idle) * 0.95)]:.2f} ms, max {idle[-1]:.2f} ms (target < 20 ms)", flush=True)

        async with FakeApi(record=False) as api:  # counts the POSTs; keeping their bodies is not measured
            adapter = HttpAdapter(api.url, platform="bench")
            await adapter.start()
            try:
                started = time.perf_counter()
                result = await run_due(T0 + timedelta(seconds=1))
                scheduled = time.perf_counter() - started
                await OutboxWorker([adapter], worker_id="bench").drain()
                elapsed = time.perf_counter() - started
            finally:
                await adapter.close()
        delivered = await Delivery.filter(status="delivered").count()
        print(f"[{label}] {result.sent} reminders due: scheduler pass {scheduled * 1000:.0f} ms, all {delivered} "
              f"delivered to the fake API ({api.count} POSTs) in {elapsed:.2f} s (target < 5 s)", flush=True)
        assert result.sent == due and delivered == due and api.count == due
    finally:
        await db.close_db()


async def postgres_url() -> str | None:
    import asyncpg

    base = os.environ.get("KIZUNA_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    try:
        admin = await asyncpg.connect(base, timeout=2)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return None
    name = f"kizuna_bench_meetings_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


async def drop_postgres(url: str) -> None:
    import asyncpg

    base = os.environ.get("KIZUNA_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    admin = await asyncpg.connect(base)
    await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
    await admin.close()


def run_in_child(url: str, label: str) -> None:
    """Each backend in its own process: tortoise caches per-dialect SQL on the model classes."""
    subprocess.run([sys.executable, "-m", "bench.meetings_bench", url, label], check=True,
                   cwd=Path(__file__).parents[1])


async def child(url: str, label: str) -> None:
    total = int(os.environ.get("KIZUNA_BENCH_MEETINGS", "10000"))
    due = int(os.environ.get("KIZUNA_BENCH_DUE", "100"))
    await bench_backend(url, label, total, due)


def main() -> None:
    """Entry point of ``python -m bench meetings``: SQLite (a WAL file), then PostgreSQL if reachable."""
    with tempfile.TemporaryDirectory() as tmp:
        run_in_child(f"sqlite://{Path(tmp) / 'meetings.sqlite3'}", "sqlite")
    url = asyncio.run(postgres_url())
    if url is None:
        print("[postgres] skipped: KIZUNA_BENCH_POSTGRES_URL unreachable")
        return
    try:
        run_in_child(url, "postgres")
    finally:
        asyncio.run(drop_postgres(url))


if __name__ == "__main__":
    if len(sys.argv) == 3:
        asyncio.run(child(sys.argv[1], sys.argv[2]))
    else:
        main()
