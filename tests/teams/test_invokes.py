"""Invokes: 👏 (adaptiveCard/action), and the "Send thanks" dialog (composeExtension/fetchTask, submitAction)."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from adapters.teams import people as teams_people
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import ALICE, BOB, CAROL, Failure, User
from adapters.teams.dialog import SUBMIT_MARKER
from adapters.teams.render import OPEN_MEETING_FORM
from core.i18n import translate
from core.models import Address, Clap, Delivery, Member, Thanks, ThanksRecipient
from core.services import members as members_service
from core.services import thanks as thanks_service
from core.services import values as values_service
from tests.teams.cards import body_texts

DAVE = User("29:dave", "Dave", "aad-dave")


async def give(client, connector, sender=ALICE, recipients=(BOB,), text="for the demo"):
    tags = " ".join(r.tag for r in recipients)
    response = await client.post("/api/messages", json=t.message(connector.url, sender, f"thanks {tags} {text}",
                                                                  recipients))
    assert response.status == 201
    return await Thanks.all().order_by("-id").first()




async def test_a_clap_returns_the_refreshed_card_and_counts_once(teams, connector, check_card):
    client, _ = teams
    thanks = await give(client, connector)
    connector.clear()
    response = await client.post("/api/messages", json=t.clap_invoke(connector.url, DAVE, thanks.id,
                                                                      reply_to="activity-1"))
    assert response.status == 200
    answer = await response.json()
    assert answer["statusCode"] == 200
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    card = check_card(answer["value"])
    assert any("1 clap" in x for x in body_texts(card))
    # Everyone else's copy is updated too.
    updates = [r for r in connector.activities() if r.method == "PUT"]
    assert updates and updates[0].path.endswith("/activities/activity-1")
    check_card(updates[0].card())

    again = await (await client.post("/api/messages", json=t.clap_invoke(connector.url, DAVE, thanks.id))).json()
    assert again["type"] == "application/vnd.microsoft.activity.message"
    assert "already clapped" in again["value"]
    assert await Clap.all().count() == 1
    assert (await Thanks.get(id=thanks.id)).clap_count == 1


async def test_clapping_your_own_thanks_is_answered_politely(teams, connector):
    client, _ = teams
    thanks = await give(client, connector)
    for who, locale, expected in [(BOB, "en-US", "about you"), (ALICE, "ja-JP", "拍手")]:
        response = await client.post("/api/messages", json=t.clap_invoke(connector.url, who, thanks.id,
                                                                          locale=locale))
        answer = await response.json()
        assert response.status == 200
        assert answer["type"] == "application/vnd.microsoft.activity.message"
        assert expected in answer["value"], answer
    assert await Clap.all().count() == 0


async def test_a_clap_on_a_missing_thanks_or_a_bad_action_is_not_a_server_error(teams, connector):
    client, _ = teams
    answer = await (await client.post("/api/messages", json=t.clap_invoke(connector.url, DAVE, 999))).json()
    assert "no longer exists" in answer["value"]
    bad = t.clap_invoke(connector.url, DAVE, "abc")
    assert (await client.post("/api/messages", json=bad)).status == 200
    submit = t.invoke(connector.url, DAVE, "adaptiveCard/action", {"action": {"type": "Action.Submit"}})
    answer = await (await client.post("/api/messages", json=submit)).json()
    assert answer["statusCode"] == 400


@pytest.mark.parametrize("thanks_id", ["2147483648", "99999999999999999999999", "-5", "0"])
@pytest.mark.parametrize("verb", ["clap", "refresh"])
async def test_a_clap_on_an_id_no_thanks_can_have_says_it_no_longer_exists(teams, connector, thanks_id, verb):
    client, _ = teams
    await give(client, connector)
    response = await client.post("/api/messages", json=t.clap_invoke(connector.url, DAVE, thanks_id, verb=verb))
    assert response.status == 200
    answer = await response.json()
    assert answer == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                      "value": translate("en", "error.thanks_not_found")}
    assert await Clap.all().count() == 0


async def test_refresh_returns_the_current_card(teams, connector, check_card):
    client, _ = teams
    thanks = await give(client, connector)
    answer = await (await client.post("/api/messages", json=t.clap_invoke(
        connector.url, CAROL, thanks.id, verb="refresh"))).json()
    check_card(answer["value"])


def fetch_task(connector, sender=ALICE, context="compose", payload=None, **kwargs):
    value = {"commandId": "sendThanks", "commandContext": context, "context": {"theme": "default"}}
    if payload is not None:
        value["messagePayload"] = payload
    return t.invoke(connector.url, sender, "composeExtension/fetchTask", value, **kwargs)


def submit(connector, data, sender=ALICE, **kwargs):
    return t.invoke(connector.url, sender, "composeExtension/submitAction",
                    {"commandId": "sendThanks", "commandContext": "compose", "data": data}, **kwargs)


def form_inputs(card):
    return {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}


async def test_the_dialog_has_a_people_picker_values_and_a_prefilled_message(teams, connector, check_card):
    client, _ = teams
    payload = {"id": "1700000000123", "body": {"contentType": "html",
                                               "content": "<p>Fixed the <b>build</b>&nbsp;&amp; tests</p><p>2nd</p>"},
               "from": {"user": {"id": "aad-bob", "displayName": "Bob"}}}
    response = await client.post("/api/messages", json=fetch_task(connector, context="message", payload=payload))
    assert response.status == 200
    answer = await response.json()
    task = answer["task"]
    assert task["type"] == "continue"
    assert task["value"]["title"] == "Send thanks"
    card = check_card(task["value"]["card"]["content"])
    inputs = form_inputs(card)
    assert inputs["recipients"]["isMultiSelect"] is True
    assert inputs["recipients"]["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    assert [c["value"] for c in inputs["values"]["choices"]] == [
        "collaboration", "teamwork", "challenge", "customer-first", "growth"]
    assert inputs["message"]["value"] == "Fixed the build & tests\n2nd"
    assert card["actions"][0]["type"] == "Action.Submit"

    ja = await (await client.post("/api/messages", json=fetch_task(connector, locale="ja-JP"))).json()
    card = check_card(ja["task"]["value"]["card"]["content"])
    assert ja["task"]["value"]["title"] == "感謝を送る"
    assert "value" not in form_inputs(card)["message"]
    assert form_inputs(card)["values"]["choices"][0]["title"] == "🤝 協力"


@pytest.mark.parametrize("payload", ["0", 5, [], {"body": "text"}, {"body": {"content": 7}}])
async def test_a_message_payload_of_the_wrong_shape_opens_the_dialog_empty(teams, connector, check_card, payload):
    client, _ = teams
    response = await client.post("/api/messages", json=fetch_task(connector, context="message", payload=payload))
    assert response.status == 200
    card = check_card((await response.json())["task"]["value"]["card"]["content"])
    assert "value" not in form_inputs(card)["message"]


async def test_a_picked_id_too_long_for_teams_is_an_unknown_person_in_the_dialog(teams, connector, check_card):
    client, _ = teams
    raw = "29:" + "x" * 300
    response = await client.post("/api/messages", json=submit(connector, {"recipients": raw, "message": "Thanks!"}))
    card = check_card((await response.json())["task"]["value"]["card"]["content"])
    assert f"I do not know “{raw[:40]}…” in this workspace yet." in json.dumps(card, ensure_ascii=False)
    assert await Thanks.all().count() == 0
    assert all(len(m.platform_user_id) <= 200 for m in await Member.all())


async def test_submitting_the_dialog_posts_the_thanks_card(teams, connector, check_card):
    client, _ = teams
    started = time.monotonic()
    response = await client.post("/api/messages", json=submit(
        connector, {"recipients": "aad-bob,aad-carol", "values": "teamwork,growth", "message": "Great pairing!"},
        conversation="19:dev@thread.tacv2"))
    assert response.status == 200
    assert time.monotonic() - started < 5
    assert await response.json() == {}
    thanks = await Thanks.get()
    assert thanks.message == "Great pairing!"
    posted = [r for r in connector.activities() if r.method == "POST"]
    assert len(posted) == 1
    # A new message in the conversation (not a reply to the invoke).
    assert posted[0].path == "/v3/conversations/19%3Adev%40thread.tacv2/activities"
    card = check_card(posted[0].card())
    assert [e["mentioned"]["id"] for e in card["msteams"]["entities"]] == ["29:bob", "29:carol"]
    # People were looked up once through the connector (at the same time), then remembered.
    lookups = [r for r in connector.requests if r.method == "GET" and "/members/" in r.path]
    assert sorted(r.path.rsplit("/", 1)[-1] for r in lookups) == ["aad-bob", "aad-carol"]
    assert await Delivery.filter(kind="notification").count() == 2
    connector.clear()
    await client.post("/api/messages", json=submit(connector, {"recipients": "aad-bob", "message": "Again"}))
    assert not [r for r in connector.requests if r.method == "GET"]
    # Known, unknown and Teams ids together: only the unknown Entra id is asked of Teams.
    connector.clear()
    connector.members[DAVE.aad] = {"id": DAVE.id, "name": DAVE.name, "aadObjectId": DAVE.aad}
    response = await client.post("/api/messages", json=submit(
        connector, {"recipients": "aad-carol,aad-dave,29:erin,aad-bob", "message": "Together"}))
    assert await response.json() == {}
    lookups = [r for r in connector.requests if r.method == "GET" and "/members/" in r.path]
    assert [r.path.rsplit("/", 1)[-1] for r in lookups] == ["aad-dave"]
    together = await Thanks.get(message="Together")
    names = await ThanksRecipient.filter(thanks_id=together.id).order_by("position").values_list(
        "recipient__platform_user_id", flat=True)
    assert names == ["29:carol", "29:dave", "29:erin", "29:bob"]
    assert (await Address.get(key="aad:aad-dave")).payload == {"id": "29:dave", "name": "Dave"}


async def test_dialog_submits_without_an_id_are_each_a_new_thanks(teams, connector, check_card):
    client, _ = teams
    for n in range(2):
        activity = submit(connector, {"recipients": "aad-bob", "message": f"Thanks {n}"})
        del activity["id"]
        response = await client.post("/api/messages", json=activity)
        assert await response.json() == {}
    assert await Thanks.all().order_by("id").values_list("message", flat=True) == ["Thanks 0", "Thanks 1"]
    assert len(connector.wait_for(2)) == 2


async def test_dialog_errors_are_shown_in_the_dialog(teams, connector, check_card):
    client, _ = teams
    cases = [
        ({"recipients": "aad-bob", "message": "   "}, "add a message"),
        ({"recipients": "aad-alice", "message": "me"}, "cannot thank yourself"),
        ({"recipients": "", "message": "hi"}, "Who would you like to thank"),
        ({"recipients": "aad-nobody", "message": "hi"}, "aad-nobody"),
        ({"recipients": "aad-bob", "values": "nope", "message": "hi"}, "no value"),
        ({"recipients": "28:helper-bot", "message": "hi"}, "is a bot"),
    ]
    for data, expected in cases:
        response = await client.post("/api/messages", json=submit(connector, data))
        assert response.status == 200
        answer = await response.json()
        assert answer["task"]["type"] == "continue", data
        card = check_card(answer["task"]["value"]["card"]["content"])
        assert expected in card["body"][0]["inlines"][1]["text"], (data, card["body"][0])
        # What the user entered is kept.
        assert form_inputs(card)["message"].get("value", "") == data["message"][:500] or not data["message"].strip()
    assert await Thanks.all().count() == 0
    assert [r for r in connector.activities() if r.method == "POST"] == []


async def test_submit_answers_within_the_budget_even_if_the_connector_is_slow(db, settings, make_client, connector):
    adapter = TeamsAdapter(replace(settings), invoke_budget=0.3)
    client = await make_client(adapter)
    try:
        connector.delay = 1.0
        started = time.monotonic()
        response = await client.post("/api/messages", json=submit(
            connector, {"recipients": "29:bob", "message": "Thanks for staying late"}))
        elapsed = time.monotonic() - started
        assert response.status == 200
        assert elapsed < 0.9, elapsed
        assert await Thanks.all().count() == 1
        # The card still arrives, after the invoke was answered.
        assert len(connector.wait_for(1, timeout=5)) == 1
    finally:
        await adapter.close()
        await client.close()


async def test_when_the_bot_is_not_in_the_chat_the_card_goes_to_the_compose_box(teams, connector, check_card):
    client, _ = teams
    connector.fail_next(Failure(403, body={"error": {"code": "BotNotInConversationRoster", "message": "no"}}))
    response = await client.post("/api/messages", json=submit(
        connector, {"recipients": "29:bob", "message": "Thanks!"}, conversation="19:chat@unq.gbl.spaces",
        conversation_type="groupChat"))
    answer = await response.json()
    result = answer["composeExtension"]
    assert result["type"] == "result"
    check_card(result["attachments"][0]["content"])
    assert await Thanks.all().count() == 1


async def _broken(*args, **kwargs):
    raise RuntimeError("database exploded")


def _thanks_data():
    return {"recipients": "29:bob", "message": "Thanks!"}


# (invoke name, value, (module, function) the invoke ends up calling, where its answer text is)
FAILING_INVOKES = {
    "clap": ("adaptiveCard/action", {"action": {"type": "Action.Execute", "verb": "clap",
                                                "data": {"thanks_id": "1"}}}, (thanks_service, "clap"), "card"),
    "clap, before the turn is read": ("adaptiveCard/action", {"action": {"type": "Action.Execute", "verb": "clap",
                                                                         "data": {"thanks_id": "1"}}},
                                      (teams_people, "ensure_workspace"), "card"),
    "compose fetchTask": ("composeExtension/fetchTask", {"commandId": "sendThanks", "commandContext": "compose"},
                          (values_service, "list_values"), "task"),
    "compose submitAction": ("composeExtension/submitAction", {"commandId": "sendThanks", "data": _thanks_data()},
                             (thanks_service, "give_thanks"), "task"),
    "task/fetch": ("task/fetch", {"data": {"kizuna": OPEN_MEETING_FORM}}, (members_service, "list_departments"),
                   "task"),
    "task/submit": ("task/submit", {"data": {"kizuna": SUBMIT_MARKER, **_thanks_data()}},
                    (thanks_service, "give_thanks"), "task"),
}


@pytest.mark.parametrize("case", FAILING_INVOKES)
@pytest.mark.parametrize("sender", [None, {"name": "Nobody"}, {"id": ""}])
async def test_an_invoke_that_names_no_sender_is_answered_and_changes_nothing(teams, connector, case, sender):
    client, _ = teams
    name, value, _, shape = FAILING_INVOKES[case]
    activity = t.invoke(connector.url, ALICE, name, value, locale="ja-JP")
    if sender is None:
        del activity["from"]
    else:
        activity["from"] = sender
    response = await client.post("/api/messages", json=activity)
    assert response.status == 200
    expected = translate("ja", "teams.error.no_sender")
    if shape == "card":
        assert await response.json() == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                                         "value": expected}
    else:
        assert await response.json() == {"task": {"type": "message", "value": expected}}
    assert await Member.all().count() == 0
    assert await Thanks.all().count() == 0


@pytest.mark.parametrize("case", FAILING_INVOKES)
@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
async def test_an_unexpected_failure_in_an_invoke_is_answered_in_the_users_language(
        teams, connector, monkeypatch, caplog, case, locale):
    client, _ = teams
    name, value, core_call, shape = FAILING_INVOKES[case]
    monkeypatch.setattr(*core_call, _broken)  # an edge fake for a fault
    response = await client.post("/api/messages", json=t.invoke(connector.url, ALICE, name, value, locale=locale))
    assert response.status == 200
    answer = await response.json()
    expected = translate(locale[:2], "error.internal")
    if shape == "card":  # Action.Execute: a message next to the card, which stays as it is
        assert answer == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": expected}
    else:  # a dialog: the message in the dialog
        assert answer == {"task": {"type": "message", "value": expected}}
    assert "database exploded" in caplog.text  # logged for the operator, not shown to the user
    assert "database exploded" not in await response.text()
    assert await Thanks.all().count() == 0
