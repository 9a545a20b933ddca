"""Teams throughput: unique thanks activities into Kizuna vs a stock botbuilder echo bot, same run.

Three processes besides this one: a fake Bot Connector (the replies go there, on loopback), the
bot under test, and — one after the other — Kizuna (full path: parse, store on SQLite, render the
card, reply) and the SDK's echo bot (``CloudAdapter`` + ``ActivityHandler`` replying "Echo: …",
without Kizuna's msrest fix). Both run in emulator mode (no JWT), so auth costs are excluded from
both. This process posts activities at concurrency 32 and prints throughput, p50/p99 latency and
the CPU time the bot process spent per request (read from ``/proc``, so on Linux only).

On a shared machine one run says little: ``--rounds 3`` measures both bots three times, in
alternating order (echo first, then Kizuna first…), and reports the median of each figure and of
the per-round throughput ratio, which compares two measurements taken a few seconds apart.

    make bench            # every benchmark
    .venv/bin/python -m bench teams
    .venv/bin/python -m bench.teams_bench [--requests 2000] [--concurrency 32] [--rounds 3]
        [--postgres postgres://postgres@127.0.0.1:5432/test]   # Kizuna on PostgreSQL instead of SQLite
        [--workers 1,2]   # Kizuna with one process, then with two (PostgreSQL), in every round
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from bench.harness import (
    ROOT,
    children,
    cpu_seconds,
    free_port,
    fresh_database,
    machine_jiffies,
    percentile,
    stop,
    wait_port,
)


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    cpu_ms_per_request: float | None = None
    machine_busy: float | None = None  # the share of every core's time spent working during the load

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.teams_bench", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)


# ---- the servers (each runs in its own process) ---------------------------------------------------

def serve_connector(port: int) -> None:
    from adapters.teams.botframework.testing import FakeBotConnector

    FakeBotConnector(record=False, port=port).serve_forever()


def serve_kizuna(port: int, database_url: str, workers: int = 1, gunicorn: bool = False) -> None:
    import logging

    from aiohttp import web

    from adapters.teams.botframework.adapter import TeamsAdapter
    from core.config import Settings
    from kizuna.server import build_app

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(database_url=database_url, auto_migrate=True, port=port)
    if workers > 1 or gunicorn:  # as `kizuna serve --workers N` runs them (gunicorn), with the Teams adapter only
        import dataclasses
        import socket

        from kizuna.server import preflight
        from kizuna.workers import serve_workers

        settings = dataclasses.replace(settings, workers=workers, adapters=("teams",), log_level="WARNING")
        asyncio.run(preflight(settings))
        listener = socket.create_server(("127.0.0.1", port), backlog=1024)
        serve_workers(settings, listener)
        return
    app = build_app(settings, adapters=[TeamsAdapter(settings)], run_workers=False)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def serve_echo(port: int) -> None:
    from aiohttp import web
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class Config:
        APP_ID = ""
        APP_PASSWORD = ""
        APP_TYPE = "MultiTenant"
        APP_TENANTID = ""

    class EchoBot(ActivityHandler):  # type: ignore[misc]
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response: web.Response = await adapter.process(request, bot)
        return response

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# ---- the load ---------------------------------------------------------------------------------

def activity(i: int, service_url: str, run: str) -> dict[str, Any]:
    from adapters.teams.botframework import testing as t

    senders = 1000  # the daily limit is per sender; spread the load like a real tenant
    sender = t.User(f"29:user-{i % senders}", f"User {i % senders}", f"aad-{i % senders}")
    who = (i * 7 + 1) % senders
    if who == i % senders:
        who = (who + 1) % senders
    recipient = t.User(f"29:user-{who}", f"User {who}", f"aad-{who}")
    message = t.message(service_url, sender, f"thanks {recipient.tag} for the release notes #teamwork "
                                             f"(run {run}, {i})", [recipient], activity_id=f"{run}-{i}")
    return message


async def load(name: str, port: int, service_url: str, requests: int, concurrency: int,
               warmup: int) -> Result:
    url = f"http://127.0.0.1:{port}/api/messages"
    run = f"{name}-{time.time_ns()}"
    bodies = [activity(i, service_url, run) for i in range(requests + warmup)]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        for i in range(warmup):
            async with session.post(url, json=bodies[requests + i]) as response:
                await response.read()
        for i in range(requests):
            queue.put_nowait(i)

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(url, json=bodies[i]) as response:
                    await response.read()
                    if response.status not in (200, 201):
                        errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Result(name, requests, errors, seconds, latencies)


def measure(name: str, server_args: list[str], port: int, service_url: str, requests: int, concurrency: int,
            warmup: int) -> Result:
    process = spawn(*server_args)
    try:
        wait_port(port)
        # The bot's processes: one, or gunicorn's arbiter and its workers (forked before the port answers).
        pids = [process.pid, *children(process.pid)]
        before, machine_before = _cpu(pids), machine_jiffies()
        result = asyncio.run(load(name, port, service_url, requests, concurrency, warmup))
        after, machine_after = _cpu(pids), machine_jiffies()
        if before is not None and after is not None:
            # Warm-up requests included: the bot's CPU is read around the whole load.
            result = replace(result, cpu_ms_per_request=(after - before) * 1000 / (requests + warmup))
        if machine_before is not None and machine_after is not None and machine_after[1] > machine_before[1]:
            # Bot, database, fake connector and this load generator together: 100 % is every core busy.
            result = replace(result, machine_busy=(machine_after[0] - machine_before[0])
                             / (machine_after[1] - machine_before[1]))
        return result
    finally:
        stop(process)


def _cpu(pids: list[int]) -> float | None:
    seconds = [cpu_seconds(pid) for pid in pids]
    return None if any(s is None for s in seconds) else sum(s for s in seconds if s is not None)


ECHO = "botbuilder echo bot (stock)"
KIZUNA = "Kizuna thanks (parse+store+card+reply)"


def kizuna_name(workers: int) -> str:
    return KIZUNA if workers == 1 else f"Kizuna thanks, {workers} workers"


def one_round(service_url: str, requests: int, concurrency: int, warmup: int, *,
              kizuna_first: bool, postgres_url: str | None = None, workers: tuple[int, ...] = (1,)
              ) -> dict[str, Result]:
    """Both bots (Kizuna once per number of workers), one after the other, each in a fresh process (Kizuna on a
    fresh database)."""
    results: dict[str, Result] = {}
    kizunas = [kizuna_name(n) for n in workers]
    order = [*kizunas, ECHO] if kizuna_first else [ECHO, *kizunas]
    if kizuna_first:  # alternate the order of the worker counts too
        order[:len(kizunas)] = reversed(kizunas)
    for name in order:
        port = free_port()
        if name == ECHO:
            results[name] = measure(name, ["echo", str(port)], port, service_url, requests, concurrency, warmup)
            continue
        n = workers[kizunas.index(name)]
        with fresh_database(postgres_url) as database_url:
            # Worker counts compared are all served as `kizuna serve --workers N` serves them (gunicorn, with the
            # outbox worker and the schedulers running), one worker included, so they differ in the count only.
            via = ["gunicorn"] if len(workers) > 1 else []
            results[name] = measure(name, ["kizuna", str(port), database_url, str(n), *via], port, service_url,
                                    requests, concurrency, warmup)
    return results


def _row(name: str, throughput: float, p50: float, p99: float, cpu: float | None, errors: int) -> str:
    cpu_text = f"{cpu:8.2f}" if cpu is not None else f"{'n/a':>8}"
    return f"{name:42} {throughput:8.1f} {p50:8.1f} {p99:8.1f} {cpu_text} {errors:7d}"


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(prog="teams_bench")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="store Kizuna's data on this PostgreSQL server (a new database per round) "
                             "instead of a SQLite file, e.g. postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", default="1", metavar="N[,N…]",
                        help="measure Kizuna served by this many processes (kizuna serve --workers; PostgreSQL "
                             "only above 1); a list such as 1,2 measures each in every round")
    args = parser.parse_args([] if argv is None else argv)
    workers = tuple(int(n) for n in args.workers.split(","))
    connector_port = free_port()
    connector = spawn("connector", str(connector_port))
    service_url = f"http://127.0.0.1:{connector_port}/"
    rounds: list[dict[str, Result]] = []
    try:
        wait_port(connector_port)
        for i in range(args.rounds):
            rounds.append(one_round(service_url, args.requests, args.concurrency, args.warmup,
                                    kizuna_first=i % 2 == 1, postgres_url=args.postgres, workers=workers))
    finally:
        stop(connector)
    print(f"{args.requests} unique activities per bot, concurrency {args.concurrency}, "
          f"Python {sys.version.split()[0]}, {'PostgreSQL' if args.postgres else 'SQLite'}, "
          f"fake Bot Connector on loopback, {os.cpu_count()} CPUs")
    header = f"{'bot':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>8} {'errors':>7}"
    ratios = []
    names = [ECHO, *(kizuna_name(n) for n in workers)]
    first = kizuna_name(workers[0])
    for i, results in enumerate(rounds, 1):
        echo, kizuna = results[ECHO], results[first]
        ratios.append(kizuna.throughput / echo.throughput)
        print(f"round {i}" if args.rounds > 1 else "")
        print(header)
        for r in (results[name] for name in names):
            print(_row(r.name, r.throughput, r.percentile(50), r.percentile(99), r.cpu_ms_per_request, r.errors))
        mean_k, mean_e = statistics.mean(kizuna.latencies_ms), statistics.mean(echo.latencies_ms)
        print(f"Kizuna / echo throughput: {ratios[-1]:.2f}x (mean latency {mean_k:.1f} ms vs {mean_e:.1f} ms)")
        for n in workers[1:]:
            other = results[kizuna_name(n)]
            print(f"{n} workers / {workers[0]}: throughput {other.throughput / kizuna.throughput:.2f}x")
        busy = ", ".join(f"{r.name} {r.machine_busy:.0%}" for r in (results[name] for name in names)
                         if r.machine_busy is not None)
        if busy:
            print(f"machine busy during the load ({os.cpu_count()} cores, every process): {busy}")
    if args.rounds > 1:
        print(f"\nmedian of {args.rounds} rounds (CPU ms = the bot processes' CPU time per request)")
        print(header)
        for name in names:
            rs = [r[name] for r in rounds]
            cpus = [r.cpu_ms_per_request for r in rs if r.cpu_ms_per_request is not None]
            print(_row(name, statistics.median(r.throughput for r in rs),
                       statistics.median(r.percentile(50) for r in rs), statistics.median(r.percentile(99) for r in rs),
                       statistics.median(cpus) if cpus else None, sum(r.errors for r in rs)))
        print(f"Kizuna / echo throughput, median of the per-round ratios: {statistics.median(ratios):.2f}x "
              f"(rounds: {', '.join(f'{x:.2f}x' for x in ratios)})")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "connector":
        serve_connector(int(sys.argv[2]))
    elif command == "kizuna":
        serve_kizuna(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1,
                     gunicorn="gunicorn" in sys.argv[5:])
    elif command == "echo":
        serve_echo(int(sys.argv[2]))
    else:
        main(sys.argv[1:])
