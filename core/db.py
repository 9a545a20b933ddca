"""Database configuration, start-up and migrations (tortoise-orm's built-in migrations)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.executor import MigrationExecutor

from core.errors import KizunaError
from core.pg import DEFAULT_POOL_TIMEOUT
from core.pg import PoolExhausted as PoolExhausted

MODEL_MODULES = ["core.models", "core.meetings.models", "core.mixers.models", "core.projects.models",
                 "core.dashboard.models"]
APP_LABEL = "models"
MIGRATIONS_MODULE = "core.migrations"
# Where tortoise records the migrations applied to a database: one row (app, name, applied_at) each.
MIGRATIONS_TABLE = "tortoise_migrations"
# The URL schemes Kizuna ships a driver for (tortoise knows more, but their drivers are not installed).
SUPPORTED_SCHEMES = ("sqlite", "postgres", "postgresql")
SUPPORTED_URLS = "sqlite://PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE"
# How long opening the database may take before we say it is unreachable.
CONNECT_TIMEOUT = 20.0


class UnsupportedDatabaseUrl(KizunaError):
    """``KIZUNA_DATABASE_URL`` names a database Kizuna cannot use."""

    message_id = "error.database_url_unsupported"


class DatabaseFolderMissing(KizunaError):
    """The folder of the SQLite file does not exist (SQLite creates the file, never its folder)."""

    message_id = "error.database_folder_missing"


class MigrationsMissing(KizunaError):
    """The database lacks migrations, and this command may not apply them (``kizuna migrate`` does)."""

    message_id = "cli.missing_migrations"


class DatabaseUnavailable(KizunaError):
    """The database did not open: a server that does not answer, a refused login, an unreadable file."""

    message_id = "error.database_unavailable"


def shown_url(database_url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    parts = urlsplit(database_url)
    if not parts.password:
        return database_url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def sqlite_path(database_url: str) -> str | None:
    """The file of a ``sqlite://`` URL as tortoise reads it (``sqlite:///abs`` or ``sqlite://relative``)."""
    if not database_url.startswith("sqlite://"):
        return None
    return database_url.removeprefix("sqlite://").split("?", 1)[0]


def check_database_url(database_url: str) -> None:
    """Refuse, with a message that says what to change, a URL that cannot work, before anything opens it."""
    scheme = database_url.split("://", 1)[0].lower() if "://" in database_url else ""
    if scheme not in SUPPORTED_SCHEMES:
        raise UnsupportedDatabaseUrl(url=shown_url(database_url), supported=SUPPORTED_URLS)
    path = sqlite_path(database_url)
    if path is None or path == ":memory:":
        return
    if not path:
        raise UnsupportedDatabaseUrl(url=database_url, supported=SUPPORTED_URLS)
    folder = os.path.dirname(path) or "."
    # SQLite creates the file but never its folder, and then only says "unable to open database file".
    if not os.path.isdir(folder):
        raise DatabaseFolderMissing(folder=os.path.abspath(folder), url=database_url)


def _with_sqlite_pragmas(url: str) -> str:
    """SQLite: wait for a lock instead of failing at once, and sync less often (WAL is the default)."""
    if not url.startswith("sqlite://") or url.startswith("sqlite://:memory:"):
        return url
    sep = "&" if "?" in url else "?"
    extras = [p for p in ("busy_timeout=5000", "synchronous=NORMAL") if p.split("=")[0] not in url]
    return url + (sep + "&".join(extras) if extras else "")


@dataclass(frozen=True)
class PoolSettings:
    """PostgreSQL connections one process may hold, and how long a request waits for one of them."""

    size: int
    timeout: float = DEFAULT_POOL_TIMEOUT


def _connection(database_url: str, pool: PoolSettings | None, connection_class: type | None) -> str | dict[str, Any]:
    """tortoise's connection entry: SQLite as a URL; PostgreSQL through ``core.pg`` with the pool's bounds.

    A ``maxsize`` written in the URL itself wins over ``pool.size``.
    """
    if not database_url.startswith(("postgres://", "postgresql://")):
        return _with_sqlite_pragmas(database_url)
    expanded = expand_db_url(database_url)
    credentials: dict[str, Any] = expanded["credentials"]
    # PostgreSQL's pg_stat_activity then says which process holds which connection.
    credentials.setdefault("application_name", f"kizuna {os.getpid()}")
    if pool is not None:
        credentials.setdefault("maxsize", pool.size)
        credentials["pool_timeout"] = pool.timeout
    if connection_class is not None:
        credentials["connection_class"] = connection_class
    return {"engine": "core.pg", "credentials": credentials}


def tortoise_config(database_url: str, *, pool: PoolSettings | None = None,
                    connection_class: type | None = None) -> dict[str, Any]:
    """The tortoise configuration for one database URL (``pool`` and ``connection_class`` apply to PostgreSQL)."""
    return {
        "connections": {"default": _connection(database_url, pool, connection_class)},
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


async def init_db(database_url: str, *, pool: PoolSettings | None = None,
                  connection_class: type | None = None) -> None:
    """Open the database (no schema changes); a URL or database that cannot work raises at once.

    ``UnsupportedDatabaseUrl`` and ``DatabaseFolderMissing`` come before anything is opened;
    ``DatabaseUnavailable`` when the first query fails or takes longer than ``CONNECT_TIMEOUT``.
    ``pool`` bounds PostgreSQL's connection pool (``core.pg``); ``connection_class`` is asyncpg's
    (a subclass that counts statements, in the tests).
    """
    check_database_url(database_url)
    await Tortoise.init(config=tortoise_config(database_url, pool=pool, connection_class=connection_class))
    try:
        # tortoise connects lazily, and a SQLite open that fails keeps its connection lock, so the
        # next query would wait forever: connect now, and turn a failure into one clear error.
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), CONNECT_TIMEOUT)
    except Exception as error:
        await close_db()
        reason = str(error) or f"no answer within {CONNECT_TIMEOUT:.0f} s"
        raise DatabaseUnavailable(url=shown_url(database_url), reason=reason) from error


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


async def open_for_command(database_url: str, *, auto_migrate: bool = False, migrate_fresh: bool = True) -> None:
    """Open the database for a command: a brand-new one is migrated, a half-migrated one is refused
    (``MigrationsMissing``) unless ``auto_migrate``."""
    await init_db(database_url)
    pending = await pending_migrations()
    if not pending:
        return
    if (migrate_fresh and not await applied_migrations()) or auto_migrate:
        await apply_migrations()
        return
    await close_db()
    raise MigrationsMissing(pending=", ".join(pending))


def run_with_database(database_url: str, body: Callable[[], Awaitable[int]], *, auto_migrate: bool = False) -> int:
    """Open the database the way every ``kizuna`` command does, run ``body`` in a new event loop, close it."""

    async def main() -> int:
        await open_for_command(database_url, auto_migrate=auto_migrate)
        try:
            return await body()
        finally:
            await close_db()

    return asyncio.run(main())


def known_migrations() -> list[str]:
    """Names of the migrations this code ships (``models.0001_initial`` …), in order: what tortoise loads."""
    package = importlib.import_module(MIGRATIONS_MODULE)
    names = [name for _, name, is_pkg in pkgutil.iter_modules(package.__path__) if not is_pkg and name[0] not in "_~"]
    return [f"{APP_LABEL}.{name}" for name in sorted(names)]
