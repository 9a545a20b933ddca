"""The Discord adapter's own settings: the application's ids, key and bot token, from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings

DEFAULT_API_BASE = "https://discord.com/api/v10"


@dataclass(frozen=True)
class DiscordSettings:
    """``DISCORD_APPLICATION_ID``, ``DISCORD_PUBLIC_KEY``, ``DISCORD_BOT_TOKEN`` and ``DISCORD_API_BASE``."""

    application_id: str = ""
    public_key: str = ""
    bot_token: str = ""
    api_base: str = DEFAULT_API_BASE

    @classmethod
    def read(cls, settings: Settings) -> DiscordSettings:
        """The variables from ``settings.environ`` (the public key is checked where it is used)."""
        return cls(
            application_id=settings.env("DISCORD_APPLICATION_ID"),
            public_key=settings.env("DISCORD_PUBLIC_KEY"),
            bot_token=settings.env("DISCORD_BOT_TOKEN"),
            api_base=settings.env("DISCORD_API_BASE", DEFAULT_API_BASE).rstrip("/"),
        )
