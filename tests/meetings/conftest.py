"""Meeting fixtures: departments and a monthly cross-department meeting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest_asyncio

from core.meetings import service
from core.services.members import ensure_department

# "Now" in these tests: well before the first meeting.
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest_asyncio.fixture
async def departments(workspace):
    return [await ensure_department(workspace, "Sales"), await ensure_department(workspace, "Engineering")]


@pytest_asyncio.fixture
async def meeting(workspace, alice, departments) -> service.MeetingView:
    """Sales × Engineering, the first Monday of every month at 10:00 Tokyo, reminders 1 day and 15 min before."""
    return await service.create_meeting(
        workspace, alice, title="Sales x Eng sync", start="2026-12-07 10:00", timezone="Asia/Tokyo",
        repeat="monthly-nth-weekday", departments="Sales,Engineering", channel="general", place="Room 3",
        now=NOW)
