"""Addresses: how to reach a member 1:1 or post in a channel, stored so proactive messages survive a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.exceptions import IntegrityError

from core.models import Address, Workspace


def member_key(platform_user_id: str) -> str:
    """The address key of a member's 1:1 conversation."""
    return f"member:{platform_user_id}"


def channel_key(channel_id: str) -> str:
    """The address key of a channel (or group conversation)."""
    return f"channel:{channel_id}"


async def get_address(workspace: Workspace, key: str) -> dict[str, Any] | None:
    """The payload stored under ``key``, or None."""
    address = await Address.get_or_none(workspace_id=workspace.id, key=key)
    return dict(address.payload) if address is not None else None


async def remember_address(workspace: Workspace, key: str, payload: Mapping[str, Any], *,
                           replace: bool = True) -> bool:
    """Store ``payload`` under ``key``; with ``replace=False`` an existing payload is kept.

    Returns True when something was written. Writes are skipped when the payload is unchanged,
    so calling this on every incoming event is cheap.
    """
    data = dict(payload)
    existing = await Address.get_or_none(workspace_id=workspace.id, key=key)
    if existing is None:
        try:
            await Address.create(workspace_id=workspace.id, key=key, payload=data)
            return True
        except IntegrityError:
            existing = await Address.get(workspace_id=workspace.id, key=key)
    if not replace or dict(existing.payload) == data:
        return False
    existing.payload = data
    await existing.save(update_fields=["payload", "updated_at"])
    return True
