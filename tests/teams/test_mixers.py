"""Mixers in Teams: the commands typed in a channel, and a round announced through the outbox —
a channel post that names the groups (no pings), and a 1:1 card per member with a deep link that
starts a group chat with their group (user principal names, looked up once through the connector)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, BOB, CAROL
from core.mixers import scheduler
from core.models import Address, Delivery
from kizuna.worker import OutboxWorker

CHANNEL = "19:lunch@thread.tacv2"
DAVE = t.User("29:dave", "Dave", "aad-dave")
PEOPLE = (ALICE, BOB, CAROL, DAVE)


def said(connector) -> str:
    return " ".join(str(a.card()) for a in connector.activities())


async def test_a_round_in_teams(teams, connector, check_card):
    client, adapter = teams
    for person in PEOPLE:
        connector.members[person.id] = {"id": person.id, "name": person.name, "aadObjectId": person.aad,
                                        "userPrincipalName": f"{person.name.lower()}@contoso.example"}
    await client.post("/api/messages", json=t.message(
        connector.url, ALICE, "mixer create Lunch start=2030-12-04 12:00 size=2 tz=UTC", conversation=CHANNEL))
    assert "groups of 2" in said(connector)
    connector.clear()
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "mixer create Lunch start=2030-12-04 "
                                                      "12:00 size=9", conversation=CHANNEL))
    assert "from 2 to 6" in said(connector)
    for person in PEOPLE:
        connector.clear()
        await client.post("/api/messages", json=t.message(connector.url, person, "mixer join 1", conversation=CHANNEL))
        assert "You joined" in said(connector)
    connector.clear()
    await client.post("/api/messages", json=t.message(connector.url, BOB, "ミキサー 参加 1", conversation=CHANNEL,
                                                      locale="ja-JP"))
    assert "すでに参加" in said(connector)

    result = await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))
    assert len(result.formed) == 1
    connector.clear()
    assert await OutboxWorker([adapter]).drain() == 5  # the channel post and four 1:1 messages
    posts = connector.activities()
    [channel_post] = [p for p in posts if "lunch" in p.path]
    card = check_card(channel_post.card())
    text = str(card["body"])
    assert "entities" not in str(card.get("msteams", {}))
    assert text.count("Alice") == 1 and text.count("Dave") == 1 and "<at>" not in text  # names, not pings
    personal = [p for p in posts if "lunch" not in p.path]
    assert len(personal) == 4, [p.path for p in posts]
    for post in personal:
        card = check_card(post.card())
        [action] = card["actions"]
        assert action["type"] == "Action.OpenUrl"
        link = urlsplit(action["url"])
        assert f"{link.scheme}://{link.netloc}{link.path}" == "https://teams.microsoft.com/l/chat/0/0"
        users = parse_qs(link.query)["users"][0].split(",")
        assert len(users) == 2 and all(u.endswith("@contoso.example") for u in users)
    # The principal names were asked of the channel and kept: the next round asks for none.
    lookups = [r for r in connector.requests if r.method == "GET" and "/members/" in r.path]
    assert lookups and all(r.path.startswith("/v3/conversations/19%3Alunch") for r in lookups)
    assert await Address.filter(key__startswith="teams-upn-of:").count() == 4
    assert await Delivery.filter(kind="mixer").exclude(status="delivered").count() == 0
    assert len((await scheduler.run_due(datetime(2030, 12, 17, 12, 0, tzinfo=UTC))).formed) == 1
    connector.clear()
    assert await OutboxWorker([adapter]).drain() == 5
    assert not [r for r in connector.requests if r.method == "GET" and "/members/" in r.path]
    assert all("actions" in p.card() for p in connector.activities() if "lunch" not in p.path)


async def test_without_principal_names_the_card_goes_without_the_link(teams, connector, check_card):
    client, adapter = teams
    await client.post("/api/messages", json=t.message(
        connector.url, ALICE, "mixer create Lunch start=2030-12-04 12:00 size=2 tz=UTC", conversation=CHANNEL))
    for person in (ALICE, BOB):
        await client.post("/api/messages", json=t.message(connector.url, person, "mixer join 1", conversation=CHANNEL))
    await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))
    connector.clear()
    assert await OutboxWorker([adapter]).drain() == 3
    personal = [p for p in connector.activities() if "lunch" not in p.path]
    assert len(personal) == 2
    for post in personal:
        assert "actions" not in check_card(post.card())
    assert await Delivery.filter(kind="mixer").exclude(status="delivered").count() == 0


async def test_the_day_card_asks_whether_the_group_met(teams, connector, check_card):
    from core.mixers.models import MixerGroupMember

    client, adapter = teams
    await client.post("/api/messages", json=t.message(
        connector.url, ALICE, "mixer create Lunch start=2030-12-04 12:00 size=2 tz=UTC", conversation=CHANNEL))
    for person in (ALICE, BOB):
        await client.post("/api/messages", json=t.message(connector.url, person, "mixer join 1", conversation=CHANNEL))
    await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))
    await OutboxWorker([adapter]).drain()
    day = await scheduler.run_due(datetime(2030, 12, 4, 11, 0, tzinfo=UTC))
    assert len(day.reminded) == 1
    connector.clear()
    assert await OutboxWorker([adapter]).drain() == 2  # a 1:1 card for each of the two
    assert (await scheduler.run_due(datetime(2030, 12, 4, 11, 5, tzinfo=UTC))).reminded == []
    [card, _] = [check_card(p.card()) for p in connector.activities()]
    verbs = [(a["verb"], a["data"]["answer"]) for a in card["actions"] if a["type"] == "Action.Execute"]
    assert verbs == [("mixer_met", "yes"), ("mixer_met", "no")]
    round_id = card["actions"][0]["data"]["round_id"]
    press = t.invoke(connector.url, BOB, "adaptiveCard/action", {
        "action": {"type": "Action.Execute", "verb": "mixer_met", "data": {"round_id": round_id, "answer": "yes"}},
        "trigger": "manual"})
    response = await client.post("/api/messages", json=press)
    answer = await response.json()
    shown = str(check_card(answer["value"]))
    assert "noted that your group met" in shown and "thanks @Alice" in shown
    [thank] = answer["value"]["actions"]
    assert thank["data"]["kizuna"] == "thank_group" and thank["data"]["msteams"] == {"type": "task/fetch"}
    fetch = t.invoke(connector.url, BOB, "task/fetch", {"data": thank["data"], "context": {"theme": "default"}})
    dialog = await (await client.post("/api/messages", json=fetch)).json()
    form = dialog["task"]["value"]["card"]["content"]
    check_card(form)
    assert "aad-alice" in str(form) and "aad-bob" not in str(form)  # the rest of the group, already picked
    assert (await MixerGroupMember.get(member__platform_user_id=BOB.id)).met is True
    press = t.invoke(connector.url, CAROL, "adaptiveCard/action", {
        "action": {"type": "Action.Execute", "verb": "mixer_met", "data": {"round_id": round_id, "answer": "yes"}},
        "trigger": "manual"})
    refused = str(await (await client.post("/api/messages", json=press)).json())
    assert "were not in a group" in refused
