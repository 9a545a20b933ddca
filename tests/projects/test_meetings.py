"""Project meetings: a kick-off, a sync or a retrospective belongs to a project, invites its departments,
names it on its cards, is listed by the project, and counts in its closing figures."""

from __future__ import annotations

from datetime import UTC, datetime

from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core.app.deliveries import load_delivery
from core.meetings import service as meetings
from core.meetings.models import Meeting
from core.models import Delivery
from core.projects import service as projects
from core.projects.models import Project


async def project_of(meeting_id: int) -> str | None:
    meeting = await Meeting.get(id=meeting_id).prefetch_related("project")
    return meeting.project.key if meeting.project else None


async def test_a_meeting_created_with_a_project_tag_invites_its_departments_and_names_it(people):
    await people.say("carol", "project create launch ローンチ departments=Sales, Engineering @bob")
    created = await people.say("carol", 'meeting create "Kick-off" start=2027-01-11 10:00 ＋ＬＡＵＮＣＨ')
    assert "Kick-off" in created and "Sales × Engineering" in created and "📁 ローンチ +launch" in created
    [meeting] = await Meeting.all()
    assert await project_of(meeting.id) == "launch"
    # ``project=`` names it too, by its name in the other language; the departments given come first.
    said = await people.say("bob", "ミーティング 作成 定例 開始=2027-01-12 10:00 部署=Engineering "
                                   "プロジェクト=ローンチ")
    assert "Engineering × Sales" in said and "📁 ローンチ +launch" in said
    shown = await people.say("dave", "project show launch")
    assert f"Its 2 meetings met 0 times: #{meeting.id} Kick-off, #{meeting.id + 1} 定例" in shown
    assert "ミーティング 2件（開催 計0回）" in await people.say("bob", "プロジェクト 詳細 launch")


async def test_an_edit_moves_a_meeting_into_a_project_or_out_of_it(people):
    await people.say("alice", "department @alice Marketing")
    await people.say("carol", "project create launch departments=Sales, Engineering")
    await people.say("carol", 'meeting create "Retro" start=2027-02-01 15:00 departments=Marketing')
    [meeting] = await Meeting.all()
    edited = await people.say("carol", f"meeting edit {meeting.id} +launch")
    assert "Marketing × Sales × Engineering" in edited and "📁 launch +launch" in edited
    assert await project_of(meeting.id) == "launch"
    # Its departments changed, it still invites the project's.
    assert "Marketing × Sales × Engineering" in await people.say("carol", f"meeting edit {meeting.id} "
                                                                         "departments=Marketing")
    detached = await people.say("carol", f"meeting edit {meeting.id} +none")
    assert "📁" not in detached and await project_of(meeting.id) is None
    assert "📁" not in await people.say("carol", f"meeting edit {meeting.id} departments=Marketing")
    assert (await Meeting.get(id=meeting.id)).departments == ["Marketing"]
    await people.say("carol", f"meeting edit {meeting.id} project=launch")
    await people.say("carol", f"meeting edit {meeting.id} プロジェクト=なし")
    assert await project_of(meeting.id) is None


async def test_bad_project_input_on_a_meeting_is_refused_in_both_languages_and_writes_nothing(people):
    await people.say("carol", "project create launch")
    await people.say("carol", "project create kaizen")
    assert "There is no project “nope”. Open projects: +launch +kaizen" in await people.say(
        "carol", 'meeting create "Sync" start=2027-01-11 10:00 +nope')
    assert "at most one project" in await people.say("carol", "meeting create Sync start=2027-01-11 10:00 +launch "
                                                               "+kaizen")
    # Only its members, its owner or an admin put a meeting in a project.
    assert "Only the members of +launch" in await people.say("dave", "meeting create Sync start=2027-01-11 10:00 "
                                                                      "+launch")
    assert "+launch のメンバー" in await people.say("bob", "ミーティング 作成 定例 開始=2027-01-11 10:00 +launch")
    await people.say("carol", "project close kaizen")
    assert "is closed" in await people.say("carol", "meeting create Sync start=2027-01-11 10:00 +kaizen")
    assert await Meeting.all().count() == 0
    await people.say("bob", "ミーティング 作成 定例 開始=2027-01-11 10:00")
    [meeting] = await Meeting.all()
    assert "終了しています" in await people.say("bob", f"ミーティング 編集 {meeting.id} +kaizen")
    assert "+launch のメンバー" in await people.say("bob", f"ミーティング 編集 {meeting.id} +launch")
    assert await project_of(meeting.id) is None


async def test_the_closing_figures_count_the_times_the_project_s_meetings_met(people):
    workspace = people.sessions["carol"].workspace
    carol = people.sessions["carol"].member
    await people.say("carol", "project create launch channel=here departments=Sales, Engineering")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    weekly = await meetings.create_meeting(workspace, carol, title="Sync", start="2027-01-04 10:00",
                                           repeat="weekly", channel="console", project="launch", now=now)
    await meetings.create_meeting(workspace, carol, title="Kick-off", start="2027-01-05 10:00", channel="console",
                                  project="+launch", now=now)
    await meetings.skip_occurrence(workspace, carol, weekly.id, "2027-01-11", now=now)
    launch = await Project.get(key="launch")
    # Mondays 4, (11 skipped), 18, 25 and the kick-off on the 5th: four meetings by the end of January.
    figures = await projects.figures(workspace, launch.id, now=datetime(2027, 1, 31, tzinfo=UTC))
    assert [(m.title, m.met) for m in figures.meetings] == [("Sync", 3), ("Kick-off", 1)]
    assert figures.meetings_met == 4
    # Closed on 20 January, the project's meetings stop counting then.
    await projects.close_project(workspace, carol, "launch", now=datetime(2027, 1, 20, tzinfo=UTC))
    closed = await projects.figures(workspace, launch.id, now=datetime(2027, 3, 1, tzinfo=UTC))
    assert closed.meetings_met == 3
    [card] = await Delivery.filter(kind="project_closing")
    outcome = await load_delivery(workspace, card.message)
    text = render_text(render_outcome(outcome, Audience("en", "Asia/Tokyo", "console")))
    assert f"Its 2 meetings met 3 times: #{weekly.id} Sync, #{weekly.id + 1} Kick-off" in text
    ja = render_text(render_outcome(outcome, Audience("ja", "Asia/Tokyo", "console")))
    assert "ミーティング 2件（開催 計3回）" in ja
