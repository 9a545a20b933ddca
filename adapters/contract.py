"""The plug-in contract between Kizuna and its adapters; it imports only ``core``, ``cards`` and aiohttp's types.

Two entry-point groups:

- ``kizuna.adapters``: each a ``create_adapter(context: AdapterContext) -> Adapter`` factory. It reads its
  own variables from ``context.settings.environ``, raises ``AdapterDisabled`` (the message says why) when
  it is not configured and ``core.config.ConfigurationError`` when its configuration cannot work.
- ``kizuna.cli``: each an ``add_cli(subparsers)`` function that adds sub-commands to the ``kizuna`` command.
  A leaf sets ``handler(settings, args, out)`` (which may return a coroutine) or ``func(args)``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO, runtime_checkable

from aiohttp import web

from cards.model import Message
from core.config import Settings

ADAPTERS_GROUP = "kizuna.adapters"
CLI_GROUP = "kizuna.cli"


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
    """One outbox row as an adapter sees it.

    ``idempotency_key`` (at most 25 characters) is the same on every attempt of this delivery, in
    every process: an adapter whose platform de-duplicates by key sends it (Discord's ``nonce``),
    so an attempt repeated after a crash is recognised as the same message.
    """

    delivery_id: int
    workspace_external_id: str
    address_key: str
    address: dict[str, Any]
    message: Message
    kind: str
    idempotency_key: str = ""


def _stdout() -> TextIO:
    return sys.stdout


@dataclass
class AdapterContext:
    """What every adapter gets: the settings, a logger, and the terminal (for an adapter that writes there).

    Adapters own nothing global.
    """

    settings: Settings
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("kizuna"))
    out: TextIO = field(default_factory=_stdout)


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
