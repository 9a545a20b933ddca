"""Discord interactions: signed unique /thanks through the full path vs a bare aiohttp + PyNaCl endpoint.

Each server runs in its own process (as in production, the load generator does not share its
event loop); the load generator keeps ``CONCURRENCY`` requests in flight over HTTP on loopback.
The full path is the real app (``build_app``) with the Discord adapter on a SQLite *file*
database: signature check, parsing, workspace and members, ``give_thanks``, rendering, limits.
The bare endpoint only verifies the signature and answers. PING and bad signatures are measured
on both too. Run: ``make bench`` or ``.venv/bin/python -m bench discord``.

``python -m bench.discord_bench --postgres postgres://postgres@127.0.0.1:5432/test`` adds a third
server, the full path on PostgreSQL (a database created for the run and dropped after), measured for
/thanks in the same rounds, so its ratio to the SQLite path is taken under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from nacl.signing import SigningKey

from bench.harness import cpu_seconds, fresh_database, is_posted_thanks, signed

CONCURRENCY = 32
THANKS = int(os.environ.get("KIZUNA_BENCH_DISCORD_THANKS", "2000"))
PINGS = int(os.environ.get("KIZUNA_BENCH_DISCORD_PINGS", "3000"))
ROUNDS = int(os.environ.get("KIZUNA_BENCH_DISCORD_ROUNDS", "3"))
WARMUP = 300
SENDERS = 1000
GUILD = "900000000000000001"
APP_ID = "777000000000000001"


# ---- servers (each in its own process) -------------------------------------------------------------

def _serve(kind: str, public_key: str, database_url: str, ready: Any, stop: Any) -> None:
    asyncio.run(_serve_async(kind, public_key, database_url, ready, stop))


async def _serve_async(kind: str, public_key: str, database_url: str, ready: Any, stop: Any) -> None:
    from aiohttp import web

    if kind == "full":
        from adapters.discord import DiscordAdapter
        from core.config import Settings
        from kizuna.server import build_app

        settings = Settings(database_url=database_url, auto_migrate=True, adapters=("discord",), environ={
            "DISCORD_PUBLIC_KEY": public_key, "DISCORD_APPLICATION_ID": APP_ID,
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10"})
        app = build_app(settings, adapters=[DiscordAdapter(settings)], manage_database=True, run_workers=False)
    else:
        app = _bare_app(public_key)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    ready.put(port)
    # The stop flag is a multiprocessing Event, which asyncio cannot await: poll it.
    while not stop.is_set():  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await runner.cleanup()


def _bare_app(public_key: str) -> Any:
    """What any Discord endpoint must do at least: verify, parse, answer."""
    from aiohttp import web
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    key = VerifyKey(bytes.fromhex(public_key))

    async def interactions(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            key.verify(request.headers["X-Signature-Timestamp"].encode() + body,
                       bytes.fromhex(request.headers["X-Signature-Ed25519"]))
        except (BadSignatureError, KeyError, ValueError):
            return web.json_response({"error": "invalid request signature"}, status=401)
        payload = json.loads(body)
        if payload["type"] == 1:
            return web.json_response({"type": 1})
        return web.json_response({"type": 4, "data": {"content": "ok", "allowed_mentions": {"parse": []}}})

    app = web.Application()
    app.router.add_post("/api/discord/interactions", interactions)
    return app


# ---- load -------------------------------------------------------------------------------------------

@dataclass
class Result:
    """One run: how many, how fast, how long each took."""

    name: str
    count: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    wrong: int = 0  # answers that were not what the case expects (e.g. a /thanks refused by a rule)
    server_cpu: float | None = None  # seconds of CPU the server process used for the batch

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    def line(self) -> str:
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items()))
        cpu = "" if self.server_cpu is None else f"   server CPU {1000 * self.server_cpu / self.count:5.2f} ms/req"
        wrong = f", {self.wrong} NOT POSTED" if self.wrong else ""
        return (f"{self.name:<32} {self.rate:>8.0f} req/s   p50 {self.percentile(0.5):6.1f} ms   "
                f"p99 {self.percentile(0.99):6.1f} ms{cpu}   ({self.count} requests: {statuses}{wrong})")


def _thanks_payload(n: int) -> dict[str, Any]:
    sender = str(10_000 + n % SENDERS)
    recipient = str(20_000 + n % 97)
    user = {"id": sender, "username": f"user{sender}", "global_name": f"User {sender}"}
    return {
        "id": str(1_300_000_000_000_000_000 + n), "application_id": APP_ID, "type": 2, "token": f"token-{n}",
        "version": 1, "guild_id": GUILD, "guild_locale": "ja", "channel_id": "555", "locale": "ja" if n % 2 else "en",
        "member": {"user": user, "roles": [], "permissions": "1024", "nick": None},
        "data": {"id": "1", "name": "thanks", "type": 1,
                 "options": [{"name": "user", "type": 6, "value": recipient},
                             {"name": "message", "type": 3, "value": f"thanks for the review #{n}"},
                             {"name": "value", "type": 3, "value": "teamwork"}],
                 "resolved": {"users": {recipient: {"id": recipient, "username": f"user{recipient}"}},
                              "members": {recipient: {"roles": [], "nick": None}}}},
    }


async def _load(name: str, url: str, requests: list[tuple[bytes, dict[str, str]]], *,
                check: Callable[[bytes], bool] | None = None, pid: int | None = None) -> Result:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    wrong = 0
    queue = iter(requests)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal wrong
            for body, headers in queue:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    answer = await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)
                if check is not None and not check(answer):
                    wrong += 1

        cpu_before = cpu_seconds(pid) if pid else None
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(pid) if pid else None
    server_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Result(name, len(requests), elapsed, latencies, statuses, wrong, server_cpu)


def _start(kind: str, public_key: str, database_url: str) -> tuple[Any, Any, int]:
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, args=(kind, public_key, database_url, ready, stop), daemon=True)
    process.start()
    port = ready.get(timeout=60)
    return process, stop, port


async def run(postgres_database_url: str | None = None) -> list[Result]:
    """Run every case on both servers, alternating, ``ROUNDS`` times; prints and returns the median rounds.

    With ``postgres_database_url``, a third server (the full path on that database) answers the /thanks
    of every round too."""
    key = SigningKey.generate()
    public_key = key.verify_key.encode().hex()
    rounds: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite://{tmp}/bench.sqlite3"
        servers = {kind: _start("full" if kind == "pg" else kind, public_key,
                                postgres_database_url if kind == "pg" else database_url)
                   for kind in ("bare", "full", *(("pg",) if postgres_database_url else ()))}
        urls = {kind: f"http://127.0.0.1:{port}/api/discord/interactions" for kind, (_, _, port) in servers.items()}
        pids = {kind: process.pid for kind, (process, _, _) in servers.items()}
        try:
            for url in urls.values():
                await _load("warm-up", url, [signed(key, _thanks_payload(10 ** 6 + i)) for i in range(WARMUP)])
            serial = 0
            for round_ in range(ROUNDS):
                for kind, url in urls.items():
                    # Unique interactions every time: each /thanks is a new thanks in the database.
                    thanks = [signed(key, _thanks_payload(serial + i)) for i in range(THANKS)]
                    serial += THANKS
                    ping = [signed(key, {"type": 1, "id": str(i), "application_id": APP_ID, "token": "t"})
                            for i in range(PINGS)]
                    bad = [signed(key, {"type": 1, "id": str(i)}, good=False) for i in range(PINGS)]
                    cases = (("thanks", thanks),) if kind == "pg" else (("thanks", thanks), ("PING", ping),
                                                                         ("bad signature", bad))
                    for name, batch in cases:
                        # The full path must really post every thanks; the bare endpoint only answers.
                        check = is_posted_thanks if kind != "bare" and name == "thanks" else None
                        result = await _load(f"{kind:<5} {name}", url, batch, check=check, pid=pids[kind])
                        rounds.setdefault(result.name, []).append(result)
                        print(f"  round {round_ + 1}: {result.line()}", flush=True)
        finally:
            for process, stop, _ in servers.values():
                stop.set()
                process.join(timeout=10)
    results = [sorted(runs, key=lambda r: r.rate)[len(runs) // 2] for runs in rounds.values()]
    by_name = {r.name: r for r in results}
    print(f"\nmedian of {ROUNDS} rounds, concurrency {CONCURRENCY}, {os.cpu_count()} CPUs shared by client and "
          f"server, Python {sys.version.split()[0]}, SQLite file database:")
    for result in results:
        print("  " + result.line())
    full, bare = by_name["full  thanks"], by_name["bare  thanks"]
    print(f"full /thanks: {full.rate:.0f}/s (target >= 600), p99 {full.percentile(0.99):.1f} ms (target < 50); "
          f"bare endpoint {bare.rate:.0f}/s")
    # With CONCURRENCY requests always in flight, mean latency = CONCURRENCY / rate (Little's law).
    print(f"  at concurrency {CONCURRENCY} a p99 under 50 ms needs more than {CONCURRENCY / 0.050:.0f}/s even with "
          f"no spread; mean latency here {1000 * CONCURRENCY / full.rate:.1f} ms")
    not_posted = sum(r.wrong for runs in rounds.values() for r in runs)
    if not_posted:
        print(f"WARNING: {not_posted} /thanks answers did not post a thanks: the figures above are not valid")
    for name in ("PING", "bad signature"):
        ratio = by_name[f"full  {name}"].rate / by_name[f"bare  {name}"].rate
        print(f"{name}: full path at {ratio:.0%} of the bare endpoint (target >= 80%)")
    if "pg    thanks" in by_name:
        pg = by_name["pg    thanks"]
        print(f"full /thanks on PostgreSQL: {pg.rate:.0f}/s, {pg.rate / full.rate:.2f}x the SQLite path "
              f"(target >= 0.7x), p99 {pg.percentile(0.99):.1f} ms (target < 100); per round: "
              + ", ".join(f"{p.rate / f.rate:.2f}x" for p, f in zip(rounds["pg    thanks"], rounds["full  thanks"],
                                                                     strict=True)))
    return results


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m bench discord`` (and ``python -m bench.discord_bench [--postgres URL]``)."""
    parser = argparse.ArgumentParser(prog="discord_bench")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="also measure the full path on PostgreSQL (a database created on this server)")
    args = parser.parse_args([] if argv is None else argv)
    if args.postgres is None:
        asyncio.run(run())
        return
    with fresh_database(args.postgres) as database_url:
        asyncio.run(run(database_url))


if __name__ == "__main__":
    main(sys.argv[1:])
