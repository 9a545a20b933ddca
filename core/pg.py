"""Kizuna's PostgreSQL engine for tortoise: the asyncpg client with a bounded wait for a pooled connection.

asyncpg's pool waits for a free connection for as long as it takes, and tortoise asks it without a time
limit: under a burst larger than the pool, requests would queue until the platform gave up on them (Teams
after 15 s, Discord after 3 s). Here a request that finds every connection busy for ``pool_timeout``
seconds fails at once with ``PoolExhausted``, which the server answers with a quick 503 and a retry hint.

Tortoise loads an engine by module name (``"engine": "core.pg"``) and takes its ``client_class``.

``ServerFunction`` is the other PostgreSQL-only piece: a PL/pgSQL function that a hot write runs as one
statement (one round trip), created the first time it is called in a database.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

DEFAULT_POOL_TIMEOUT = 2.0


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: nothing beyond asyncpg's own rollback.

    asyncpg's default sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release: one more round trip for each statement made outside a transaction. Kizuna takes no session
    advisory locks (only transaction-scoped ones, ``ServerFunction``), opens no cursors, listens to nothing
    and never ``SET``s a session variable, so there is nothing to undo; an open transaction is still rolled
    back by the pool before this runs.
    """


class PoolExhausted(Exception):
    """Every pooled database connection stayed busy for the pool's timeout: the process is overloaded."""

    def __init__(self, size: int, timeout: float) -> None:
        super().__init__(f"all {size} database connections stayed busy for {timeout:g} s")
        self.size = size
        self.timeout = timeout


class _BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no type hints
    """An asyncpg pool whose ``acquire`` waits at most ``acquire_timeout`` seconds when given no timeout."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        self._kizuna_timeout = acquire_timeout
        self._kizuna_size = int(kwargs.get("max_size", 10))
        super().__init__(*args, **kwargs)

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's own signature)
        # ``_acquire`` is what both ``await pool.acquire()`` and ``async with pool.acquire()`` end in.
        wait = self._kizuna_timeout if timeout is None else timeout
        try:
            return await super()._acquire(wait)
        except TimeoutError:
            raise PoolExhausted(self._kizuna_size, wait) from None


class KizunaPostgresClient(AsyncpgDBClient):
    """tortoise's asyncpg client, with ``pool_timeout`` (seconds) read from the credentials."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        timeout = kwargs.pop("pool_timeout", DEFAULT_POOL_TIMEOUT)
        super().__init__(*args, **kwargs)
        self.pool_timeout = float(timeout)

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        # What ``asyncpg.create_pool`` does, with its defaults, for a pool of our class.
        options: dict[str, Any] = {"max_queries": 50000, "max_inactive_connection_lifetime": 300.0,
                                   "loop": None, "connection_class": asyncpg.Connection,
                                   "record_class": asyncpg.Record, "reset": _keep_session}
        options.update(kwargs)
        pool = _BoundedPool(None, acquire_timeout=self.pool_timeout, **options)
        await pool  # opens ``min_size`` connections
        return pool


client_class = KizunaPostgresClient


class FunctionUnavailable(Exception):
    """The database role may not create a function Kizuna needs (``CREATE`` on the schema was not granted)."""


async def fetch(client: BaseDBAsyncClient, sql: str, arguments: Sequence[object]) -> list[asyncpg.Record]:
    """One statement on a pooled connection, outside any transaction (so it is its own); a broken constraint
    is tortoise's ``IntegrityError``, as from any other statement."""
    async with client.acquire_connection() as connection:
        try:
            return list(await connection.fetch(sql, *arguments))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(error) from error


@dataclass(frozen=True)
class ServerFunction:
    """A PL/pgSQL function named after a hash of its definition, created in a database on first use.

    No migration is needed: a database that lacks the function gets it the first time a process calls it,
    and a change to the text is a new name, so a process running the old code keeps calling the old
    function until it stops (a rolling upgrade never runs one version's SQL with the other's arguments).
    Old versions stay in the database, unused and harmless.
    """

    prefix: str
    arguments: str  # ``p_workspace int, p_ids int[], …``
    returns: str  # ``TABLE(k_outcome text, …)``
    body: str  # between ``AS $kizuna$`` and ``$kizuna$``
    name: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256("\n".join((self.arguments, self.returns, self.body)).encode()).hexdigest()[:12]
        object.__setattr__(self, "name", f"{self.prefix}_{digest}")

    @property
    def definition(self) -> str:
        """The ``CREATE OR REPLACE FUNCTION`` statement."""
        return (f"CREATE OR REPLACE FUNCTION {self.name}({self.arguments}) RETURNS {self.returns} "
                f"LANGUAGE plpgsql VOLATILE AS $kizuna${self.body}$kizuna$")

    async def call(self, client: BaseDBAsyncClient, arguments: Sequence[object]) -> list[asyncpg.Record]:
        """Run the function once, as one statement outside any transaction (its own, atomic), and return its rows.

        A missing function is created and the call made again; ``FunctionUnavailable`` if the role may
        not create it. A broken constraint is tortoise's ``IntegrityError``, as from any other statement.
        """
        marks = ", ".join(f"${i + 1}" for i in range(len(arguments)))
        sql = f"SELECT * FROM {self.name}({marks})"
        try:
            return await fetch(client, sql, arguments)
        except asyncpg.UndefinedFunctionError:
            async with client.acquire_connection() as connection:
                try:
                    await self._create(connection)
                except asyncpg.InsufficientPrivilegeError as error:
                    raise FunctionUnavailable(f"{self.name}: {error}") from error
        return await fetch(client, sql, arguments)

    async def _create(self, connection: asyncpg.Connection) -> None:
        # Two processes creating the same function at once would fail one of them ("tuple concurrently
        # updated"): the transaction-scoped advisory lock makes the second wait, then find it there. It
        # is released by the COMMIT, so no session state outlives this (see ``_keep_session``).
        key = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:8], "big", signed=True)
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", key)
            exists = await connection.fetchval(
                "SELECT 1 FROM pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace",
                self.name)
            if not exists:
                await connection.execute(self.definition)


I = TypeVar("I")  # noqa: E741 (an item)
R = TypeVar("R")


class Batch(Generic[I, R]):
    """Group commit for one kind of write: the items that arrive while one statement runs go together in the
    next (one round trip, one transaction, one WAL flush for all of them), one statement at a time.

    ``run(items)`` writes a group and returns each item's result, in order. If it fails for a group of several,
    each item is run again alone, so a bad item fails only its own caller.
    """

    MAX_GROUP = 32
    _batches: ClassVar[weakref.WeakKeyDictionary[BaseDBAsyncClient, dict[Hashable, Batch[Any, Any]]]] = (
        weakref.WeakKeyDictionary())

    def __init__(self, run: Callable[[list[I]], Awaitable[list[R]]]) -> None:
        self.run = run
        self.waiting: list[tuple[I, asyncio.Future[R]]] = []
        self.writing: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, client: BaseDBAsyncClient, key: Hashable, run: Callable[[list[I]], Awaitable[list[R]]]
           ) -> Batch[I, R]:
        """The batch of this database client (process) for ``key`` (a kind of write, a workspace)."""
        batches = cls._batches.setdefault(client, {})
        batch = batches.get(key)
        if batch is None:
            batch = batches[key] = cls(run)
        return batch

    async def submit(self, item: I) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting[:self.MAX_GROUP], self.waiting[self.MAX_GROUP:]
            if len(group) == 1:
                await self._settle(group)
                continue
            try:
                results = await self.run([item for item, _ in group])
            except asyncio.CancelledError:
                for _, future in group:
                    future.cancel()
                raise
            except Exception:  # one item's fault, or the database's: each is tried alone
                for one in group:
                    await self._settle([one])
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _settle(self, one: list[tuple[I, asyncio.Future[R]]]) -> None:
        (item, future), = one
        try:
            result, = await self.run([item])
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:  # handed to the caller
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(result)
