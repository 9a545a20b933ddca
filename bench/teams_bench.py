"""Teams throughput: unique thanks activities into Kizuna vs a stock botbuilder echo bot, same run.

Three processes besides this one: a fake Bot Connector (the replies go there, on loopback), the
bot under test, and — one after the other — Kizuna (full path: parse, store on SQLite, render the
card, reply) and the SDK's echo bot (``CloudAdapter`` + ``ActivityHandler`` replying "Echo: …",
without Kizuna's msrest fix). Both run in emulator mode (no JWT), so auth costs are excluded from
both. This process posts activities at concurrency 32 and prints throughput and p50/p99 latency.

    make bench            # every benchmark
    .venv/bin/python -m bench teams
    .venv/bin/python -m bench.teams_bench [--requests 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.teams_bench", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---- the servers (each runs in its own process) ---------------------------------------------------

def serve_connector(port: int) -> None:
    from adapters.teams.testing import FakeBotConnector

    FakeBotConnector(record=False, port=port).serve_forever()


def serve_kizuna(port: int, database: str) -> None:
    import logging

    from aiohttp import web

    from adapters.teams.adapter import TeamsAdapter
    from core.config import Settings
    from kizuna.server import build_app

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(database_url=f"sqlite://{database}", auto_migrate=True, port=port)
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
    from adapters.teams import testing as t

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
        return asyncio.run(load(name, port, service_url, requests, concurrency, warmup))
    finally:
        stop(process)


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(prog="teams_bench")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args([] if argv is None else argv)
    connector_port = free_port()
    connector = spawn("connector", str(connector_port))
    service_url = f"http://127.0.0.1:{connector_port}/"
    try:
        wait_port(connector_port)
        with tempfile.TemporaryDirectory() as tmp:
            results = []
            port = free_port()
            results.append(measure("botbuilder echo bot (stock)", ["echo", str(port)], port, service_url,
                                   args.requests, args.concurrency, args.warmup))
            port = free_port()
            results.append(measure("Kizuna thanks (parse+store+card+reply)",
                                   ["kizuna", str(port), str(Path(tmp) / "bench.sqlite3")], port, service_url,
                                   args.requests, args.concurrency, args.warmup))
    finally:
        stop(connector)
    print(f"{args.requests} unique activities per bot, concurrency {args.concurrency}, "
          f"Python {sys.version.split()[0]}, SQLite, fake Bot Connector on loopback")
    print(f"{'bot':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        print(f"{r.name:42} {r.throughput:8.1f} {r.percentile(50):8.1f} {r.percentile(99):8.1f} {r.errors:7d}")
    echo, kizuna = results
    mean_k, mean_e = statistics.mean(kizuna.latencies_ms), statistics.mean(echo.latencies_ms)
    print(f"Kizuna / echo throughput: {kizuna.throughput / echo.throughput:.2f}x "
          f"(mean latency {mean_k:.1f} ms vs {mean_e:.1f} ms)")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "connector":
        serve_connector(int(sys.argv[2]))
    elif command == "kizuna":
        serve_kizuna(int(sys.argv[2]), sys.argv[3])
    elif command == "echo":
        serve_echo(int(sys.argv[2]))
    else:
        main(sys.argv[1:])
