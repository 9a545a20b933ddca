"""A full connection pool: a quick, polite "busy" answer instead of a request that hangs, and recovery after.

The database is PostgreSQL with a pool of two connections that waits at most 0.3 s for one (``core.pg``); the
test holds both, as a burst of slow requests would.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from tortoise import connections
from tortoise.transactions import in_transaction

from core import db as core_db
from core.i18n import translate
from core.models import Thanks
from tests.discord.kit import BOB
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres_only

POOL = core_db.PoolSettings(size=2, timeout=0.3)


@pytest_asyncio.fixture(name="db")
async def small_pool_database() -> AsyncIterator[None]:
    """What the Discord fixtures get as ``db`` here: a database of their own behind the small pool."""
    async with fresh_database("kizuna_overload") as url:
        await core_db.init_db(url, pool=POOL)
        try:
            await core_db.apply_migrations()
            yield
        finally:
            await core_db.close_db()


@contextlib.asynccontextmanager
async def every_connection_busy() -> AsyncIterator[None]:
    """Hold every connection of the pool in an open transaction, each from a task of its own: tortoise keeps
    the current transaction in a context variable (a second one in the same context would only nest), and
    the requests must not see it."""
    release = asyncio.Event()
    held: list[asyncio.Event] = []

    async def hold(ready: asyncio.Event) -> None:
        async with in_transaction() as transaction:
            await transaction.execute_query("SELECT 1")
            ready.set()
            await release.wait()

    holders = []
    for _ in range(POOL.size):
        held.append(asyncio.Event())
        holders.append(asyncio.create_task(hold(held[-1]), context=contextvars.copy_context()))
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in held)), 10)
    try:
        yield
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_a_full_pool_answers_busy_at_once_and_the_next_thanks_goes_through(discord):
    await discord.send(discord.thanks(BOB, message="warm-up"))  # the workspace and people exist
    async with every_connection_busy():
        started = time.monotonic()
        answer = await asyncio.wait_for(discord.send(discord.thanks(BOB, message="during the burst")), 10)
        waited = time.monotonic() - started
    assert answer["data"]["flags"] & 64, answer  # ephemeral: only the sender sees it
    assert translate("en", "error.busy") in answer["data"]["content"]
    assert waited < 5, f"the answer took {waited:.1f} s: it waited for a connection instead of refusing"
    assert await Thanks.filter(message="during the burst").count() == 0

    answer = await discord.send(discord.thanks(BOB, message="after the burst"))
    assert "flags" not in answer["data"] or not answer["data"]["flags"] & 64, answer
    assert await Thanks.filter(message="after the burst").count() == 1
    assert connections.get("default").pool_timeout == POOL.timeout
