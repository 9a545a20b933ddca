"""Settings read from the environment (and a `.env` file), with the defaults of DESIGN.md."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values


class ConfigurationError(Exception):
    """The configuration cannot work; the message says what to change."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What Kizuna itself reads from its environment; each adapter reads its own variables from ``environ``."""

    database_url: str = "sqlite://kizuna.sqlite3"
    host: str = "127.0.0.1"
    port: int = 3978
    auto_migrate: bool = False
    adapters: tuple[str, ...] | None = None
    log_level: str = "INFO"
    # The whole environment (over the .env file) the settings were read from; kept out of repr (secrets).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def env(self, name: str, default: str = "") -> str:
        """The variable ``name`` from ``environ``, stripped; ``default`` when it is unset or blank."""
        return self.environ.get(name, "").strip() or default

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
            environ=values,
        )
