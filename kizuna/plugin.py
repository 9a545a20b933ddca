"""The adapter plug-in contract: entry-point group ``kizuna.adapters``, each a ``create_adapter(context)``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from cards.model import Message
from core.config import ConfigurationError, Settings

ENTRY_POINT_GROUP = "kizuna.adapters"


class AdapterDisabled(Exception):
    """Raised by ``create_adapter`` when the adapter is not configured; the message says why."""


class DeliveryFailed(Exception):
    """An outbox delivery failed. ``permanent`` stops retries; ``retry_after`` (s) is the platform's wish."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after

    @classmethod
    def for_status(cls, status: int | None, reason: str, retry_after: float | None = None) -> DeliveryFailed:
        """The one policy for every platform: no answer, 401 (credentials can be fixed), 408, 412, 429
        and 5xx are retried with backoff; any other refusal (400, 403 bot removed, 404 gone) is final."""
        retry = status is None or status in (401, 408, 412, 429) or status >= 500
        return cls(reason, permanent=not retry, retry_after=retry_after)


@dataclass(frozen=True)
class OutgoingMessage:
    """One outbox row as an adapter sees it."""

    delivery_id: int
    workspace_external_id: str
    address_key: str
    address: dict[str, Any]
    message: Message
    kind: str


@dataclass
class AdapterContext:
    """What every adapter gets: the settings and a logger. Adapters own nothing global."""

    settings: Settings
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("kizuna"))


@runtime_checkable
class Adapter(Protocol):
    """A chat platform, mounted on the one aiohttp app."""

    name: str
    platform: str

    def mount(self, app: web.Application) -> None:
        """Add the adapter's routes."""

    async def start(self) -> None:
        """Open client sessions (called once the app starts)."""

    async def close(self) -> None:
        """Close what ``start`` opened."""

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        """Send one outbox message, or raise ``DeliveryFailed``."""


def installed_adapters() -> dict[str, Any]:
    """Entry points of the ``kizuna.adapters`` group by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_adapters(context: AdapterContext) -> tuple[list[Adapter], dict[str, str]]:
    """Create every enabled adapter; returns them and ``{name: why off}`` for the others."""
    available = installed_adapters()
    wanted = context.settings.adapters
    if wanted is not None:
        unknown = [name for name in wanted if name not in available]
        if unknown:
            raise ConfigurationError(
                f"KIZUNA_ADAPTERS names {', '.join(unknown)}, which is not installed; "
                f"installed adapters: {', '.join(sorted(available)) or 'none'}"
            )
    adapters: list[Adapter] = []
    off: dict[str, str] = {}
    for name, ep in sorted(available.items()):
        if wanted is not None and name not in wanted:
            off[name] = "not listed in KIZUNA_ADAPTERS"
            continue
        try:
            factory = ep.load()
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(
                f"the {name} adapter ({ep.value}) cannot be loaded: {error}; installed adapters: "
                f"{', '.join(sorted(available))}. Reinstall it or leave it out of KIZUNA_ADAPTERS."
            ) from error
        try:
            adapters.append(factory(context))
        except AdapterDisabled as why:
            off[name] = str(why)
    return adapters, off
