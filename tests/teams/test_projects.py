"""Projects on Teams: the text commands and card (with its department table), a thanks in the project's
channel, the project choice of the thanks dialog, and the closing card's "Thank the team" dialog."""

from __future__ import annotations

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, BOB, CAROL
from core.meetings.models import Meeting
from core.models import Thanks, Workspace
from core.projects.models import Project
from core.services.access import SYSTEM_ACTOR
from core.services.members import ensure_department, ensure_member, set_department
from kizuna.worker import OutboxWorker
from tests.teams.cards import inputs, texts
from tests.teams.test_meetings import task_fetch, task_submit

CHANNEL = "19:channel@thread.tacv2"


async def say(client, connector, sender, text, mentioned=(), **kwargs):
    response = await client.post("/api/messages", json=t.message(connector.url, sender, text, mentioned, **kwargs))
    assert response.status == 201
    return connector.activities()[-1].card()


async def test_a_project_card_shows_its_departments_as_a_table_of_thanks(teams, connector, check_card):
    client, _ = teams
    await say(client, connector, ALICE, "help")
    workspace = await Workspace.get(platform="teams")
    sales, engineering = [await ensure_department(workspace, n) for n in ("Sales", "Engineering")]
    # Bob and Carol are put in their departments before Kizuna first meets them.
    for user, department in ((BOB, sales), (CAROL, engineering)):
        member = await ensure_member(workspace, user.id, display_name=user.name)
        await set_department(workspace, SYSTEM_ACTOR, member, department.name)
    card = check_card(await say(client, connector, ALICE, f"project create launch 「ローンチ」 "
                                f"departments=Sales, Engineering channel=here {BOB.tag}", [BOB]))
    assert any("Project +launch created: ローンチ" in x for x in texts(card))
    assert (await Project.get()).channel == CHANNEL
    # In the project's channel a thanks belongs to it without a tag.
    thanks = check_card(await say(client, connector, BOB, f"thanks {CAROL.tag} for the API", [CAROL]))
    assert any("📁 ローンチ +launch" in x for x in texts(thanks))
    await say(client, connector, CAROL, f"thanks {BOB.tag} for the pitch +none", [BOB])
    assert [t.project_id is not None for t in await Thanks.all().order_by("id")] == [True, False]
    card = check_card(await say(client, connector, CAROL, "project show launch"))
    [table] = [e for e in card["body"] if e["type"] == "Table"]
    cells = [[c["items"][0]["inlines"][0]["text"] for c in row["cells"]] for row in table["rows"]]
    assert cells == [["from \\ to", "Sales", "Engineering"], ["Sales", "0", "1"], ["Engineering", "0", "0"]]
    assert any("1 thank-you within the project, 1 of them across departments" in x for x in texts(card))
    # Refusals in the reader's language, as a card.
    refused = check_card(await say(client, connector, CAROL, "プロジェクト 終了 launch", locale="ja-JP"))
    assert any("オーナーか管理者だけ" in x for x in texts(refused))


async def test_the_thanks_dialog_offers_the_open_projects_and_keeps_the_choice(teams, connector, check_card):
    client, _ = teams
    await say(client, connector, ALICE, 'project create launch "Launch 2027"')
    answer = await (await client.post("/api/messages", json=t.invoke(
        connector.url, ALICE, "composeExtension/fetchTask", {"commandId": "sendThanks", "commandContext": "compose",
                                                             "context": {"theme": "default"}}))).json()
    form = check_card(answer["task"]["value"]["card"]["content"])
    choice = inputs(form)["project"]
    assert [c["value"] for c in choice["choices"]] == ["launch", "none"]
    assert choice["choices"][0]["title"] == "Launch 2027 +launch"
    # An error keeps the project chosen; the thanks then carries it.
    answer = await (await client.post("/api/messages", json=task_submit(connector, {
        "kizuna": "send_thanks", "recipients": "aad-bob", "message": " ", "project": "launch"}))).json()
    assert inputs(check_card(answer["task"]["value"]["card"]["content"]))["project"]["value"] == "launch"
    response = await client.post("/api/messages", json=task_submit(connector, {
        "kizuna": "send_thanks", "recipients": "aad-bob", "message": "for the plan", "project": "launch"}))
    assert response.status == 200
    assert (await Thanks.get()).project_id == (await Project.get()).id


async def test_the_closing_card_mentions_the_members_and_opens_the_dialog_with_the_others(teams, connector,
                                                                                         check_card):
    client, adapter = teams
    await say(client, connector, ALICE, f"project create launch channel=here {BOB.tag} {CAROL.tag}", [BOB, CAROL])
    await say(client, connector, ALICE, "project close launch")
    connector.clear()
    assert await OutboxWorker([adapter]).drain() == 1
    card = check_card(connector.wait_for(1)[0].card())
    assert sorted(e["mentioned"]["id"] for e in card["msteams"]["entities"]) == sorted([ALICE.id, BOB.id, CAROL.id])
    [button] = card["actions"]
    assert button["data"]["kizuna"] == "thank_project" and button["data"]["msteams"] == {"type": "task/fetch"}
    answer = await (await client.post("/api/messages", json=task_fetch(connector, button["data"], sender=BOB))).json()
    picker = inputs(check_card(answer["task"]["value"]["card"]["content"]))["recipients"]
    # Bob is left out; people Kizuna has seen are offered by Entra id (what the people picker uses).
    assert [c["title"] for c in picker["choices"]] == ["Alice", "Carol"]
    assert picker["value"].split(",")[0] == ALICE.aad and len(picker["value"].split(",")) == 2


async def test_the_meeting_dialog_offers_the_open_projects_and_a_project_meeting_names_it(teams, connector,
                                                                                         check_card):
    from tests.teams.test_meetings import FORM, create_through_dialog, departments_for_teams, open_edit_dialog

    client, _ = teams
    await departments_for_teams(client, connector)
    await say(client, connector, ALICE, 'project create launch "Launch 2027" departments=Engineering')
    await say(client, connector, ALICE, "project create old")
    await say(client, connector, ALICE, "project close old")
    answer = await (await client.post("/api/messages", json=task_fetch(connector, {"kizuna": "meeting_form"}))).json()
    choice = inputs(check_card(answer["task"]["value"]["card"]["content"]))["project"]
    assert [(c["title"], c["value"]) for c in choice["choices"]] == [("Launch 2027 +launch", "launch"),
                                                                     ("No project", "none")]
    assert "value" not in choice
    connector.clear()
    # A kick-off of the project: it invites the project's departments too, and its card names the project.
    _, closed = await create_through_dialog(client, connector, project="launch", departments="Sales")
    assert closed == {}
    meeting = await Meeting.get()
    assert meeting.departments == ["Sales", "Engineering"]
    assert meeting.project_id == (await Project.get(key="launch")).id
    card = check_card(connector.wait_for(1)[0].card())
    assert any("📁 Launch 2027 +launch" in x for x in texts(card))
    # The edit dialog shows the project chosen; choosing "No project" takes the meeting out of it.
    answer = await open_edit_dialog(client, connector, meeting.id)
    assert inputs(check_card(answer["task"]["value"]["card"]["content"]))["project"]["value"] == "launch"
    edit = {**FORM, "kizuna": "edit_meeting", "meeting_id": str(meeting.id), "departments": "Sales,Engineering"}
    response = await client.post("/api/messages", json=task_submit(connector, {**edit, "project": "launch"}))
    assert await response.json() == {}  # nothing changed
    response = await client.post("/api/messages", json=task_submit(connector, {**edit, "project": "none"}))
    assert await response.json() == {} and (await Meeting.get()).project_id is None
    # A closed project is refused inside the dialog, with what was entered kept.
    response = await client.post("/api/messages", json=task_submit(connector, {**edit, "project": "old"}))
    form = check_card((await response.json())["task"]["value"]["card"]["content"])
    assert any("+old is closed" in x for x in texts(form)) and (await Meeting.get()).project_id is None
