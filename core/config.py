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
    """Everything Kizuna reads from its environment."""

    database_url: str = "sqlite://kizuna.sqlite3"
    host: str = "127.0.0.1"
    port: int = 3978
    auto_migrate: bool = False
    microsoft_app_id: str = ""
    microsoft_app_password: str = ""
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: str = "SingleTenant"
    teams_admin_ids: tuple[str, ...] = ()
    discord_application_id: str = ""
    discord_public_key: str = ""
    discord_bot_token: str = ""
    discord_api_base: str = "https://discord.com/api/v10"
    adapters: tuple[str, ...] | None = None
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict)

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
            microsoft_app_id=get("MICROSOFT_APP_ID"),
            microsoft_app_password=get("MICROSOFT_APP_PASSWORD"),
            microsoft_app_tenant_id=get("MICROSOFT_APP_TENANT_ID"),
            microsoft_app_type=get("MICROSOFT_APP_TYPE") or "SingleTenant",
            teams_admin_ids=tuple(x for x in get("KIZUNA_TEAMS_ADMIN_IDS").replace(",", " ").split() if x),
            discord_application_id=get("DISCORD_APPLICATION_ID"),
            discord_public_key=get("DISCORD_PUBLIC_KEY"),
            discord_bot_token=get("DISCORD_BOT_TOKEN"),
            discord_api_base=(get("DISCORD_API_BASE") or "https://discord.com/api/v10").rstrip("/"),
            adapters=tuple(a.strip() for a in adapters_text.split(",") if a.strip()) if adapters_text else None,
            log_level=(get("KIZUNA_LOG_LEVEL") or "INFO").upper(),
            extra={k: v for k, v in values.items() if k.startswith("KIZUNA_")},
        )
