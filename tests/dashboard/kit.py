"""Known data for the dashboard tests: two departments that thank each other, and a signed-in client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient

from core.meetings.models import Meeting, Rsvp
from core.models import Department, Member, Thanks, Workspace
from core.projects.models import CLOSED, Project
from core.services.members import ensure_member
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # a Wednesday, in November (Asia/Tokyo)


@dataclass
class Company:
    workspace: Workspace
    people: dict[str, Member]
    departments: dict[str, Department]


async def company(external_id: str = "acme") -> Company:
    """Sales (s1..s4) and Dev (d1..d4), plus a root admin, all in ``external_id``.

    This month (November 2026), on the 8th: each of s1..s3 thanks d1, d2 and d3 (9 thanks Sales → Dev, three
    senders, three recipients); s4 thanks s1 (1 thanks inside Sales, one sender); d1 thanks s1 (1 Dev → Sales).
    A Sales × Dev meeting starts on the 9th; on the 11th s2 thanks d4, tagged #teamwork (Sales → Dev: 10).
    Projects: "launch" (Sales × Dev) holds the four thanks across departments of the 8th (s1, s2, s3 → Dev and
    d1 → Sales) and closed on the 9th at 10:00 Tokyo; "kaizen" (Sales only) is open and has none.
    """
    workspace = await ensure_workspace("console", external_id, default_locale="en")
    departments = {name: await Department.create(workspace=workspace, name=name) for name in ("Sales", "Dev")}
    people: dict[str, Member] = {}
    for prefix, department in (("s", "Sales"), ("d", "Dev")):
        for i in range(1, 5):
            member = await ensure_member(workspace, f"{prefix}{i}", display_name=f"{department} person {i}")
            member.department = departments[department]
            await member.save()
            people[f"{prefix}{i}"] = member
    root = await ensure_member(workspace, "root", display_name="Root Admin")
    root.is_admin = True
    await root.save()
    people["root"] = root
    moment = NOW - timedelta(days=10)
    for sender in ("s1", "s2", "s3"):
        await give_thanks(workspace, people[sender], [people["d1"], people["d2"], people["d3"]], "thanks for the help",
                          now=moment)
    await give_thanks(workspace, people["s4"], [people["s1"]], "inside the team", now=moment)
    await give_thanks(workspace, people["d1"], [people["s1"]], "back across", now=moment)
    # Sales × Dev meet from 9 November (after those thanks); three people said yes to the first one.
    meeting = await Meeting.create(workspace=workspace, title="Sales × Dev sync", departments=["Sales", "Dev"],
                                   department_ids=[departments["Sales"].id, departments["Dev"].id],
                                   start_local="2026-11-09T10:00", timezone="Asia/Tokyo", channel="console",
                                   rrule="FREQ=WEEKLY")
    for who in ("s1", "d1", "d2"):
        await Rsvp.create(meeting=meeting, occurrence="2026-11-09", member=people[who], answer="yes")
    await give_thanks(workspace, people["s2"], [people["d4"]], "after the sync #teamwork", ["teamwork"],
                      now=moment + timedelta(days=3))
    launch = await Project.create(workspace=workspace, key="launch", name="Launch 2027",
                                  department_ids=[departments["Sales"].id, departments["Dev"].id],
                                  start_date=date(2026, 10, 1), end_date=date(2026, 11, 8), status=CLOSED,
                                  closed_at=datetime(2026, 11, 9, 1, 0, tzinfo=UTC), announced_at=NOW)
    await Project.create(workspace=workspace, key="kaizen", name="カイゼン", department_ids=[departments["Sales"].id],
                         start_date=date(2026, 11, 1))
    await Thanks.filter(workspace_id=workspace.id, message__in=["thanks for the help", "back across"]).update(
        project_id=launch.id)
    return Company(workspace, people, departments)


LINK = re.compile(r"/dashboard/signin/[A-Za-z0-9_-]+")


async def sign_in(client: TestClient, url: str) -> str:
    """Follow a sign-in link as a browser does: GET the page, POST its form."""
    path = LINK.search(url).group(0)
    page = await client.get(path)
    assert page.status == 200 and 'method="post"' in await page.text()
    posted = await client.post(path, allow_redirects=False)
    assert posted.status == 303 and posted.headers["Location"] == "/dashboard"
    return posted.headers["Set-Cookie"]
