"""One batch of due meetings, claimed and handled one by one: what the reminder pass and the after-meeting
prompt pass share.

The batch is read in one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never take
the same meeting); each meeting is then handled in a savepoint of its own. A handler that finds the meeting
changed by another pass or an edit raises ``LostRace`` and its work is undone; a meeting that fails for its
own reasons is logged and tried again an hour later, while a database outage fails the whole pass.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core import outage
from core.meetings.models import Meeting
from core.models import Workspace

log = logging.getLogger("kizuna.scheduler")

RETRY_AFTER = timedelta(hours=1)


class LostRace(Exception):
    """Another pass (or an edit) changed the meeting first: undo this one's work."""


async def handle_due(due_query: QuerySet[Meeting], handle: Callable[[Meeting, Workspace], Awaitable[None]], *,
                     moment: datetime, retry_field: str, what: str) -> tuple[int, int]:
    """Claim the meetings of ``due_query`` (already limited to a batch) and ``handle`` each; returns (meetings
    taken, meetings that failed). A failed one gets ``retry_field`` set an hour after ``moment``."""
    errors = 0
    async with in_transaction() as conn:
        query = due_query.select_for_update(skip_locked=True) if conn.capabilities.support_for_update else due_query
        due = await query
        if not due:
            return 0, 0
        workspaces = {w.id: w for w in await Workspace.filter(id__in={m.workspace_id for m in due})}
        for meeting in due:
            try:
                async with in_transaction():
                    await handle(meeting, workspaces[meeting.workspace_id])
            except LostRace:
                log.debug("meeting %s: another pass or an edit changed it first", meeting.id)
            except Exception:
                if await outage.down():
                    raise  # not this meeting's fault: the pass fails, and a later one takes the meeting up
                # One broken meeting must not stop the others.
                log.exception("%s of meeting %s failed", what, meeting.id)
                errors += 1
                await Meeting.filter(id=meeting.id).update(**{retry_field: moment + RETRY_AFTER})
        return len(due), errors
