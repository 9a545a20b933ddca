"""A member's personal monthly recap: what they sent and received, and the departments they connected with.

Read from ``thanks_recipient`` (one row per recipient, with both departments as they were), through
its (workspace, created_at) index: a month of one workspace, filtered to the member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from core.errors import UnknownMember
from core.models import NO_DEPARTMENT, Department, Member, Thanks, ThanksRecipient, Workspace
from core.services.digest import digest_bounds
from core.services.stats import Period


@dataclass(frozen=True)
class Recap:
    """What one member did in the month [start, end)."""

    name: str
    start: datetime
    end: datetime
    sent: int
    received: int
    departments: tuple[str, ...]

    def first_day(self, tz_name: str) -> date:
        return self.start.astimezone(ZoneInfo(tz_name)).date()

    def last_day(self, tz_name: str) -> date:
        return (self.end.astimezone(ZoneInfo(tz_name)) - timedelta(seconds=1)).date()


async def build_recap(workspace: Workspace, member_id: int, *, now: datetime | None = None) -> Recap:
    """The recap of the last complete calendar month before ``now`` for one member of ``workspace``."""
    member = await Member.get_or_none(id=member_id, workspace_id=workspace.id)
    if member is None:
        raise UnknownMember(name=str(member_id))
    _previous, start, end = digest_bounds(Period.MONTH, workspace.timezone, now or datetime.now(UTC))
    sent = await Thanks.filter(workspace_id=workspace.id, sender_id=member.id, created_at__gte=start,
                               created_at__lt=end).count()
    rows = await ThanksRecipient.filter(
        Q(sender_id=member.id) | Q(recipient_id=member.id),
        workspace_id=workspace.id, created_at__gte=start, created_at__lt=end,
    ).values_list("sender_id", "recipient_id", "sender_department_id", "recipient_department_id")
    received = sum(1 for _s, recipient, _a, _b in rows if recipient == member.id)
    # The other side's department, on the thanks this member sent or received (their own one is not a connection).
    others = {int(b) if sender == member.id else int(a) for sender, _r, a, b in rows}
    own = member.department_id or NO_DEPARTMENT
    others -= {NO_DEPARTMENT, own}
    names = sorted(d.name for d in await Department.filter(workspace_id=workspace.id, id__in=list(others))) \
        if others else []
    return Recap(member.display_name, start, end, sent, received, tuple(names))
