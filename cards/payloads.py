"""Outbox payloads → neutral messages, rendered at delivery time in the audience's locale."""

from __future__ import annotations

from typing import Any

from cards.build import recipient_notification, thanks_message
from cards.meetings import reminder_message
from cards.model import Message, message_from_dict
from core.models import Workspace
from core.services.thanks import load_thanks_view


async def render_payload(workspace: Workspace, payload: dict[str, Any], locale: str) -> Message:
    """The message an outbox payload stands for."""
    kind = payload.get("type")
    if kind == "thanks":
        view = await load_thanks_view(workspace, int(payload["thanks_id"]))
        if payload.get("audience") == "recipient":
            return recipient_notification(view, locale, workspace.timezone)
        return thanks_message(view, locale, workspace.timezone)
    if kind == "reminder":
        return await reminder_message(workspace, int(payload["meeting_id"]), str(payload["occurrence"]), locale,
                                      late=bool(payload.get("late")))
    if kind == "message":
        return message_from_dict(payload["message"])
    raise ValueError(f"unknown outbox payload type {kind!r}")
