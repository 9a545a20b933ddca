"""Statements per Teams thanks on PostgreSQL, counted on the connection (see tests/discord/test_round_trips.py):
a change that adds a round trip to the path fails here, on purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, BOB, CAROL
from core import db as core_db
from core.models import Thanks
from tests.discord.test_round_trips import CountingConnection, statements
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres_only

THANKS = 1
# The people with their addresses (read, created, stored: one statement), the thanks (one call).
FIRST_TIME_THANKS = 2
# One call of the clap function each: the thanks checked, the clap written or taken back, the card's thanks read.
CLAP = 1
UNCLAP = 1


@pytest_asyncio.fixture(name="db")
async def counted_database() -> AsyncIterator[None]:
    """What the Teams fixtures get as ``db`` here: a database of their own whose statements are counted."""
    async with fresh_database("kizuna_round_trips") as url:
        await core_db.init_db(url, pool=core_db.PoolSettings(size=4), connection_class=CountingConnection)
        try:
            await core_db.apply_migrations()
            yield
        finally:
            await core_db.close_db()


async def test_round_trips_of_a_teams_thanks(teams, connector):
    client, _ = teams

    async def thanks(text: str) -> None:
        response = await client.post("/api/messages", json=t.message(
            connector.url, ALICE, f"thanks {BOB.tag} {CAROL.tag} {text} #teamwork", [BOB, CAROL]))
        assert response.status in (200, 201), await response.text()

    for n in range(2):  # the workspace, the people and their addresses, asyncpg's prepared statements
        await thanks(f"warm-up {n}")
    sent = await statements(thanks("counted"))
    assert len(sent) == THANKS, "\n".join(sent)


async def test_round_trips_of_a_first_time_sender_thanking_a_first_time_recipient(teams, connector):
    client, _ = teams

    async def thanks(sender: t.User, recipient: t.User) -> None:
        response = await client.post("/api/messages", json=t.message(
            connector.url, sender, f"thanks {recipient.tag} for the welcome #teamwork", [recipient]))
        assert response.status in (200, 201), await response.text()

    await thanks(ALICE, BOB)  # the workspace, asyncpg's prepared statements
    await thanks(t.User("29:new-0", "New 0", "aad-new-0"), t.User("29:new-r0", "New R0", "aad-new-r0"))
    sent = await statements(thanks(t.User("29:new-1", "New 1", "aad-new-1"), t.User("29:new-r1", "New R1",
                                                                                        "aad-new-r1")))
    assert len(sent) == FIRST_TIME_THANKS, "\n".join(sent)
    assert not any(statement.startswith(("BEGIN", "COMMIT")) for statement in sent)


async def test_round_trips_of_a_clap_with_the_button_and_an_unclap_in_words(teams, connector):
    client, _ = teams
    response = await client.post("/api/messages", json=t.message(
        connector.url, ALICE, f"thanks {BOB.tag} for the review #teamwork", [BOB]))
    assert response.status in (200, 201), await response.text()
    thanks = await Thanks.all().order_by("-id").first()
    assert thanks is not None

    async def clap() -> None:
        response = await client.post("/api/messages", json=t.clap_invoke(connector.url, CAROL, thanks.id))
        assert response.status == 200, await response.text()
        assert (await response.json())["type"] == "application/vnd.microsoft.card.adaptive"

    async def unclap() -> None:
        response = await client.post("/api/messages", json=t.message(connector.url, CAROL, f"unclap {thanks.id}"))
        assert response.status in (200, 201), await response.text()

    for _ in range(2):  # Carol and her address, asyncpg's prepared statements
        await clap()
        await unclap()
    sent = await statements(clap())
    assert len(sent) == CLAP, "\n".join(sent)
    assert sent[0].startswith("SELECT * FROM kizuna_clap_")
    sent = await statements(unclap())
    assert len(sent) == UNCLAP, "\n".join(sent)
    assert sent[0].startswith("SELECT * FROM kizuna_clap_")
    assert (await Thanks.get(id=thanks.id)).clap_count == 0
