"""The Discord thanks path in one process: thread hops into SQLite per thanks, latency one at a time, rate at 32.

``.venv/bin/python -m bench.discord_hops`` from any tree (it builds the app the way ``bench.discord_bench`` does).
Server and load share one process and one event loop, so what it measures is the code's own cost, with less of the
machine's other load in it than the multi-process benchmark has.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from typing import Any

import aiohttp
import aiosqlite
from aiohttp import web
from nacl.signing import SigningKey

from bench import discord_bench as bench

WARMUP, SERIAL, CONCURRENT, CONCURRENCY = 300, 500, 3000, 32
hops = 0


def _count_hops() -> None:
    """Count every call that aiosqlite hands to its database thread."""
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        global hops
        hops += 1
        return await original(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]


def _settings(database_url: str, public_key: str) -> Any:
    from core.config import Settings

    environ = {"DISCORD_PUBLIC_KEY": public_key, "DISCORD_APPLICATION_ID": bench.APP_ID,
               "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10"}
    try:
        return Settings(database_url=database_url, auto_migrate=True, adapters=("discord",), environ=environ)
    except TypeError:  # an older tree, whose settings named each platform's variables
        return Settings(database_url=database_url, auto_migrate=True, adapters=("discord",),
                        discord_public_key=public_key, discord_application_id=bench.APP_ID,
                        discord_api_base="http://127.0.0.1:9/api/v10")


async def main() -> None:
    global hops
    from adapters.discord import DiscordAdapter
    from kizuna.server import build_app

    _count_hops()
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(f"sqlite://{tmp}/hops.sqlite3", key.verify_key.encode().hex())
        app = build_app(settings, adapters=[DiscordAdapter(settings)], manage_database=True, run_workers=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/discord/interactions"
        try:
            async with aiohttp.ClientSession() as session:

                async def post(body: bytes, headers: dict[str, str]) -> None:
                    async with session.post(url, data=body, headers=headers) as response:
                        answer = await response.read()
                    if response.status != 200 or not bench._is_posted_thanks(answer):
                        raise SystemExit(f"not a posted thanks: {response.status} {answer[:200]!r}")

                for n in range(WARMUP):
                    await post(*bench._signed(key, bench._thanks_payload(10 ** 6 + n)))
                hops, latencies = 0, []
                for n in range(SERIAL):
                    request = bench._signed(key, bench._thanks_payload(n))
                    started = time.perf_counter()
                    await post(*request)
                    latencies.append(time.perf_counter() - started)
                serial_hops = hops / SERIAL
                queue = iter([bench._signed(key, bench._thanks_payload(SERIAL + n)) for n in range(CONCURRENT)])

                async def worker() -> None:
                    for request in queue:
                        await post(*request)

                hops = 0
                cpu, started = time.process_time(), time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            await runner.cleanup()
    median = 1000 * statistics.median(latencies)
    print(f"one at a time: {serial_hops:.2f} hops into SQLite per thanks, median {median:.2f} ms")
    print(f"concurrency {CONCURRENCY}: {CONCURRENT / elapsed:.0f} thanks/s, {hops / CONCURRENT:.2f} hops per thanks, "
          f"{1000 * cpu / CONCURRENT:.2f} ms CPU per thanks (server and client)")


if __name__ == "__main__":
    asyncio.run(main())
