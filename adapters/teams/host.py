"""What the Teams bot needs of its transport, and nothing more: a narrow port the adapter implements."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # only a type here: this module stays free of the SDK
    from adapters.teams.botframework.sdk import RetryPolicy


class TeamsHost(Protocol):
    """The transport as the bot sees it (``adapters.teams.botframework.adapter.TeamsAdapter`` is one)."""

    @property
    def invoke_budget(self) -> float:
        """Seconds an invoke may take before Teams gives up on it (it gives 5)."""
        ...

    @property
    def retry(self) -> RetryPolicy:
        """How connector calls made during a turn are retried."""
        ...

    @property
    def identity_ttl(self) -> float:
        """How long a workspace or member read by a turn may be reused (``core.app.identities``)."""
        ...

    @property
    def public_url(self) -> str:
        """Where people reach Kizuna (``KIZUNA_PUBLIC_URL``): dashboard sign-in links start with it."""
        ...

    @property
    def admin_ids(self) -> Collection[str]:
        """Entra object ids the operator made admins (``KIZUNA_TEAMS_ADMIN_IDS``)."""
        ...

    async def post_card(self, reference: Mapping[str, Any], card: dict[str, Any]) -> str:
        """Post an Adaptive Card into the conversation of a stored reference; returns the new activity id."""
        ...

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep a background task alive until it ends (``close`` waits for it)."""
        ...
