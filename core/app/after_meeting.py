"""The prompt posted when a meeting's occurrence ends: who came, and an action to thank them.

The scheduler (``core.meetings.prompts``) writes an ``after_meeting`` outbox row; what the prompt
says is read here when it is delivered, so it names everyone who had said "going" by then.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.app import outcomes as o
from core.meetings import service as meetings
from core.meetings.recurrence import Occurrence
from core.meetings.service import MeetingView
from core.models import Workspace
from core.views import MemberRef


@dataclass(frozen=True)
class AfterMeetingPrompt(o.Outcome):
    """One occurrence is over: the people who said "going", to be thanked; ``late`` if posted late."""

    view: MeetingView
    occurrence: Occurrence
    going: tuple[MemberRef, ...]
    late: bool = False


async def after_meeting_prompt(workspace: Workspace, meeting_id: int | str, occurrence: str, *,
                               late: bool = False) -> AfterMeetingPrompt:
    """The prompt of one occurrence as it is now (``KizunaError`` if the meeting or the occurrence is gone)."""
    view = await meetings.get_meeting(workspace, meeting_id)
    occ = await meetings.get_occurrence(workspace, view.id, occurrence)
    going = await meetings.attendees(workspace, view.id, occ.key)
    return AfterMeetingPrompt(view, occ, going, late)
