"""Projects on Discord: /project, the project option of /thanks and its autocomplete, the form's project
select, and the closing card's "Thank the team" button (signed interactions into the real app)."""

from __future__ import annotations

import re
from typing import Any

from adapters.discord import wire
from adapters.discord.render import render
from cards.outcomes import Audience, render_outcome
from core.app.deliveries import load_delivery
from core.meetings.models import Meeting
from core.models import Delivery, Thanks, Workspace
from core.projects.models import Project
from kizuna.worker import OutboxWorker
from tests.discord.kit import BOB, CAROL, DAVE, Discord, FakeDiscord
from tests.discord.test_components import autocomplete, modal_submit


def project(discord: Discord, sub: str, *options: tuple[str, int, Any], user: str = CAROL,
            people: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    opts = [{"name": n, "type": k, "value": v} for n, k, v in options]
    resolved = discord.resolved(*people) if people else None
    return discord.command("project", [{"name": sub, "type": wire.OPT_SUB_COMMAND, "options": opts}],
                           resolved=resolved, user=user, **kw)


def said(answer: dict[str, Any]) -> str:
    data = answer["data"]
    parts = [data.get("content") or ""]
    for embed in data.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # markdown escapes read as the text they show


async def test_project_create_show_and_refusals_in_the_reader_s_language(discord: Discord):
    created = await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch"),
                                         ("name", wire.OPT_STRING, "Launch 2027"),
                                         ("channel", wire.OPT_CHANNEL, "555000000000000777"),
                                         ("member", wire.OPT_USER, BOB), people=(BOB,)))
    text = said(created)
    assert "Project +launch created: Launch 2027" in text and "2 members: Carol, Bob" in text
    assert "/thanks project:launch" in text
    made = await Project.get(key="launch")
    assert made.channel == "555000000000000777"
    refused = await discord.send(project(discord, "close", ("project", wire.OPT_STRING, "launch"), user=DAVE,
                                         locale="ja"))
    assert refused["data"]["flags"] & wire.EPHEMERAL and "オーナーか管理者だけ" in said(refused)
    joined = await discord.send(project(discord, "join", ("project", wire.OPT_STRING, "LAUNCH"), user=DAVE))
    assert "You joined +launch" in said(joined)
    listed = await discord.send(project(discord, "list", user=DAVE))
    assert "+launch Launch 2027" in said(listed)


async def test_thanks_carries_the_project_option_and_autocomplete_offers_open_projects(discord: Discord):
    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch"),
                               ("name", wire.OPT_STRING, "ローンチ")))
    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "kaizen")))
    offered = await discord.send(autocomplete(discord, "thanks", [
        {"name": "user", "type": wire.OPT_USER, "value": BOB},
        {"name": "project", "type": wire.OPT_STRING, "value": "ロー", "focused": True}]))
    assert offered["data"]["choices"] == [{"name": "ローンチ +launch", "value": "launch"}]
    payload = discord.thanks(BOB, message="for the launch plan")
    payload["data"]["options"].append({"name": "project", "type": wire.OPT_STRING, "value": "launch"})
    posted = await discord.send(payload)
    assert "📁 ローンチ +launch" in said(posted)
    assert (await Thanks.get()).project_id == (await Project.get(key="launch")).id
    # Sent in the project's channel, a thanks belongs to it unless the sender says "none".
    await Project.filter(key="kaizen").update(channel="555000000000000001")
    await discord.send(discord.thanks(BOB, message="in the channel"))
    none = discord.thanks(BOB, message="not this one")
    none["data"]["options"].append({"name": "project", "type": wire.OPT_STRING, "value": "none"})
    await discord.send(none)
    rows = await Thanks.all().order_by("id").prefetch_related("project")
    assert [(t.message, t.project.key if t.project else None) for t in rows] == [
        ("for the launch plan", "launch"), ("in the channel", "kaizen"), ("not this one", None)]


async def test_the_thanks_form_offers_the_open_projects(discord: Discord):
    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch")))
    opened = await discord.send(discord.command("thanks", [
        {"name": "project", "type": wire.OPT_STRING, "value": "launch"}]))
    assert opened["type"] == wire.MODAL
    labels = opened["data"]["components"]
    select = labels[-1]["component"]
    assert select["custom_id"] == "project" and select["max_values"] == 1
    assert [(o["value"], bool(o.get("default"))) for o in select["options"]] == [("launch", True), ("none", False)]
    submit = modal_submit(discord, opened["data"]["custom_id"], "thanks for the plan", [], people=(BOB,))
    submit["data"]["components"].append({"type": wire.LABEL, "id": 9, "component": {
        "type": wire.STRING_SELECT, "id": 10, "custom_id": "project", "values": ["launch"]}})
    posted = await discord.send(submit)
    assert posted["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE
    assert (await Thanks.get()).project_id is not None


async def test_the_closing_card_pings_the_members_and_its_button_opens_the_form_with_the_others(
        discord: Discord, fake_discord: FakeDiscord):
    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch"),
                               ("channel", wire.OPT_CHANNEL, "555000000000000777"),
                               ("member", wire.OPT_USER, BOB), ("member2", wire.OPT_USER, DAVE), people=(BOB, DAVE)))
    closed = await discord.send(project(discord, "close", ("project", wire.OPT_STRING, "launch")))
    assert "Project +launch closed" in said(closed)
    [delivery] = await Delivery.filter(kind="project_closing")
    assert delivery.address_key == "channel:555000000000000777"
    workspace = await Workspace.get(id=delivery.workspace_id)
    # The card the outbox sends: it pings exactly the members and carries "Thank the team".
    card = render(render_outcome(await load_delivery(workspace, delivery.message), Audience("en", "UTC", "discord")))
    assert sorted(card["allowed_mentions"]["users"]) == sorted([CAROL, BOB, DAVE])
    button = card["components"][0]["components"][0]
    assert button["label"] == "Thank the team"
    # The outbox posts it in the project's channel, once.
    assert await OutboxWorker([discord.adapter]).drain() == 1
    [posted_card] = fake_discord.made("555000000000000777")
    assert "チームに感謝する" in str(posted_card) and "+launch" in str(posted_card)  # the server speaks Japanese
    opened = await discord.send(discord.click(button["custom_id"], user=BOB))
    assert opened["type"] == wire.MODAL
    people = opened["data"]["components"][0]["component"]
    assert people["default_values"] == [{"id": CAROL, "type": "user"}, {"id": DAVE, "type": "user"}]
    posted = await discord.send(modal_submit(discord, opened["data"]["custom_id"], "great teamwork", [],
                                             people=(CAROL, DAVE), user=BOB))
    assert posted["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE
    assert (await Thanks.get()).project_id is None  # the project is closed: a plain thanks


async def test_project_autocomplete_offers_closed_projects_to_project_but_not_to_thanks(discord: Discord):
    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch")))
    await discord.send(project(discord, "close", ("project", wire.OPT_STRING, "launch")))
    typing = [{"name": "project", "type": wire.OPT_STRING, "value": "la", "focused": True}]
    for_thanks = await discord.send(autocomplete(discord, "thanks", typing))
    assert for_thanks["data"]["choices"] == []
    for_reopen = await discord.send(autocomplete(discord, "project", [
        {"name": "reopen", "type": wire.OPT_SUB_COMMAND, "options": typing}]))
    assert [c["value"] for c in for_reopen["data"]["choices"]] == ["launch"]


async def test_a_meeting_takes_the_project_option_with_its_autocomplete_and_names_the_project(discord: Discord):
    from tests.discord.test_meetings import meeting

    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch"),
                               ("name", wire.OPT_STRING, "ローンチ")))
    typing = [{"name": "project", "type": wire.OPT_STRING, "value": "", "focused": True}]
    offered = await discord.send(autocomplete(discord, "meeting", [
        {"name": "create", "type": wire.OPT_SUB_COMMAND, "options": typing}]))
    assert offered["data"]["choices"] == [{"name": "ローンチ +launch", "value": "launch"},
                                          {"name": "No project", "value": "none"}]
    created = await discord.send(meeting(discord, "create", {
        "title": "Kick-off", "start": "2030-12-02 10:00", "project": "launch", "event": False}, user=CAROL))
    assert "📁 ローンチ +launch" in said(created)
    [made] = await Meeting.all()
    assert made.project_id == (await Project.get(key="launch")).id
    # Only its members put a meeting in a project; "none" takes it out.
    refused = await discord.send(meeting(discord, "edit", {"meeting": str(made.id), "project": "launch"}, user=DAVE))
    assert "Only the" in said(refused)
    await discord.send(meeting(discord, "edit", {"meeting": str(made.id), "project": "none"}, user=CAROL))
    assert (await Meeting.get()).project_id is None


async def test_a_thanks_naming_a_closed_project_is_refused_to_the_sender_alone(discord: Discord):
    await discord.send(project(discord, "create", ("key", wire.OPT_STRING, "launch")))
    await discord.send(project(discord, "close", ("project", wire.OPT_STRING, "launch")))
    payload = discord.thanks(BOB, message="too late", locale="ja")
    payload["data"]["options"].append({"name": "project", "type": wire.OPT_STRING, "value": "LAUNCH"})
    refused = await discord.send(payload)
    assert refused["data"]["flags"] & wire.EPHEMERAL and "+launch は終了しています" in said(refused)
    assert await Thanks.all().count() == 0
