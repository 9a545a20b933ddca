"""Digest benchmark: building a workspace's weekly and monthly digest over 1,000,000 thanks (SQLite file in
WAL, and PostgreSQL), and a digest scheduler pass with nothing due over 10,000 workspaces.

    .venv/bin/python -m bench digest
Targets: a weekly digest in under 300 ms on both databases; a pass with nothing due in under 20 ms.
Environment: KIZUNA_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; skipped if
unreachable), KIZUNA_BENCH_THANKS (default 1000000), KIZUNA_BENCH_DIGEST_DB (a SQLite file seeded by an earlier
run, kept and reused: for comparing two versions of the code on the same data).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.core_bench import NOW, fake_thanks, in_own_process, postgres_reachable, prepare_stats_workspace, seed_sqlite
from core import db
from core.models import Workspace
from core.services.digest import build_digest
from core.services.stats import Period

WEEKLY_TARGET_MS = 300.0
PASS_TARGET_MS = 20.0
WORKSPACES = 10_000


async def timed(label: str, call: Callable[[], Awaitable[Any]], repeat: int = 15) -> float:
    """The median of ``repeat`` runs after one warm-up, printed; in milliseconds."""
    await call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    p50 = statistics.median(samples)
    print(f"  {label:<44} p50 {p50:7.1f} ms   max {max(samples):7.1f} ms", flush=True)
    return p50


async def measure_digest(url: str, title: str) -> float:
    await db.init_db(url)
    try:
        workspace = await Workspace.get(external_id="stats")
        print(title, flush=True)
        week = await timed("digest week", lambda: build_digest(workspace, Period.WEEK, now=NOW))
        await timed("digest month", lambda: build_digest(workspace, Period.MONTH, now=NOW))
        return week
    finally:
        await db.close_db()


async def digest_sqlite(total: int, kept: str | None) -> None:
    path = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="kizuna-bench-")) / "digest.sqlite3"
    url = f"sqlite://{path}"
    if not path.exists():
        workspace, _departments, dept_of = await prepare_stats_workspace(url)
        start = time.perf_counter()
        seed_sqlite(path, workspace.id, list(dept_of), dept_of, total)
        print(f"seeded {total:,} thanks in {time.perf_counter() - start:.0f} s ({path})", flush=True)
    else:
        await db.init_db(url)
        await db.apply_migrations()  # a file seeded by an older version gains today's columns
        await db.close_db()
    week = await measure_digest(url, f"digest over {total:,} thanks (SQLite, WAL):")
    print(f"  weekly digest target {WEEKLY_TARGET_MS:.0f} ms: {'met' if week < WEEKLY_TARGET_MS else 'MISSED'}")


async def digest_postgres(base_url: str, total: int) -> None:
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    name = f"kizuna_bench_digest_{os.getpid()}"
    admin = await asyncpg.connect(base_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    try:
        workspace, _departments, dept_of = await prepare_stats_workspace(url)
        started = time.perf_counter()
        conn = await asyncpg.connect(url)
        thanks, recipients = [], []
        for n, sender, recipient, created in fake_thanks(total, list(dept_of)):
            thanks.append((n, workspace.id, sender, "bench thanks", created, created.date(), 0))
            recipients.append((n, recipient, 0, workspace.id, sender, created, dept_of[sender], dept_of[recipient],
                               "", ""))
        await conn.copy_records_to_table("thanks", records=thanks, columns=[
            "id", "workspace_id", "sender_id", "message", "created_at", "local_day", "clap_count"])
        await conn.copy_records_to_table("thanks_recipient", records=recipients, columns=[
            "thanks_id", "recipient_id", "position", "workspace_id", "sender_id", "created_at",
            "sender_department_id", "recipient_department_id", "sender_name", "recipient_name"])
        await conn.execute(
            "INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count) "
            "SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date, sender_department_id, "
            "recipient_department_id, count(*) FROM thanks_recipient GROUP BY 1, 2, 3, 4")
        await conn.execute("SELECT setval(pg_get_serial_sequence('thanks', 'id'), max(id)) FROM thanks")
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
        print(f"seeded {total:,} thanks on PostgreSQL in {time.perf_counter() - started:.0f} s", flush=True)
        week = await measure_digest(url, f"digest over {total:,} thanks (PostgreSQL):")
        print(f"  weekly digest target {WEEKLY_TARGET_MS:.0f} ms: {'met' if week < WEEKLY_TARGET_MS else 'MISSED'}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def scheduler_pass(url: str, label: str, workspaces: int = WORKSPACES) -> None:
    """A pass over ``workspaces`` workspaces, every digest planned for later, a tenth of them off, a tenth with
    recaps planned: nothing is due, so the pass must cost index probes only."""
    from core import digest_scheduler

    await db.init_db(url)
    await db.apply_migrations()
    try:
        rows = []
        for i in range(workspaces):
            off = i % 10 == 0
            rows.append(Workspace(platform="bench", external_id=f"pass-{time.time_ns()}-{i}", name=f"w{i}",
                                  digest_schedule="off" if off else "weekly",
                                  next_digest_at=None if off else NOW + timedelta(days=1 + i % 7, minutes=i % 60),
                                  next_recap_at=NOW + timedelta(days=5) if i % 10 == 1 else None))
        await Workspace.bulk_create(rows, batch_size=1000)
        result = await digest_scheduler.run_due(NOW)
        assert result.sent == 0 and result.planned == 0, result
        print(f"digest scheduler pass, nothing due, {workspaces:,} workspaces ({label}):", flush=True)
        p50 = await timed("pass", lambda: digest_scheduler.run_due(NOW), repeat=50)
        print(f"  pass target {PASS_TARGET_MS:.0f} ms: {'met' if p50 < PASS_TARGET_MS else 'MISSED'}")
    finally:
        await Workspace.filter(platform="bench", external_id__startswith="pass-").delete()
        await db.close_db()


async def scheduler_pass_postgres(base_url: str) -> None:
    """The pass on PostgreSQL, in a database of its own (created and dropped here)."""
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    name = f"kizuna_bench_pass_{os.getpid()}"
    admin = await asyncpg.connect(base_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await scheduler_pass(urlunsplit(urlsplit(base_url)._replace(path=f"/{name}")), "PostgreSQL")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def amain() -> None:
    total = int(os.environ.get("KIZUNA_BENCH_THANKS", "1000000"))
    kept = os.environ.get("KIZUNA_BENCH_DIGEST_DB")
    in_own_process(f"import asyncio, bench.digest_bench as b; asyncio.run(b.digest_sqlite({total}, {kept!r}))")
    folder = Path(tempfile.mkdtemp(prefix="kizuna-bench-"))
    in_own_process("import asyncio, bench.digest_bench as b; "
                   f"asyncio.run(b.scheduler_pass({f'sqlite://{folder}/pass.sqlite3'!r}, 'SQLite, WAL'))")
    pg = os.environ.get("KIZUNA_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    if await postgres_reachable(pg):
        in_own_process(f"import asyncio, bench.digest_bench as b; asyncio.run(b.digest_postgres({pg!r}, {total}))")
        in_own_process(f"import asyncio, bench.digest_bench as b; asyncio.run(b.scheduler_pass_postgres({pg!r}))")
    else:
        print(f"PostgreSQL: skipped ({pg} unreachable)")


def main() -> None:
    asyncio.run(amain())
