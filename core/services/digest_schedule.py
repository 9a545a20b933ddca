"""When digests and personal recaps are due: the schedule words, the posting moments, and the switches.

A weekly digest is posted on Monday at 09:00 in the workspace's time zone and covers the week that
just ended (Monday to Sunday); a monthly one on the 1st at 09:00 covers the month that just ended.
Personal recaps follow the monthly rhythm. Moments are built from the local wall-clock time, so a
change of daylight saving time moves nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.errors import InvalidSetting
from core.i18n import fold
from core.models import Member, Workspace
from core.services.access import require_admin
from core.services.stats import Period

POST_HOUR = 9
"""The local hour digests and recaps are posted at."""


class Schedule(StrEnum):
    """How often a workspace's digest is posted."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    OFF = "off"

    @property
    def period(self) -> Period:
        """The period one digest covers."""
        return Period.MONTH if self is Schedule.MONTHLY else Period.WEEK


SCHEDULE_WORDS = {
    "weekly": Schedule.WEEKLY, "week": Schedule.WEEKLY, "毎週": Schedule.WEEKLY, "週次": Schedule.WEEKLY,
    "週": Schedule.WEEKLY,
    "monthly": Schedule.MONTHLY, "month": Schedule.MONTHLY, "毎月": Schedule.MONTHLY, "月次": Schedule.MONTHLY,
    "月": Schedule.MONTHLY,
    "off": Schedule.OFF, "none": Schedule.OFF, "never": Schedule.OFF, "オフ": Schedule.OFF, "なし": Schedule.OFF,
    "停止": Schedule.OFF, "無効": Schedule.OFF,
}


def parse_schedule(text: str) -> Schedule:
    """``weekly``/``monthly``/``off`` in either language (``毎週``, ``ＯＦＦ``…), or ``InvalidSetting``."""
    schedule = SCHEDULE_WORDS.get(fold(str(text)))
    if schedule is None:
        raise InvalidSetting(name="digest", allowed="weekly, monthly, off")
    return schedule


def _at(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, POST_HOUR, tzinfo=zone).astimezone(UTC)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def next_slot(schedule: Schedule | str, tz_name: str, after: datetime) -> datetime | None:
    """The first posting moment strictly after ``after`` (None when the schedule is off)."""
    schedule = Schedule(schedule)
    if schedule is Schedule.OFF:
        return None
    zone = ZoneInfo(tz_name)
    local = after.astimezone(zone).date()
    if schedule is Schedule.WEEKLY:
        day = local - timedelta(days=local.weekday())
        while _at(day, zone) <= after:
            day += timedelta(weeks=1)
    else:
        day = local.replace(day=1)
        while _at(day, zone) <= after:
            day = _next_month(day)
    return _at(day, zone)


def plan_digest(workspace: Workspace, now: datetime | None = None) -> None:
    """Set ``next_digest_at`` (in memory) to the next posting moment after ``now`` under the workspace's schedule."""
    workspace.next_digest_at = next_slot(workspace.digest_schedule, workspace.timezone, now or datetime.now(UTC))


def replan_recap(workspace: Workspace, now: datetime | None = None) -> bool:
    """Move planned recaps (in memory) to the next moment in the workspace's zone; False if none is planned."""
    if workspace.next_recap_at is None:
        return False
    workspace.next_recap_at = next_slot(Schedule.MONTHLY, workspace.timezone, now or datetime.now(UTC))
    return True


async def set_digest_schedule(workspace: Workspace, actor: Member, schedule: str,
                              now: datetime | None = None) -> Workspace:
    """Change how often the digest is posted (admins only) and plan the next one."""
    require_admin(actor)
    workspace.digest_schedule = parse_schedule(schedule).value
    plan_digest(workspace, now)
    await workspace.save(update_fields=["digest_schedule", "next_digest_at"])
    return workspace


async def set_recap(workspace: Workspace, member: Member, enabled: bool, now: datetime | None = None) -> Member:
    """Turn the member's personal monthly recap on or off; the workspace's recaps are planned when the
    first member asks for one."""
    member.recap_enabled = enabled
    await member.save(update_fields=["recap_enabled"])
    if enabled:
        moment = next_slot(Schedule.MONTHLY, workspace.timezone, now or datetime.now(UTC))
        # Only if nothing is planned yet: a planned (perhaps due) recap keeps its moment.
        if await Workspace.filter(id=workspace.id, next_recap_at__isnull=True).update(next_recap_at=moment):
            workspace.next_recap_at = moment
    return member
