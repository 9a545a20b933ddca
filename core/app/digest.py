"""The digest and personal recaps in the application layer: their commands, outcomes and delivered forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, handles
from core.models import Workspace
from core.services import workspaces
from core.services.digest import Digest, build_digest
from core.services.digest_schedule import set_digest_schedule, set_recap
from core.services.recap import Recap, build_recap
from core.services.stats import Period


@dataclass(frozen=True)
class DigestScheduleChanged(o.Outcome):
    """The digest's schedule was set; ``next_at`` is the next posting moment (None: off)."""

    schedule: str
    next_at: datetime | None
    timezone: str
    feed_channel: bool
    settings: Mapping[str, object]


@dataclass(frozen=True)
class RecapChanged(o.Outcome):
    """A member turned their personal monthly recap on or off."""

    enabled: bool


@dataclass(frozen=True)
class DigestShown(o.Outcome):
    """A digest as posted to the feed channel (``late``: after downtime)."""

    digest: Digest
    timezone: str
    late: bool = False


@dataclass(frozen=True)
class RecapShown(o.Outcome):
    """A member's monthly recap, sent to them privately."""

    recap: Recap
    timezone: str
    late: bool = False


@handles(c.SetDigestSchedule)
async def _schedule(context: Context, command: c.SetDigestSchedule) -> o.Outcome:
    workspace = await set_digest_schedule(context.workspace, context.actor, command.schedule, now=context.now)
    return DigestScheduleChanged(workspace.digest_schedule, workspace.next_digest_at, workspace.timezone,
                                 bool(workspace.feed_channel), dict(workspaces.settings_view(workspace)))


@handles(c.SetRecap)
async def _recap(context: Context, command: c.SetRecap) -> o.Outcome:
    await set_recap(context.workspace, context.actor, command.enabled, now=context.now)
    return RecapChanged(command.enabled)


async def load_digest_delivery(workspace: Workspace, payload: Mapping[str, Any]) -> o.Outcome | None:
    """The outcome of a digest or recap outbox row (None for any other kind)."""
    kind = payload.get("type")
    if kind == "digest":
        at = datetime.fromisoformat(str(payload["at"]))
        # Drawn when it is delivered: a digest posted late (or retried) names a meeting still ahead.
        digest = await build_digest(workspace, Period(str(payload.get("period", "week"))), now=at,
                                    meetings_from=max(at, datetime.now(UTC)))
        return DigestShown(digest, workspace.timezone, bool(payload.get("late")))
    if kind == "recap":
        at = datetime.fromisoformat(str(payload["at"]))
        recap = await build_recap(workspace, int(payload["member_id"]), now=at)
        return RecapShown(recap, workspace.timezone, bool(payload.get("late")))
    return None
