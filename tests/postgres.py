"""A fresh PostgreSQL database of its own for a test that opens the database itself (``core.db.init_db``)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit


@contextlib.asynccontextmanager
async def fresh_database(prefix: str = "kizuna_test") -> AsyncIterator[str]:
    """Create an empty database on the server of ``KIZUNA_TEST_POSTGRES_URL``; yields its URL; drops it after."""
    import asyncpg

    base = urlsplit(os.environ["KIZUNA_TEST_POSTGRES_URL"])
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=base.hostname, port=base.port or 5432, user=base.username,
                                  password=base.password, database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(base._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
