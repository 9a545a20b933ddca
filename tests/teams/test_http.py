"""What /api/messages answers to bodies that are not activities: 400/415, never 500; unknown types ignored."""

from __future__ import annotations

import json
import logging

import pytest

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, Failure


@pytest.mark.parametrize("body", [
    b"not json", b"{", b"\xff\xfe", b"[]", b"42", b"null", b'"text"',
    json.dumps({"text": "no type"}).encode(),
    json.dumps({"type": 5, "serviceUrl": "http://x/", "conversation": {"id": "c"}}).encode(),
    json.dumps({"type": "message", "conversation": {"id": "c"}}).encode(),
    json.dumps({"type": "message", "serviceUrl": "ftp://x/", "conversation": {"id": "c"}}).encode(),
    json.dumps({"type": "message", "serviceUrl": "http://x/", "conversation": "c"}).encode(),
    json.dumps({"type": "message", "serviceUrl": "http://x/", "conversation": {"id": 3}}).encode(),
    json.dumps({"type": "message", "serviceUrl": "http://x/", "conversation": {"id": "c"}, "from": "alice"}).encode(),
    json.dumps({"type": "message", "serviceUrl": "http://x/", "conversation": {"id": "c"}, "entities": {}}).encode(),
])
async def test_malformed_bodies_get_400(teams, body):
    client, _ = teams
    response = await client.post("/api/messages", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "error" in await response.json()


@pytest.mark.parametrize(("field", "value"), [
    ("conversation", {"id": "19:c@thread.tacv2", "isGroup": []}),
    ("timestamp", "yesterday"),
    ("membersAdded", [5]),
    ("entities", [{"type": "mention"}, "mention"]),
])
async def test_a_field_of_the_wrong_type_gets_a_400_that_names_it_and_no_exception(teams, connector, field, value):
    client, _ = teams
    activity = t.base_activity("message", connector.url, ALICE) | {field: value}
    response = await client.post("/api/messages", json=activity)
    assert response.status == 400
    answer = await response.json()
    assert answer == {"error": f'the activity\'s "{field}" does not match the Bot Framework schema'}
    assert "Error" not in answer["error"]  # msrest's DeserializationError is for the log, not the caller


@pytest.mark.parametrize(("field", "change"), [
    ("id", lambda a: a.update(id="1" * 100_000)),
    ("from.id", lambda a: a["from"].update(id="29:" + "x" * 300)),
    ("from.aadObjectId", lambda a: a["from"].update(aadObjectId="a" * 201)),
    ("recipient.id", lambda a: a["recipient"].update(id="28:" + "x" * 300)),
    ("conversation.id", lambda a: a["conversation"].update(id="19:" + "x" * 300 + "@thread.tacv2")),
    ("conversation.tenantId", lambda a: a["conversation"].update(tenantId="t" * 201)),
    ("channelData.tenant.id", lambda a: a["channelData"].update(tenant={"id": 10 ** 250})),
])
async def test_an_id_too_long_for_teams_gets_a_400_that_names_it(teams, connector, field, change):
    # Rows and address keys are built from these ids (255-character columns); Teams' own are far shorter.
    client, _ = teams
    activity = t.message(connector.url, ALICE, "help")
    change(activity)
    response = await client.post("/api/messages", json=activity)
    assert response.status == 400
    assert await response.json() == {"error": f"the activity's {field} is too long to be a Teams id"}
    assert connector.activities() == []


@pytest.mark.parametrize("depth", [1000, 100_000])
async def test_a_body_nested_too_deeply_gets_400_and_no_traceback(teams, connector, caplog, depth):
    # json.loads recursed once per level: RecursionError, a 503 (Teams would deliver it again) and a traceback.
    client, _ = teams
    raw = json.dumps(t.message(connector.url, ALICE, "help") | {"value": "@"}).replace('"@"', "[" * depth + "]" * depth)
    response = await client.post("/api/messages", data=raw.encode(), headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert await response.json() == {"error": "the body nests more than 100 levels deep"}
    assert not [r for r in caplog.records if r.exc_info]
    assert connector.activities() == []


async def test_a_service_url_too_long_to_answer_gets_400(teams, connector, caplog):
    # It used to run the turn, then fail on the refused reply: a 503 (Teams retries) and a traceback.
    client, _ = teams
    activity = t.message(connector.url + "/" + "a" * 100_000, ALICE, "help")
    response = await client.post("/api/messages", json=activity)
    assert response.status == 400
    assert await response.json() == {"error": "the activity's serviceUrl is too long to be a Bot Connector's"}
    assert not [r for r in caplog.records if r.exc_info]
    assert connector.requests == []


@pytest.mark.parametrize("status", [400, 403, 404, 413])
async def test_a_reply_the_connector_refuses_for_good_is_one_warning_and_the_turn_is_answered(
        teams, connector, caplog, status):
    # A 503 asked Teams to deliver the activity again, for a reply that can never be posted.
    client, _ = teams
    connector.fail_next(Failure(status, body={"error": {"code": "BadArgument", "message": "refused"}}))
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "help"))
    assert response.status == 201
    assert len(connector.activities()) == 1  # not retried
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelno, r.exc_info) for r in logged] == [(logging.WARNING, None)]
    assert f"refused its answer: HTTP {status}" in logged[0].getMessage()


@pytest.mark.parametrize("status", [401, 408, 412, 429, 500, 503])
async def test_a_reply_that_may_go_through_later_is_still_a_503_to_retry(teams, connector, status):
    client, _ = teams
    connector.fail_next(*[Failure(status, body={"error": {"code": "Busy", "message": "later"}})] * 10)
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "help"))
    assert response.status == 503
    assert response.headers["Retry-After"]


async def test_a_body_that_is_not_json_content_gets_415(teams):
    client, _ = teams
    response = await client.post("/api/messages", data=b"type=message", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    response = await client.post("/api/messages", data=b"{}")  # no Content-Type at all
    assert response.status in (400, 415)


async def test_unknown_activity_types_are_ignored_politely(teams, connector):
    client, _ = teams
    for kind in ("typing", "somethingNew", "messageReaction", "event"):
        activity = t.base_activity(kind, connector.url, ALICE)
        response = await client.post("/api/messages", json=activity)
        assert response.status in (200, 201), kind
    assert connector.activities() == []


async def test_unknown_invokes_are_answered_without_a_server_error(teams, connector):
    client, _ = teams
    response = await client.post("/api/messages", json=t.invoke(connector.url, ALICE, "composeExtension/query",
                                                                  {"commandId": "x"}))
    assert response.status < 500


async def test_get_is_not_allowed(teams):
    client, _ = teams
    response = await client.get("/api/messages")
    assert response.status == 405


async def test_privacy_and_terms_pages_are_bilingual(teams):
    client, _ = teams
    for path, english, japanese in (("/teams/privacy", "stores the thanks", "保存します"),
                                     ("/teams/terms", "MIT licence", "MIT ライセンス")):
        response = await client.get(path)
        assert response.status == 200
        text = await response.text()
        assert english in text and japanese in text
