"""What an outbox row stands for, read from the database when it is delivered (so a thanks shows
its claps and a reminder its answers as they are then). ``cards.payloads`` turns it into a message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.app import outcomes as o
from core.app.after_meeting import after_meeting_prompt
from core.app.digest import load_digest_delivery
from core.app.execute import reminder, setup_shown
from core.app.mixers import load_mixer_delivery
from core.app.projects import closing as project_closing
from core.models import Workspace
from core.projects.service import CLOSING_KIND
from core.services.thanks import load_thanks_view
from core.views import ThanksView


@dataclass(frozen=True)
class Prepared(o.Outcome):
    """A message written whole into the outbox (``cards.model.message_to_dict``)."""

    data: Mapping[str, Any]


@dataclass(frozen=True)
class Notified(o.Outcome):
    """A thanks as its recipient is told of it, 1:1."""

    view: ThanksView


async def load_delivery(workspace: Workspace, payload: Mapping[str, Any]) -> o.Outcome:
    """The outcome an outbox payload stands for; a ``KizunaError`` when what it names is gone."""
    kind = payload.get("type")
    if kind == "thanks":
        view = await load_thanks_view(workspace, int(payload["thanks_id"]))
        return Notified(view) if payload.get("audience") == "recipient" else o.ThanksShown(view)
    if kind == "reminder":
        return await reminder(workspace, int(payload["meeting_id"]), str(payload["occurrence"]),
                              late=bool(payload.get("late")))
    if kind == "setup":
        return await setup_shown(workspace, installed=bool(payload.get("installed")))
    if kind == "after_meeting":
        return await after_meeting_prompt(workspace, int(payload["meeting_id"]), str(payload["occurrence"]),
                                          late=bool(payload.get("late")))
    if kind == CLOSING_KIND:
        return await project_closing(workspace, int(payload["project_id"]))
    if kind == "dashboard_link":
        return o.DashboardLinkIssued(str(payload["url"]), int(payload["minutes"]))
    if kind == "message":
        return Prepared(dict(payload["message"]))
    if kind in ("mixer_round", "mixer_invite", "mixer_day"):
        return await load_mixer_delivery(workspace, payload)
    if kind in ("digest", "recap"):
        loaded = await load_digest_delivery(workspace, payload)
        if loaded is not None:
            return loaded
    raise ValueError(f"unknown outbox payload type {kind!r}")
