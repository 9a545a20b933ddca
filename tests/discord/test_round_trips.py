"""Statements per request on PostgreSQL, counted on the connection: a change that adds a round trip to a hot
path fails here, on purpose. If it is worth its cost, raise the figure in the same commit and say why."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import asyncpg
import pytest
import pytest_asyncio

from core import db as core_db
from tests.discord.kit import BOB, CAROL, clap_id
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres_only

THANKS = 1
CLAP = 1


class CountingConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that records every statement it sends (asyncpg's query logger)."""

    sent: ClassVar[list[str]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_query_logger(lambda record: CountingConnection.sent.append(record.query))


@pytest_asyncio.fixture(name="db")
async def counted_database() -> AsyncIterator[None]:
    """What the Discord fixtures get as ``db`` here: a database of their own whose statements are counted."""
    async with fresh_database("kizuna_round_trips") as url:
        await core_db.init_db(url, pool=core_db.PoolSettings(size=4), connection_class=CountingConnection)
        try:
            await core_db.apply_migrations()
            yield
        finally:
            await core_db.close_db()


async def statements(send: Any) -> list[str]:
    """The statements ``send`` made (the logger reports them on the next turns of the loop)."""
    await asyncio.sleep(0.05)
    CountingConnection.sent.clear()
    await send
    await asyncio.sleep(0.05)
    return list(CountingConnection.sent)


async def test_round_trips_of_a_thanks_and_a_clap(discord):
    # Warm up: the workspace, the people, their identities in the cache, asyncpg's prepared statements.
    for _ in range(2):
        answer = await discord.send(discord.thanks(BOB, message="warm-up"))
        await discord.send(discord.thanks(CAROL, message="warm-up", user=BOB))
        await discord.send(discord.click(clap_id(answer), user=CAROL))

    sent = await statements(discord.send(discord.thanks(BOB, message="counted")))
    # One call of the thanks function: the people locked, the catalogue checked, the limit and key checked by the
    # insert, the other rows and the rollup, in the statement's own transaction.
    assert len(sent) == THANKS, "\n".join(sent)
    assert sent[0].startswith("SELECT * FROM kizuna_give_thanks_")

    answer = await discord.send(discord.thanks(BOB, message="to clap"))
    sent = await statements(discord.send(discord.click(clap_id(answer), user=CAROL)))
    # One call of the clap function: the thanks found and "not your own" checked, the clap with its count, and what the
    # card is redrawn from (the thanks with its sender and project, its recipients, its values), in its own transaction.
    assert len(sent) == CLAP, "\n".join(sent)
    assert sent[0].startswith("SELECT * FROM kizuna_clap_")


async def test_a_connection_goes_back_to_the_pool_without_a_reset_round_trip(discord):
    sent = await statements(discord.send(discord.thanks(BOB, message="first")))
    assert sent and not any("RESET ALL" in statement or "UNLISTEN" in statement for statement in sent)
