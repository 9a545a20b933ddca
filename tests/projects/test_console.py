"""Projects through the console (the Teams words): their rules, refusals in both languages, and thanks."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core.app.deliveries import load_delivery
from core.models import Delivery, Thanks
from core.projects import closing
from core.projects.models import Project, ProjectMember


async def project_thanks() -> list[tuple[str, str | None]]:
    rows = await Thanks.all().order_by("id").prefetch_related("project")
    return [(t.message, t.project.key if t.project else None) for t in rows]


async def test_a_project_is_created_shown_and_listed_with_its_members(people):
    created = await people.say("carol", 'project create launch "Launch 2027" purpose=Ship the app '
                                        "departments=Sales, Engineering end=2027-03-31 @bob")
    assert "Project +launch created: Launch 2027" in created and "Ship the app" in created
    assert "Departments: Sales, Engineering" in created and "Owner: carol" in created
    assert "2 members: carol, bob" in created and "No thanks within the project yet." in created
    assert "thanks @name … #value +launch" in created
    shown = await people.say("bob", "プロジェクト 詳細 ＬＡＵＮＣＨ")
    assert "プロジェクト +launch：Launch 2027" in shown and "メンバー2人：carol、bob" in shown
    assert "+launch Launch 2027 — Sales × Engineering · 2 members (open)" in await people.say("dave", "project list")
    assert "+launch" in await people.say("dave", "project")


async def test_bad_input_is_refused_in_both_languages_and_writes_nothing(people):
    assert "There is no department called “Marketing”" in await people.say(
        "carol", "project create launch departments=Marketing")
    assert "cannot be a project key" in await people.say("carol", "project create 2027")
    assert "キーにできません" in await people.say("bob", "プロジェクト 作成 なし")
    assert "YYYY-MM-DD" in await people.say("carol", "project create launch end=someday")
    assert "終了日は開始日以降" in await people.say("bob", "プロジェクト 作成 launch 開始=2027-01-10 終了=2027-01-01")
    assert await Project.all().count() == 0 and await ProjectMember.all().count() == 0
    await people.say("carol", 'project create launch "Launch 2027"')
    assert "already names a project" in await people.say("dave", "project create LAUNCH")
    assert "already names a project" in await people.say("dave", 'project create other "launch 2027"')
    assert "すでにプロジェクトの名前" in await people.say("bob", "プロジェクト 作成 ｌａｕｎｃｈ")
    assert await Project.all().count() == 1


async def test_only_members_owners_or_admins_change_a_project(people):
    await people.say("carol", 'project create launch "Launch 2027"')
    assert "Only the members of +launch" in await people.say("dave", "project add launch @dave")
    assert "+launch のメンバーを変更できるのは" in await people.say("bob", "プロジェクト 追加 launch @bob")
    assert "Only the owner of +launch or an admin" in await people.say("dave", "project close launch")
    assert "Only the owner of +launch or an admin" in await people.say("dave", 'project edit launch name="Mine"')
    assert "You joined +launch" in await people.say("dave", "project join launch")
    # A member may add others, but editing and closing stay the owner's (and admins').
    assert "3 members: carol, dave, bob" in await people.say("dave", "project add launch @bob")
    assert "Only the owner of +launch or an admin" in await people.say("dave", "project close launch")
    assert "Project +launch updated: Launch 2028" in await people.say("alice", 'project edit launch name="Launch 2028"')
    # Anyone may leave; the owner hands over.
    assert "2 members: carol, bob" in await people.say("dave", "project remove launch @dave")
    assert "Owner: bob" in await people.say("carol", "project edit launch owner @bob")
    assert "Only the owner of +launch" in await people.say("carol", "project close launch")


async def test_a_thanks_carries_a_project_by_key_or_name_in_any_width_case_or_language(people):
    await people.say("carol", "project create launch ローンチ departments=Sales, Engineering")
    await people.say("carol", "project create kaizen Kaizen")
    said = await people.say("bob", "ありがとう @carol 助かりました ＋ＬＡＵＮＣＨ ＃チームワーク")
    assert "📁 ローンチ +launch" in said
    assert "📁 ローンチ +launch" in await people.say("carol", "thanks @bob great +ローンチ")
    assert "📁 Kaizen +kaizen" in await people.say("dave", "thanks @bob tidy +KAIZEN.")
    # ``+1`` is not a tag; a message with none belongs to no project (the console channel is no project's).
    assert "+1 for the demo" in await people.say("dave", "thanks @carol +1 for the demo")
    assert "There is no project “nope”. Open projects: +launch +kaizen" in await people.say(
        "dave", "thanks @carol hi +nope")
    assert "at most one project" in await people.say("dave", "thanks @carol hi +launch +kaizen")
    assert "プロジェクトは1つまで" in await people.say("bob", "ありがとう @carol hi +launch +なし")
    assert await project_thanks() == [("助かりました", "launch"), ("great", "launch"), ("tidy", "kaizen"),
                                      ("+1 for the demo", None)]
    shown = await people.say("alice", "project show launch")
    assert "2 thanks within the project, 2 of them across departments" in shown
    assert "Sales       │     0 │           1" in shown and "Engineering │     1 │           0" in shown
    assert "Values: 🙌 Teamwork ×1" in shown


async def test_a_thanks_in_the_project_s_channel_belongs_to_it_unless_the_sender_says_none(people):
    await people.say("carol", "project create launch channel=here")
    await people.say("bob", "ありがとう @carol チャンネルで")
    await people.say("dave", "thanks @carol not this one +none")
    await people.say("dave", "thanks @carol nor this one +なし")
    assert await project_thanks() == [("チャンネルで", "launch"), ("not this one", None), ("nor this one", None)]
    assert "already the home of the open project +launch" in await people.say(
        "dave", "project create other channel=here")
    # A closed project's channel is an ordinary channel again: thanks there belong to no project.
    await people.say("carol", "project close launch")
    assert "🎉" in await people.say("bob", "ありがとう @carol 終わった後")
    assert (await project_thanks())[-1] == ("終わった後", None)


async def test_a_closed_project_takes_no_thanks_or_members_but_keeps_its_history(people):
    await people.say("carol", "project create launch @bob")
    await people.say("bob", "ありがとう @carol 最初 +launch")
    closed = await people.say("carol", "project close launch")
    assert "Project +launch closed" in closed and "1 thank-you within the project" in closed
    assert "is closed: it takes no new thanks" in await people.say("dave", "thanks @bob late +launch")
    assert "終了しています" in await people.say("bob", "ありがとう @carol 遅れて +launch")
    assert "is closed" in await people.say("dave", "project join launch")
    assert "is closed" in await people.say("carol", "project add launch @dave")
    assert "is closed" in await people.say("carol", "project close launch")
    assert "+launch Launch" not in await people.say("dave", "project list")
    assert "(closed)" in await people.say("dave", "project list all")
    assert "1 thank-you within the project" in await people.say("dave", "project show launch")
    assert "Project +launch reopened" in await people.say("carol", "project reopen launch")
    assert "already open" in await people.say("carol", "project reopen launch")
    assert "📁" in await people.say("dave", "thanks @bob again +launch")


async def test_closing_by_hand_queues_one_closing_card_with_the_figures_and_the_round_of_thanks(people):
    await people.say("alice", "feed here")
    await people.say("carol", "project create launch channel=here departments=Sales, Engineering @bob @dave")
    await people.say("bob", "ありがとう @carol @dave 設計 #チームワーク")
    await people.say("carol", "project close launch")
    [card] = await Delivery.filter(kind="project_closing")
    assert card.address_key == "channel:console" and card.dedupe_key.startswith("project-closing:")
    # The pass that closes projects at their end finds nothing more to post.
    again = await closing.run_due(datetime.now(UTC) + timedelta(days=400))
    assert again.closed == [] and again.announced == []
    assert await Delivery.filter(kind="project_closing").count() == 1
    outcome = await load_delivery(people.sessions["alice"].workspace, card.message)
    text = render_text(render_outcome(outcome, Audience("en", "Asia/Tokyo", "console")))
    assert "Project +launch “launch” has closed" in text
    assert "1 thank-you within the project, 1 of them across departments" in text
    assert "@carol, @bob, @dave" in text and "thanks @carol @bob @dave …" in text


async def test_a_project_closes_once_at_the_end_of_its_last_day_even_with_passes_racing(people):
    await people.say("carol", "project create launch channel=here start=2026-11-01 end=2026-11-30")
    await people.say("carol", "project create later channel=elsewhere start=2026-11-01 end=2026-12-31")
    # 2026-11-30 23:30 in Tokyo: the last day is not over yet.
    early = await closing.run_due(datetime(2026, 11, 30, 14, 30, tzinfo=UTC))
    assert early.closed == [] and await Project.filter(status="open").count() == 2
    results = await asyncio.gather(*(closing.run_due(datetime(2026, 11, 30, 15, 30, tzinfo=UTC)) for _ in range(3)))
    launch = await Project.get(key="launch")
    assert sorted(p for r in results for p in r.closed) == [launch.id]
    assert sorted(p for r in results for p in r.announced) == [launch.id]
    assert launch.status == "closed" and launch.announced_at is not None
    assert await Delivery.filter(kind="project_closing").count() == 1
    assert (await Project.get(key="later")).status == "open"
    # Reopened (its past end removed) and closed again, it gets a second closing card.
    await people.sessions["alice"].handle("project reopen launch")
    assert (await Project.get(key="launch")).end_date is None
    await people.say("alice", "project close launch")
    assert await Delivery.filter(kind="project_closing").count() == 2


async def test_help_explains_projects_in_both_languages(people):
    assert "+none" in await people.say("dave", "help project")
    text = await people.say("bob", "ヘルプ プロジェクト")
    assert "プロジェクト 作成 キー" in text and "+なし" in text


def test_dates_are_read_in_either_width():
    from core.projects.service import parse_day

    assert parse_day("２０２７/０３/３１") == date(2027, 3, 31) and parse_day("") is None


async def test_a_merged_department_is_replaced_in_the_projects_that_list_it(people):
    await people.say("alice", "department @alice Marketing")
    await people.say("carol", "project create launch departments=Sales, Marketing, Engineering")
    assert "merged" in await people.say("alice", "department merge Marketing Engineering")
    assert "Departments: Sales, Engineering" in await people.say("carol", "project show launch")
