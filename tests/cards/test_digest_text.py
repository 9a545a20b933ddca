"""The digest as text, in both languages, against golden files. KIZUNA_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cards.digest import digest_text
from core.meetings.service import create_meeting
from core.projects.service import create_project
from core.services.digest import build_digest
from core.services.members import ensure_member, set_department
from core.services.stats import Period
from core.services.thanks import clap, give_thanks

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo
IN_WEEK = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("locale", ["en", "ja"])
async def test_digest_text_matches_golden_file(workspace, admin, locale):
    workspace.daily_limit = 100
    await workspace.save()
    people = {}
    for name, department in [("Sam", "Sales"), ("Sue", "Sales"), ("Sid", "Sales"), ("Eve", "Engineering"),
                             ("Eli", "Engineering"), ("Ema", "Engineering"), ("Hana", "HR"), ("Hiro", "HR"),
                             ("Haru", "HR")]:
        people[name] = member = await ensure_member(workspace, name.lower(), display_name=name)
        await set_department(workspace, admin, member, department)
    await give_thanks(workspace, people["Hana"], [people["Sam"]], "long ago", now=IN_WEEK - timedelta(weeks=12))
    await give_thanks(workspace, people["Sam"], [people["Sue"]], "before", now=IN_WEEK - timedelta(days=7))
    await create_meeting(workspace, admin, title="HR × Sales lunch", start="2026-12-03 12:00", channel="c",
                         departments=["HR", "Sales"], now=IN_WEEK)
    await create_project(workspace, admin, "release", "Winter release", start="2026-11-24", now=IN_WEEK)
    first = await give_thanks(workspace, people["Sam"], [people["Eve"], people["Sue"]],
                              "thanks for the late-night deploy and the calm on the call", ["collaboration"],
                              project_tags=["release"], now=IN_WEEK)
    await give_thanks(workspace, people["Eli"], [people["Sid"]], "great demo", ["collaboration", "growth"],
                      now=IN_WEEK)
    for name in ("Eli", "Ema", "Sid"):
        await clap(workspace, first.view.id, people[name])
    text = digest_text(await build_digest(workspace, Period.WEEK, now=NOW), locale, workspace.timezone,
                       public_url="http://127.0.0.1:3978")
    assert "@" not in text  # names are shown, nobody is mentioned
    path = GOLDEN / f"digest.{locale}.txt"
    if os.environ.get("KIZUNA_UPDATE_GOLDEN"):
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8")


async def test_an_empty_week_says_so(workspace):
    text = digest_text(await build_digest(workspace, Period.WEEK, now=NOW), "en", workspace.timezone)
    assert text.splitlines()[1:] == ["0 thanks, 0 people took part (period before: 0 thanks, 0 people)",
                                     "No thanks were sent in this period."]
