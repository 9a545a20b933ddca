"""The project rules at the service: keys unique even when two people create at once, tags that match
whatever their width, case or script, and a closed project that takes nothing new."""

from __future__ import annotations

import asyncio

import pytest

from core.projects import errors
from core.projects import service as projects
from core.projects.models import Project, ProjectMember
from core.projects.service import ProjectRow, match_project, pick_project
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace

ROWS = [ProjectRow(1, "launch", "ローンチ", "open"), ProjectRow(2, "ümlaut", "Straße Team", "open"),
        ProjectRow(3, "kaizen", "改善", "closed")]


@pytest.mark.parametrize(("tag", "key"), [
    ("launch", "launch"), ("+LAUNCH", "launch"), ("＋ＬａＵＮＣＨ", "launch"), ("ローンチ", "launch"),
    ("ﾛｰﾝﾁ", "launch"),  # half-width katakana
    ("ÜMLAUT", "ümlaut"), ("strasse-team", "ümlaut"), ("STRASSETEAM", "ümlaut"), ("＋改善", "kaizen"),
])
def test_a_tag_matches_by_key_or_name_whatever_its_width_case_or_script(tag, key):
    assert match_project(ROWS, tag).key == key


def test_a_tag_that_names_no_project_or_a_closed_one_is_refused_and_none_means_none():
    assert match_project(ROWS, "lunch") is None and match_project(ROWS, "+") is None
    with pytest.raises(errors.UnknownProject):
        pick_project(ROWS, ["lunch"])
    with pytest.raises(errors.ProjectClosed):
        pick_project(ROWS, ["改善"])
    with pytest.raises(errors.TooManyProjects):
        pick_project(ROWS, ["launch", "ümlaut"])
    assert pick_project(ROWS, ["launch", "LAUNCH", "ローンチ"]).key == "launch"
    assert pick_project(ROWS, ["なし"]) is None and pick_project(ROWS, ["＋ＮＯＮＥ"]) is None


async def test_two_people_creating_the_same_key_at_once_make_one_project(workspace, alice, bob):
    results = await asyncio.gather(projects.create_project(workspace, alice, "launch", "Launch"),
                                   projects.create_project(workspace, bob, "ＬＡＵＮＣＨ", "Other"),
                                   return_exceptions=True)
    made = [r for r in results if isinstance(r, projects.ProjectView)]
    refused = [r for r in results if isinstance(r, errors.ProjectKeyTaken)]
    assert len(made) == 1 and len(refused) == 1, results
    assert await Project.all().count() == 1 and await ProjectMember.all().count() == 1


async def test_the_same_key_is_free_in_another_workspace(workspace, alice):
    await projects.create_project(workspace, alice, "launch", "Launch")
    other = await ensure_workspace("console", "elsewhere")
    from core.services.members import ensure_member

    carol = await ensure_member(other, "carol")
    made = await projects.create_project(other, carol, "launch", "Launch")
    assert made.key == "launch" and await Project.all().count() == 2
    assert [v.key for v in await projects.list_projects(other)] == ["launch"]


async def test_a_thanks_to_a_closed_project_is_refused_and_nothing_is_written(workspace, alice, bob):
    from core.models import Thanks

    await projects.create_project(workspace, alice, "launch", "Launch")
    await projects.close_project(workspace, alice, "launch")
    with pytest.raises(errors.ProjectClosed):
        await give_thanks(workspace, alice, [bob], "late", project_tags=["launch"])
    assert await Thanks.all().count() == 0
    with pytest.raises(errors.ProjectClosed):
        await projects.project_for_meeting(workspace, alice, "launch")
