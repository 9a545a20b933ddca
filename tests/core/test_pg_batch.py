"""``core.pg.Batch``: the group commit of the PostgreSQL people and addresses statements."""

from __future__ import annotations

import asyncio

import pytest

from core.pg import Batch


async def test_items_arriving_while_a_call_runs_go_together_in_the_next_call():
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    batch: Batch[int, int] = Batch(run)
    first = asyncio.ensure_future(batch.submit(1))
    await asyncio.sleep(0)  # the first call is running …
    results = await asyncio.gather(first, *(batch.submit(n) for n in (2, 3, 4)))  # … these wait for the next
    assert results == [10, 20, 30, 40]
    assert calls == [[1], [2, 3, 4]]


async def test_a_group_that_fails_is_tried_item_by_item_and_only_the_bad_one_fails():
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        await asyncio.sleep(0)
        if 13 in items:
            raise ValueError("13 breaks a constraint")
        return items

    batch: Batch[int, int] = Batch(run)
    results = await asyncio.gather(*(batch.submit(n) for n in (12, 13, 14)), return_exceptions=True)
    assert results[0] == 12 and results[2] == 14
    assert isinstance(results[1], ValueError)
    assert calls == [[12, 13, 14], [12], [13], [14]]


async def test_a_lone_item_gets_its_own_error():
    async def run(items: list[int]) -> list[int]:
        raise RuntimeError("database gone")

    batch: Batch[int, int] = Batch(run)
    with pytest.raises(RuntimeError, match="database gone"):
        await batch.submit(1)
