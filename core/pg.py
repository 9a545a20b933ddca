"""Kizuna's PostgreSQL engine for tortoise: the asyncpg client with a bounded wait for a pooled connection.

asyncpg's pool waits for a free connection for as long as it takes, and tortoise asks it without a time
limit: under a burst larger than the pool, requests would queue until the platform gave up on them (Teams
after 15 s, Discord after 3 s). Here a request that finds every connection busy for ``pool_timeout``
seconds fails at once with ``PoolExhausted``, which the server answers with a quick 503 and a retry hint.

Tortoise loads an engine by module name (``"engine": "core.pg"``) and takes its ``client_class``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient

DEFAULT_POOL_TIMEOUT = 2.0


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool: nothing beyond asyncpg's own rollback.

    asyncpg's default sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release: one more round trip for each statement made outside a transaction. Kizuna takes no advisory
    locks, opens no cursors, listens to nothing and never ``SET``s a session variable, so there is nothing
    to undo; an open transaction is still rolled back by the pool before this runs.
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
