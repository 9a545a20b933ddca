"""PL/pgSQL functions created on first use (core.pg.ServerFunction): named by their text, created once even
when several connections find them missing at the same moment."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections

from core.pg import ServerFunction

pytestmark = pytest.mark.postgres_only


def echo(body_comment: str = "") -> ServerFunction:
    return ServerFunction("kizuna_test_echo", "p_n int", "TABLE(k_n int)",
                          f"\nBEGIN\n    {body_comment}\n    RETURN QUERY SELECT p_n * 2;\nEND\n")


async def test_a_missing_function_is_created_by_the_first_calls_even_at_the_same_moment(db):
    client = connections.get("default")
    for attempt in range(5):  # five new functions, each missing for four connections at once
        function = echo(f"-- {attempt}")
        rows = await asyncio.gather(*(function.call(client, [n]) for n in range(4)))
        assert [r[0]["k_n"] for r in rows] == [0, 2, 4, 6]
        assert await client.execute_query_dict("SELECT count(*) AS n FROM pg_proc WHERE proname = $1",
                                               [function.name]) == [{"n": 1}]


async def test_a_changed_text_is_a_new_function_beside_the_old_one(db):
    client = connections.get("default")
    old, new = echo(), echo("-- changed")
    assert old.name != new.name and old.name.startswith("kizuna_test_echo_")
    assert (await old.call(client, [1]))[0]["k_n"] == 2
    assert (await new.call(client, [2]))[0]["k_n"] == 4
    assert (await old.call(client, [3]))[0]["k_n"] == 6
