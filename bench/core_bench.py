"""Core benchmark: give_thanks throughput (SQLite file in WAL, and PostgreSQL), and leaderboard /
department-matrix / digest latency over 1,000,000 thanks among 5,000 members in 30 departments.

    make bench                      # everything
    .venv/bin/python -m bench core  # just this
Environment: KIZUNA_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; skipped if
unreachable), KIZUNA_BENCH_THANKS (default 1000000), KIZUNA_BENCH_GIVE (default 3000).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import Tortoise, connections

from core import db
from core.models import Department, Member, Workspace
from core.services.digest import build_digest
from core.services.members import ensure_member
from core.services.stats import Direction, Period, department_matrix, leaderboard
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
MEMBERS = 5000
DEPARTMENTS = 30


async def give_throughput(url: str, label: str, total: int, concurrency: int = 8) -> None:
    await db.init_db(url)
    await db.apply_migrations()
    workspace = await ensure_workspace("bench", f"give-{time.time_ns()}")
    workspace.daily_limit = 1_000_000
    await workspace.save()
    members = [await ensure_member(workspace, f"m{i}", display_name=f"Member {i}") for i in range(200)]
    rng = random.Random(1)
    queue = list(range(total))

    async def worker() -> None:
        while queue:
            n = queue.pop()
            sender, *recipients = rng.sample(members, 1 + rng.choice((1, 1, 1, 2, 3)))
            await give_thanks(workspace, sender, recipients, f"thanks for #{n}", ["teamwork"],
                              idempotency_key=f"evt-{n}")

    for _ in range(50):  # warm-up
        await give_thanks(workspace, members[0], [members[1]], "warm up")
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    print(f"give_thanks {label}: {total} thanks in {elapsed:.2f} s = {total / elapsed:,.0f} thanks/s "
          f"(concurrency {concurrency}, 1–3 recipients, 1 value, idempotency key)", flush=True)
    await db.close_db()


def seed_sqlite(path: Path, workspace_id: int, member_ids: list[int], dept_of: dict[int, int], total: int) -> None:
    """Bulk-load ``total`` thanks (one recipient each) spread over the last 365 days, with rollups."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    batch_t, batch_r = [], []
    for n, sender, recipient, created in fake_thanks(total, member_ids):
        stamp = created.isoformat(sep=" ")
        batch_t.append((n, workspace_id, sender, "bench thanks", stamp, created.date().isoformat()))
        batch_r.append((n, recipient, 0, workspace_id, sender, stamp, dept_of[sender], dept_of[recipient]))
        if len(batch_t) == 50_000 or n == total:
            conn.executemany("INSERT INTO thanks (id, workspace_id, sender_id, message, created_at, local_day, "
                             "clap_count) VALUES (?, ?, ?, ?, ?, ?, 0)", batch_t)
            conn.executemany("INSERT INTO thanks_recipient (thanks_id, recipient_id, position, workspace_id, "
                             "sender_id, created_at, sender_department_id, recipient_department_id, sender_name, "
                             "recipient_name) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '')", batch_r)
            batch_t, batch_r = [], []
    conn.execute("INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, "
                 "count) SELECT workspace_id, substr(created_at, 1, 10), sender_department_id, "
                 "recipient_department_id, count(*) FROM thanks_recipient GROUP BY 1, 2, 3, 4")
    conn.execute("CREATE TEMP TABLE rc (id INTEGER PRIMARY KEY, n INTEGER)")
    conn.execute("INSERT INTO rc SELECT recipient_id, count(*) FROM thanks_recipient GROUP BY recipient_id")
    conn.execute("CREATE TEMP TABLE sc (id INTEGER PRIMARY KEY, n INTEGER)")
    conn.execute("INSERT INTO sc SELECT sender_id, count(*) FROM thanks GROUP BY sender_id")
    conn.execute("UPDATE member SET received_count = coalesce((SELECT n FROM rc WHERE rc.id = member.id), 0), "
                 "sent_count = coalesce((SELECT n FROM sc WHERE sc.id = member.id), 0)")
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def fake_thanks(total: int, member_ids: list[int]):  # type: ignore[no-untyped-def]
    """(id, sender, recipient, created) for ``total`` thanks spread over the last 365 days."""
    rng = random.Random(7)
    start = NOW - timedelta(days=365)
    for n in range(1, total + 1):
        sender = rng.choice(member_ids)
        recipient = rng.choice(member_ids)
        while recipient == sender:
            recipient = rng.choice(member_ids)
        yield n, sender, recipient, start + timedelta(seconds=rng.randrange(365 * 86400))


async def prepare_stats_workspace(url: str) -> tuple[Workspace, list[Department], dict[int, int]]:
    """A migrated database with one workspace, its departments and members; ``{member id: department id}``."""
    await db.init_db(url)
    await db.apply_migrations()
    workspace = await ensure_workspace("bench", "stats")
    departments = [await Department.create(workspace=workspace, name=f"Dept {i:02d}") for i in range(DEPARTMENTS)]
    await Member.bulk_create([Member(workspace=workspace, platform_user_id=f"u{i}", display_name=f"User {i}",
                                     department_id=departments[i % DEPARTMENTS].id) for i in range(MEMBERS)])
    rows = await Member.filter(workspace_id=workspace.id).values_list("id", "department_id")
    await db.close_db()
    return workspace, departments, {int(m): int(d) for m, d in rows}


async def statistics_latency_postgres(base_url: str, total: int) -> None:
    """The same statistics on PostgreSQL, in a database of its own (created and dropped here)."""
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    name = f"kizuna_bench_{os.getpid()}"
    admin = await asyncpg.connect(base_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    try:
        workspace, departments, dept_of = await prepare_stats_workspace(url)
        started = time.perf_counter()
        conn = await asyncpg.connect(url)
        thanks, recipients = [], []
        for n, sender, recipient, created in fake_thanks(total, list(dept_of)):
            thanks.append((n, workspace.id, sender, "bench thanks", created, created.date(), 0))
            recipients.append((n, recipient, 0, workspace.id, sender, created, dept_of[sender], dept_of[recipient]))
        await conn.copy_records_to_table("thanks", records=thanks, columns=[
            "id", "workspace_id", "sender_id", "message", "created_at", "local_day", "clap_count"])
        await conn.copy_records_to_table("thanks_recipient", records=recipients, columns=[
            "thanks_id", "recipient_id", "position", "workspace_id", "sender_id", "created_at",
            "sender_department_id", "recipient_department_id"])
        await conn.execute(
            "INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count) "
            "SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date, sender_department_id, "
            "recipient_department_id, count(*) FROM thanks_recipient GROUP BY 1, 2, 3, 4")
        await conn.execute("UPDATE member m SET received_count = r.n FROM (SELECT recipient_id, count(*) n "
                           "FROM thanks_recipient GROUP BY 1) r WHERE r.recipient_id = m.id")
        await conn.execute("UPDATE member m SET sent_count = s.n FROM (SELECT sender_id, count(*) n "
                           "FROM thanks GROUP BY 1) s WHERE s.sender_id = m.id")
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
        print(f"seeded {total:,} thanks on PostgreSQL in {time.perf_counter() - started:.0f} s", flush=True)
        await db.init_db(url)
        await measure_statistics(f"statistics over {total:,} thanks (PostgreSQL):", departments[3])
        await db.close_db()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def measure_statistics(title: str, sales: Department) -> None:
    workspace = await Workspace.get(external_id="stats")
    print(title)
    for period in (Period.WEEK, Period.MONTH, Period.ALL):
        await timed(f"leaderboard received {period.value}", lambda p=period: leaderboard(workspace, p, now=NOW))
        await timed(f"leaderboard sent {period.value}",
                    lambda p=period: leaderboard(workspace, p, Direction.SENT, now=NOW))
    await timed("leaderboard received month, one department",
                lambda: leaderboard(workspace, Period.MONTH, department=sales, now=NOW))
    for period in (Period.MONTH, Period.ALL):
        await timed(f"department matrix {period.value}", lambda p=period: department_matrix(workspace, p, now=NOW))
    for period in (Period.WEEK, Period.MONTH):
        await timed(f"digest {period.value}", lambda p=period: build_digest(workspace, p, now=NOW))


async def timed(label: str, call, repeat: int = 15) -> None:  # type: ignore[no-untyped-def]
    await call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    print(f"  {label:<44} p50 {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms", flush=True)


async def statistics_latency(total: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="kizuna-bench-"))
    path = folder / "stats.sqlite3"
    url = f"sqlite://{path}"
    workspace, departments, dept_of = await prepare_stats_workspace(url)
    start = time.perf_counter()
    seed_sqlite(path, workspace.id, list(dept_of), dept_of, total)
    print(f"seeded {total:,} thanks among {MEMBERS:,} members in {DEPARTMENTS} departments "
          f"in {time.perf_counter() - start:.0f} s (SQLite file {path.stat().st_size / 1e6:.0f} MB)", flush=True)
    await db.init_db(url)
    await measure_statistics(f"statistics over {total:,} thanks (SQLite, WAL):", departments[3])
    await db.close_db()


async def postgres_reachable(url: str) -> bool:
    try:
        await db.init_db(url)
        ok = await db.ping()
    except Exception:
        return False
    finally:
        await connections.close_all()
        await Tortoise._reset_apps() if hasattr(Tortoise, "_reset_apps") else None
    return ok


def in_own_process(code: str) -> None:
    """Each database in its own process: tortoise keeps one SQL dialect per process."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


async def amain() -> None:
    give = int(os.environ.get("KIZUNA_BENCH_GIVE", "3000"))
    folder = Path(tempfile.mkdtemp(prefix="kizuna-bench-"))
    run = "import asyncio, bench.core_bench as b; asyncio.run(b.give_throughput({url!r}, {label!r}, {n}, {c}))"
    in_own_process(run.format(url=f"sqlite://{folder}/give.sqlite3", label="SQLite file (WAL)", n=give, c=8))
    pg = os.environ.get("KIZUNA_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    if await postgres_reachable(pg):
        in_own_process(run.format(url=pg, label="PostgreSQL", n=give, c=16))
    else:
        print(f"give_thanks PostgreSQL: skipped ({pg} unreachable)")
    total = int(os.environ.get("KIZUNA_BENCH_THANKS", "1000000"))
    in_own_process(f"import asyncio, bench.core_bench as b; asyncio.run(b.statistics_latency({total}))")
    if await postgres_reachable(pg):
        in_own_process("import asyncio, bench.core_bench as b; "
                       f"asyncio.run(b.statistics_latency_postgres({pg!r}, {total}))")


def main() -> None:
    asyncio.run(amain())

