"""Database configuration, start-up and migrations (tortoise-orm's built-in migrations)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.executor import MigrationExecutor

MODEL_MODULES = ["core.models", "core.meetings.models"]
APP_LABEL = "models"
MIGRATIONS_MODULE = "core.migrations"


def _with_sqlite_pragmas(url: str) -> str:
    """SQLite: wait for a lock instead of failing at once, and sync less often (WAL is the default)."""
    if not url.startswith("sqlite://") or url.startswith("sqlite://:memory:"):
        return url
    sep = "&" if "?" in url else "?"
    extras = [p for p in ("busy_timeout=5000", "synchronous=NORMAL") if p.split("=")[0] not in url]
    return url + (sep + "&".join(extras) if extras else "")


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise configuration for one database URL."""
    return {
        "connections": {"default": _with_sqlite_pragmas(database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    """Open the database connections (no schema changes)."""
    await Tortoise.init(config=tortoise_config(database_url))


async def close_db() -> None:
    """Close every connection."""
    await connections.close_all()


@contextlib.asynccontextmanager
async def database(database_url: str) -> AsyncIterator[None]:
    """``async with database(url):`` opens and closes the connections."""
    await init_db(database_url)
    try:
        yield
    finally:
        await close_db()


async def pending_migrations(database_url: str | None = None) -> list[str]:
    """Names of migrations not yet applied to the open database."""
    del database_url
    executor = MigrationExecutor(connections.get("default"), _apps_config())
    plan = await executor.plan(None)
    return [f"{step.migration.app_label}.{step.migration.name}" for step in plan if not step.backward]


def _apps_config() -> dict[str, dict[str, Any]]:
    return {APP_LABEL: {"models": MODEL_MODULES, "default_connection": "default", "migrations": MIGRATIONS_MODULE}}


async def apply_migrations() -> list[str]:
    """Apply every pending migration to the open database; returns what was applied."""
    pending = await pending_migrations()
    executor = MigrationExecutor(connections.get("default"), _apps_config())
    await executor.migrate(None)
    return pending


async def ping() -> bool:
    """True if the database answers a trivial query."""
    return await why_unreachable() is None


async def why_unreachable() -> Exception | None:
    """The error of a trivial query (the database is unreachable), or None when it answers."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as error:
        return error
    return None


def cli_config() -> dict[str, Any]:
    """The configuration tortoise's own CLI uses (``tortoise -c core.db.TORTOISE_ORM …``)."""
    import os

    return tortoise_config(os.environ.get("KIZUNA_DATABASE_URL") or "sqlite://kizuna.sqlite3")


TORTOISE_ORM = cli_config()


async def applied_migrations() -> list[str]:
    """Names of migrations already applied to the open database (empty for a new database)."""
    from tortoise.migrations.recorder import MigrationRecorder

    try:
        keys = await MigrationRecorder(connections.get("default")).applied_migrations()
    except Exception:
        return []
    return [f"{k.app_label}.{k.name}" for k in keys]
