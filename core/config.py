"""Settings read from the environment (and a `.env` file), with the defaults of DESIGN.md."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values


class ConfigurationError(Exception):
    """The configuration cannot work; the message says what to change."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


POOL_PER_WORKER = 5
"""PostgreSQL connections each worker holds when ``KIZUNA_DB_CONNECTIONS`` is not set (asyncpg's pool in
tortoise has always had 5). More is not faster on a small machine: every thanks ends by updating its day's
department rollup row, so extra connections mostly add transactions that wait for that row's lock."""
DEFAULT_DB_POOL_TIMEOUT = 2.0
MIN_POOL_SIZE = 2
"""Connections each worker needs at least: one for a request while a background pass holds another."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def parse_workers(text: str) -> int:
    """``KIZUNA_WORKERS`` / ``--workers``: a number of processes, or ``auto`` for one per core."""
    text = text.strip().lower()
    if text == "auto":
        return available_cores()
    try:
        workers = int(text)
    except ValueError:
        raise ConfigurationError(f"KIZUNA_WORKERS (--workers) must be a number or 'auto', not {text!r}") from None
    if not 1 <= workers <= 64:
        raise ConfigurationError(f"KIZUNA_WORKERS (--workers) must be between 1 and 64 (or 'auto'), not {workers}")
    return workers


@dataclass(frozen=True)
class Settings:
    """What Kizuna itself reads from its environment; each adapter reads its own variables from ``environ``."""

    database_url: str = "sqlite://kizuna.sqlite3"
    host: str = "127.0.0.1"
    port: int = 3978
    auto_migrate: bool = False
    adapters: tuple[str, ...] | None = None
    log_level: str = "INFO"
    # Processes serving the port (``kizuna serve --workers``), and the PostgreSQL connections they share.
    workers: int = 1
    db_connections: int | None = None  # None: POOL_PER_WORKER each
    db_pool_timeout: float = DEFAULT_DB_POOL_TIMEOUT
    # Where people reach Kizuna (``KIZUNA_PUBLIC_URL``): dashboard sign-in links, Teams tabs. Empty: ``base_url``.
    public_url: str = ""
    # The whole environment (over the .env file) the settings were read from; kept out of repr (secrets).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def env(self, name: str, default: str = "") -> str:
        """The variable ``name`` from ``environ``, stripped; ``default`` when it is unset or blank."""
        return self.environ.get(name, "").strip() or default

    @property
    def base_url(self) -> str:
        """The public URL without a trailing slash: ``KIZUNA_PUBLIC_URL``, else ``http://HOST:PORT``."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def db_pool_size(self) -> int:
        """PostgreSQL connections one worker may hold: its share of ``db_connections``, else ``POOL_PER_WORKER``."""
        return POOL_PER_WORKER if self.db_connections is None else self.db_connections // self.workers

    def check_workers(self) -> None:
        """Refuse a number of workers the database cannot serve, saying what to change."""
        if self.workers == 1:
            return
        if self.database_url.startswith("sqlite"):
            raise ConfigurationError(
                f"KIZUNA_WORKERS={self.workers} needs PostgreSQL: with SQLite one process writes the file (its "
                "group commit batches the writes of one process only). Serve SQLite with one worker, or move to "
                "PostgreSQL (see the README's 'Moving to PostgreSQL').")
        if self.db_pool_size < MIN_POOL_SIZE:
            raise ConfigurationError(
                f"KIZUNA_DB_CONNECTIONS={self.db_connections} is too few for {self.workers} workers: each needs at "
                f"least {MIN_POOL_SIZE}. Set KIZUNA_DB_CONNECTIONS to {MIN_POOL_SIZE * self.workers} or more, or "
                "use fewer workers.")

    @property
    def binds_loopback(self) -> bool:
        """True when the server only listens on a loopback address."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
        """Read settings from ``environ`` (default ``os.environ``) over an optional ``.env`` file."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str, default: str = "") -> str:
            return values.get(name, default).strip()

        port_text = get("KIZUNA_PORT", "3978")
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigurationError(f"KIZUNA_PORT must be a number, not {port_text!r}") from None
        if not 0 < port < 65536:
            raise ConfigurationError(f"KIZUNA_PORT must be between 1 and 65535, not {port}")
        adapters_text = get("KIZUNA_ADAPTERS")
        return cls(
            database_url=get("KIZUNA_DATABASE_URL") or "sqlite://kizuna.sqlite3",
            host=get("KIZUNA_HOST") or "127.0.0.1",
            port=port,
            auto_migrate=_flag(get("KIZUNA_AUTO_MIGRATE")),
            adapters=tuple(a.strip() for a in adapters_text.split(",") if a.strip()) if adapters_text else None,
            log_level=(get("KIZUNA_LOG_LEVEL") or "INFO").upper(),
            workers=parse_workers(get("KIZUNA_WORKERS") or "1"),
            db_connections=_positive_int("KIZUNA_DB_CONNECTIONS", get("KIZUNA_DB_CONNECTIONS")),
            db_pool_timeout=_positive_float("KIZUNA_DB_POOL_TIMEOUT", get("KIZUNA_DB_POOL_TIMEOUT"),
                                            DEFAULT_DB_POOL_TIMEOUT),
            public_url=_public_url(get("KIZUNA_PUBLIC_URL")),
            environ=values,
        )


def _positive_int(name: str, text: str) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {text!r}") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, not {value}")
    return value


def _positive_float(name: str, text: str, default: float) -> float:
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {text!r}") from None
    if not 0 < value <= 60:
        raise ConfigurationError(f"{name} must be more than 0 and at most 60 seconds, not {value:g}")
    return value


def _public_url(text: str) -> str:
    if not text:
        return ""
    parsed = urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ConfigurationError(f"KIZUNA_PUBLIC_URL must be an http:// or https:// address such as "
                                 f"https://kizuna.example.com, not {text!r}")
    return text.rstrip("/")
