"""Dashboard benchmark: every insights query (p50 over 15 runs) at 1,000,000 thanks among 5,000 members in
30 departments (the dataset of ``bench/core_bench.py``), on SQLite and PostgreSQL, for an admin and for a
member (privacy threshold 3); and the page fully drawn in headless Chromium (SQLite, ``kizuna serve``).

    .venv/bin/python -m bench dashboard
Environment: KIZUNA_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test; skipped if
unreachable), KIZUNA_BENCH_THANKS (default 1000000), KIZUNA_BENCH_PERIODS (default month,quarter,year),
KIZUNA_BENCH_REPEAT (default 15). Target: p50 under 100 ms, the page under 2 s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import core_bench as core
from core import db
from core.dashboard import access, insights, warming
from core.models import Member, Workspace

TARGET_MS = 100.0
PERIODS = tuple(os.environ.get("KIZUNA_BENCH_PERIODS", "month,quarter,year").split(","))
REPEAT = int(os.environ.get("KIZUNA_BENCH_REPEAT", "15"))
PAGE_TARGET_S = 2.0
slow: list[str] = []


async def measure(title: str) -> None:
    workspace = await Workspace.get(external_id="stats")
    admin = await Member.filter(workspace_id=workspace.id).order_by("id").first()
    member = await Member.filter(workspace_id=workspace.id).order_by("-id").first()
    assert admin is not None and member is not None
    admin.is_admin = True
    print(title, flush=True)
    for who, person in (("admin", admin), ("member", member)):
        viewer = access.Viewer(workspace, person, "en", "")
        for period in PERIODS:
            window = insights.resolve_window(period, workspace.timezone, core.NOW)
            # "Now" is the dataset's: its month is still running (computed every time); the periods before
            # it have ended (stored by the first request, read back by the others).
            scope = insights.Scope(viewer, window, now=core.NOW)
            for name, figure in (("overview", insights.overview), ("heatmap", insights.heatmap),
                                 ("network", insights.network), ("trends", insights.trends),
                                 ("values", insights.values), ("bridges", insights.bridges),
                                 ("meetings", insights.meetings), ("leaderboard", insights.leaderboard)):
                if name == "bridges" and who == "member":
                    continue
                p50 = await timed(f"{who:<6} {period:<7} {name}", lambda f=figure, s=scope: f(s))
                if p50 > TARGET_MS:
                    slow.append(f"{title} {who} {period} {name} {p50:.0f} ms")
    await next_morning(workspace, admin)


async def next_morning(workspace: Workspace, admin: Member) -> None:
    """The first request of a new day (every panel the page draws, each period): the day that just ended is
    joined into each period's stored row. Once as the first reader finds it, once after the warming pass
    (``core.dashboard.warming``) has run for that day, which is what ``kizuna serve`` does after midnight."""
    viewer = access.Viewer(workspace, admin, "en", "")
    panels = (insights.overview, insights.heatmap, insights.network, insights.trends, insights.values,
              insights.bridges, insights.meetings, insights.leaderboard)
    for days, warmed in ((1, False), (2, True)):
        moment = core.NOW + timedelta(days=days)
        note = ""
        if warmed:
            start = time.perf_counter()
            await warming.warm(workspace, moment)
            note = f" (the pass itself: {(time.perf_counter() - start) * 1000:.0f} ms)"
        for period in PERIODS:
            scope = insights.Scope(viewer, insights.resolve_window(period, workspace.timezone, moment), now=moment)
            start = time.perf_counter()
            for panel in panels:
                await panel(scope)
            elapsed = (time.perf_counter() - start) * 1000
            print(f"  next morning, {'after the warming pass' if warmed else 'first reader':<22} {period:<7} "
                  f"every panel {elapsed:7.1f} ms{note}", flush=True)
            note = ""


async def timed(label: str, call, repeat: int = REPEAT) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    await call()
    first = (time.perf_counter() - start) * 1000
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50 = samples[len(samples) // 2]
    print(f"  {label:<32} p50 {p50:7.1f} ms   max {samples[-1]:7.1f} ms   first {first:7.1f} ms", flush=True)
    return p50


async def on_sqlite(total: int, folder: Path) -> Path:
    path = folder / "stats.sqlite3"
    workspace, _departments, dept_of = await core.prepare_stats_workspace(f"sqlite://{path}")
    start = time.perf_counter()
    core.seed_sqlite(path, workspace.id, list(dept_of), dept_of, total)
    print(f"seeded {total:,} thanks in {time.perf_counter() - start:.0f} s", flush=True)
    await db.init_db(f"sqlite://{path}")
    await measure(f"insights over {total:,} thanks (SQLite, WAL):")
    await db.close_db()
    report()
    return path


async def on_postgres(base_url: str, total: int) -> None:
    import asyncpg

    name = f"kizuna_dash_bench_{os.getpid()}"
    admin = await asyncpg.connect(base_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    try:
        workspace, _departments, dept_of = await core.prepare_stats_workspace(url)
        conn = await asyncpg.connect(url)
        thanks, recipients = [], []
        for n, sender, recipient, created in core.fake_thanks(total, list(dept_of)):
            thanks.append((n, workspace.id, sender, "bench thanks", created, created.date(), 0))
            recipients.append((n, recipient, 0, workspace.id, sender, created, dept_of[sender], dept_of[recipient],
                               "", ""))
        await conn.copy_records_to_table("thanks", records=thanks, columns=[
            "id", "workspace_id", "sender_id", "message", "created_at", "local_day", "clap_count"])
        await conn.copy_records_to_table("thanks_recipient", records=recipients, columns=[
            "thanks_id", "recipient_id", "position", "workspace_id", "sender_id", "created_at",
            "sender_department_id", "recipient_department_id", "sender_name", "recipient_name"])
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
        await db.init_db(url)
        await measure(f"insights over {total:,} thanks (PostgreSQL):")
        await db.close_db()
        report()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def report() -> None:
    if slow:
        print(f"over {TARGET_MS:.0f} ms: " + "; ".join(slow), flush=True)


async def a_link(url: str) -> str:
    await db.init_db(url)
    workspace = await Workspace.get(external_id="stats")
    member = await Member.filter(workspace_id=workspace.id).order_by("id").first()
    assert member is not None
    await Member.filter(id=member.id).update(is_admin=True)
    link = await access.issue_link(workspace, member, "en", "")
    await db.close_db()
    return link.url


def page_time(path: Path) -> None:
    """Sign in through a link and time /dashboard from navigation to every chart drawn (five runs)."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("page: skipped (Playwright is not installed)")
        return
    if chromium is None:
        print("page: skipped (no chromium)")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite://{path}"
    env = {**os.environ, "KIZUNA_DATABASE_URL": url, "KIZUNA_PORT": str(port), "KIZUNA_ADAPTERS": "console"}
    server = subprocess.Popen([sys.executable, "-m", "kizuna.cli", "--env-file", "/dev/null", "serve"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        link = base + asyncio.run(a_link(url))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(link)
            page.get_by_role("button").first.click()
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            samples = []
            for _ in range(5):
                start = time.perf_counter()
                page.goto(f"{base}/dashboard")
                page.wait_for_selector("body[data-ready='1'] #leaderboard-table", timeout=60_000)
                page.wait_for_function("[...document.querySelectorAll('.chart')].every(c => c.dataset.drawn)")
                samples.append(time.perf_counter() - start)
            browser.close()
        samples.sort()
        print(f"page /dashboard (this month, admin) fully drawn: median {samples[2]:.2f} s, max {samples[-1]:.2f} s",
              flush=True)
        if samples[2] > PAGE_TARGET_S:
            print(f"page over {PAGE_TARGET_S} s", flush=True)
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    total = int(os.environ.get("KIZUNA_BENCH_THANKS", "1000000"))
    folder = Path(tempfile.mkdtemp(prefix="kizuna-dash-bench-"))
    core.in_own_process(f"import asyncio, pathlib, bench.dashboard_bench as b; "
                        f"asyncio.run(b.on_sqlite({total}, pathlib.Path({str(folder)!r})))")
    page_time(folder / "stats.sqlite3")
    pg = os.environ.get("KIZUNA_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    if asyncio.run(core.postgres_reachable(pg)):
        core.in_own_process(f"import asyncio, bench.dashboard_bench as b; asyncio.run(b.on_postgres({pg!r}, {total}))")
    else:
        print(f"PostgreSQL: skipped ({pg} unreachable)")
    shutil.rmtree(folder, ignore_errors=True)
