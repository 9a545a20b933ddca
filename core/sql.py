"""Statement plans: the hot writes as hand-written SQL, one transaction each, on both databases.

A plan is a generator: it yields ``(sql with ? placeholders, parameters)`` and is sent back each
statement's rows as dicts, so its rules can depend on what it read, and it returns its result.
``run_in_transaction`` drives it. The busiest writes (a thanks, and the people a turn meets for
the first time) are plans because building their statements through the ORM cost more than
running them, and on SQLite every ORM statement is a hop to aiosqlite's thread: a plan runs in one
hop there, and plans that arrive together share one transaction (``_GroupCommit``).
docs/performance.md has the figures.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Generator, Sequence
from typing import Any, ClassVar, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

T = TypeVar("T")
Rows = list[dict[str, Any]]
Statement = tuple[str, list[object]]  # SQL with ``?`` placeholders, and its parameters
# Yields statements, is sent back each statement's rows, returns T.
Plan = Generator[Statement, Rows, T]


def placeholders(count: int) -> str:
    """``?, ?, ?``: placeholders for ``count`` values (an ``IN (…)`` list)."""
    return ", ".join("?" * count)


def marks(count: int, width: int) -> str:
    """``(?, ?), (?, ?)``: placeholders for ``count`` rows of ``width`` columns."""
    return ", ".join([f"({placeholders(width)})"] * count)


def together(postgres: bool, writes: Sequence[Statement]) -> Generator[Statement, Rows, None]:
    """Statements that neither return rows nor depend on each other's effects, in one round trip
    on PostgreSQL (data-modifying ``WITH`` parts of one statement), one by one elsewhere.

    On SQLite a plan costs no round trip per statement (it runs on the database's thread); on
    PostgreSQL every statement is one, and each is a wait for the whole turn.
    """
    if postgres and len(writes) > 1:
        parts = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(writes))
        yield f"WITH {parts} SELECT 1", [p for _, params in writes for p in params]
        return
    for statement in writes:  # noqa: UP028 (rows are sent back: ``yield from`` a list would fail)
        yield statement


class Sql:
    """Runs hand-written statements on a tortoise client, for both databases."""

    def __init__(self, client: BaseDBAsyncClient | None = None) -> None:
        self.client = client if client is not None else connections.get("default")
        self.postgres = self.client.capabilities.dialect == "postgres"

    @property
    def own_postgres_statements(self) -> bool:
        """PostgreSQL, outside any transaction: each statement is its own transaction, so a hot write can be
        one statement or one server function call (one round trip) rather than a plan of several."""
        return self.postgres and not isinstance(self.client, TransactionalDBClient)

    def text(self, sql: str) -> str:
        """``sql`` with its ``?`` placeholders as this database wants them (``$1, $2 …`` on PostgreSQL)."""
        if not self.postgres:
            return sql
        parts = sql.split("?")
        return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))

    async def rows(self, sql: str, params: Sequence[object]) -> Rows:
        """One statement's rows (``execute_query_dict``: asyncpg's ``execute_query`` drops RETURNING rows)."""
        return list(await self.client.execute_query_dict(self.text(sql), list(params)))

    async def run_in_transaction(self, plan: Plan[T]) -> T:
        """Drive ``plan`` to its end in one transaction and return its result.

        SQLite, outside any transaction: through the connection's ``_GroupCommit``, which runs the
        plans waiting at that moment in one call on aiosqlite's thread and one transaction (each in
        its own savepoint), holding the lock tortoise's own transactions take. Otherwise
        (PostgreSQL, or already inside a transaction) through ``in_transaction``, one statement at
        a time. An exception raised by the plan rolls back everything it wrote.
        """
        if not self.postgres and not isinstance(self.client, TransactionalDBClient):
            group = _GroupCommit.of(self.client)
            if group is not None:
                return await group.submit(plan)
        async with in_transaction() as conn:
            return await Sql(conn).run_plan(plan)

    async def run_plan(self, plan: Plan[T]) -> T:
        """Drive ``plan`` statement by statement on this client."""
        try:
            sql, params = next(plan)
            while True:
                sql, params = plan.send(await self.rows(sql, params))
        except StopIteration as done:
            result: T = done.value
            return result


async def run_in_transaction(plan: Plan[T]) -> T:
    """``Sql().run_in_transaction(plan)`` on the default connection."""
    return await Sql().run_in_transaction(plan)


class _GroupCommit:
    """Group commit for one SQLite connection: plans that arrive together share one transaction.

    While a group is being written, newcomers queue; the next group takes them all (up to
    ``MAX_GROUP``). Each plan runs in its own savepoint, so a broken rule rolls back that plan
    alone; everyone is answered after the one ``COMMIT``. One call on aiosqlite's thread and one
    commit per group instead of per plan is what lets a busy server keep up (docs/performance.md).
    """

    MAX_GROUP = 64
    _groups: ClassVar[weakref.WeakKeyDictionary[Any, _GroupCommit]] = weakref.WeakKeyDictionary()

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self.waiting: list[tuple[Plan[Any], asyncio.Future[Any]]] = []
        self.writing: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, client: BaseDBAsyncClient) -> _GroupCommit | None:
        """The group committer of this client's connection (None if it is not an aiosqlite one)."""
        connection = getattr(client, "_connection", None)
        if connection is None or not hasattr(connection, "_execute") or not hasattr(connection, "_conn"):
            return None
        group = cls._groups.get(connection)
        if group is None:
            group = cls._groups[connection] = cls(client)
        return group

    async def submit(self, plan: Plan[T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.waiting.append((plan, future))
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting[:self.MAX_GROUP], self.waiting[self.MAX_GROUP:]
            try:
                async with self.client.acquire_connection() as connection:
                    outcomes = await connection._execute(_drive_sqlite_group, connection._conn,
                                                         [plan for plan, _ in group])
            except BaseException as error:  # the transaction itself failed: nothing was written
                outcomes = [error] * len(group)
                if isinstance(error, asyncio.CancelledError):
                    for _, future in group:
                        if not future.done():
                            future.set_exception(IntegrityError("the write was interrupted"))
                    raise
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


def _drive_sqlite_group(raw: sqlite3.Connection, plans: list[Plan[Any]]) -> list[Any]:
    """Run plans in one transaction on aiosqlite's own thread, each in a savepoint (autocommit mode)."""
    outcomes: list[Any] = []
    raw.execute("BEGIN")
    try:
        for plan in plans:
            raw.execute("SAVEPOINT kizuna_plan")
            try:
                outcomes.append(_drive_sqlite(raw, plan))
            except Exception as error:
                raw.execute("ROLLBACK TO kizuna_plan")
                outcomes.append(error)
            raw.execute("RELEASE kizuna_plan")
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return outcomes


def _drive_sqlite(raw: sqlite3.Connection, plan: Plan[T]) -> T:
    """Run a plan statement after statement on a sqlite3 connection."""
    try:
        sql, params = next(plan)
        while True:
            try:
                rows = [dict(r) for r in raw.execute(sql, params).fetchall()]
            except sqlite3.IntegrityError as error:
                raise IntegrityError(error) from error
            sql, params = plan.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result
