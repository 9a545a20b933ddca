"""Proactive delivery through the outbox, retries on 429/412/5xx, and the msrest retry-policy fix."""

from __future__ import annotations

import email.utils
import time

import pytest
from msrest.universal_http import requests as msrest_requests

from adapters.contract import DeliveryFailed, OutgoingMessage
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.sdk import apply_sdk_fixes, retry_after_of
from adapters.teams.botframework.testing import ALICE, BOB, Failure
from cards.model import NoticeMessage
from core.models import Address, Delivery, Workspace
from core.services import thanks as thanks_service
from kizuna.worker import OutboxWorker
from tests.teams.cards import no_sleep_policy


async def test_notifications_open_a_personal_chat_once_and_survive_in_the_database(teams, connector, check_card):
    client, adapter = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    connector.clear()
    assert await OutboxWorker([adapter]).drain() == 1
    creates = [r for r in connector.requests if r.path.rstrip("/") == "/v3/conversations"]
    assert len(creates) == 1
    body = creates[0].body
    assert body["members"][0]["id"] == "29:bob" and body["isGroup"] is False
    assert body["channelData"] == {"tenant": {"id": "tenant-0000"}}
    posted = connector.activities()
    assert posted[0].path == "/v3/conversations/a%3Apersonal-29%3Abob/activities"
    card = check_card(posted[0].card())
    assert "actions" not in card  # a notification has no clap button
    assert (await Delivery.get()).status == "delivered"
    # The new chat's reference replaced the "create" address: the next one goes straight there.
    address = await Address.get(key="member:29:bob")
    assert address.payload["conversation"]["id"] == "a:personal-29:bob"
    connector.clear()
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} again", [BOB]))
    connector.clear()
    await OutboxWorker([adapter]).drain()
    assert not [r for r in connector.requests if r.path.rstrip("/") == "/v3/conversations"]
    assert len(connector.activities()) == 1


async def test_the_feed_gets_every_thanks(teams, connector, check_card):
    client, adapter = teams
    await client.post("/api/messages", json=t.installed(connector.url, ALICE))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "set feed channel here",
                                                      conversation="19:feed@thread.tacv2"))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for the fix", [BOB],
                                                      conversation="19:dev@thread.tacv2"))
    connector.clear()
    await OutboxWorker([adapter]).drain()
    feed = [r for r in connector.activities() if "feed" in r.path]
    assert len(feed) == 1
    assert feed[0].path == "/v3/conversations/19%3Afeed%40thread.tacv2/activities"
    card = check_card(feed[0].card())
    assert card["actions"][0]["verb"] == "clap"


def outgoing(address: dict, key: str = "member:29:bob") -> OutgoingMessage:
    return OutgoingMessage(delivery_id=1, workspace_external_id="tenant-0000", address_key=key, address=address,
                           message=NoticeMessage("en", "hello"), kind="notification")


def reference(connector) -> dict:
    return {"serviceUrl": connector.url, "channelId": "msteams", "conversation": {"id": "a:bob"},
            "bot": {"id": t.BOT_ID}, "user": {"id": "29:bob"}}


async def test_429_with_retry_after_is_retried(make_adapter, connector):
    policy = no_sleep_policy()
    adapter = make_adapter(retry=policy)
    connector.fail_next(Failure(429, {"Retry-After": "2"}), Failure(503))
    await adapter.deliver(outgoing(reference(connector)))
    assert len(connector.activities()) == 3
    assert policy.slept[0] == 2.0
    assert 0 <= policy.slept[1] <= policy.base_delay * 2


@pytest.mark.parametrize("status", [412, 429, 502, 503, 504])
async def test_retries_are_bounded_and_then_the_outbox_retries(make_adapter, connector, status):
    policy = no_sleep_policy(attempts=3)
    adapter = make_adapter(retry=policy)
    connector.fail_next(*[Failure(status, {"Retry-After": "1"})] * 5)
    with pytest.raises(DeliveryFailed) as failure:
        await adapter.deliver(outgoing(reference(connector)))
    assert not failure.value.permanent
    assert failure.value.retry_after == 1.0
    assert len(connector.activities()) == 3
    assert policy.slept == [1.0, 1.0]


async def test_a_long_retry_after_is_left_to_the_outbox(make_adapter, connector):
    policy = no_sleep_policy()
    adapter = make_adapter(retry=policy)
    connector.fail_next(Failure(429, {"Retry-After": "120"}))
    with pytest.raises(DeliveryFailed) as failure:
        await adapter.deliver(outgoing(reference(connector)))
    assert failure.value.retry_after == 120.0
    assert policy.slept == []


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_refusals_are_permanent_and_not_retried(make_adapter, connector, status, caplog):
    adapter = make_adapter(retry=no_sleep_policy())
    connector.fail_next(Failure(status, body={"error": {"code": "MessageWritesBlocked", "message": "blocked"}}))
    with pytest.raises(DeliveryFailed) as failure:
        await adapter.deliver(outgoing(reference(connector)))
    assert failure.value.permanent
    assert len(connector.activities()) == 1
    assert "hello" in caplog.text  # the content is logged, not lost


async def test_no_reference_yet_is_retried_not_failed(make_adapter):
    adapter = make_adapter()
    with pytest.raises(DeliveryFailed, match="no Teams conversation reference") as failure:
        await adapter.deliver(outgoing({}))
    assert not failure.value.permanent


async def test_a_notification_claimed_before_its_address_exists_is_delivered_later(teams, connector):
    client, adapter = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    # The worker claims the row before the address is there (it used to be stored after give_thanks).
    saved = await Address.get(key="member:29:bob")
    payload = dict(saved.payload)
    await saved.delete()
    await OutboxWorker([adapter]).drain(max_passes=1)
    delivery = await Delivery.get(kind="notification")
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "no Teams conversation reference" in delivery.last_error
    await Address.create(workspace_id=delivery.workspace_id, key="member:29:bob", payload=payload)
    await Delivery.filter(id=delivery.id).update(next_attempt_at=delivery.created_at)
    assert await OutboxWorker([adapter]).drain() == 1
    assert (await Delivery.get(id=delivery.id)).status == "delivered"


@pytest.mark.parametrize("via", ["message", "dialog"])
async def test_the_address_is_stored_before_the_notification_is_written(teams, connector, monkeypatch, via):
    """The outbox worker may claim a notification the moment ``give_thanks`` commits it."""
    client, adapter = teams
    real_give_thanks = thanks_service.give_thanks
    outcomes: list[str] = []

    async def give_thanks_then_the_worker_runs(*args, **kwargs):
        assert await Address.exists(key="member:29:bob"), "give_thanks ran before the address was stored"
        result = await real_give_thanks(*args, **kwargs)
        await OutboxWorker([adapter]).drain()  # the worker wins the race
        outcomes.extend(await Delivery.filter(kind="notification").values_list("status", flat=True))
        return result

    monkeypatch.setattr(thanks_service, "give_thanks", give_thanks_then_the_worker_runs)
    if via == "message":
        activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB])
    else:
        activity = t.invoke(connector.url, ALICE, "composeExtension/submitAction",
                            {"commandId": "sendThanks", "data": {"recipients": "aad-bob", "message": "Thanks!"}})
    response = await client.post("/api/messages", json=activity)
    assert response.status in (200, 201)
    assert outcomes == ["delivered"]


async def test_replies_in_a_turn_are_retried_too(teams, connector):
    client, adapter = teams
    connector.fail_next(Failure(429, {"Retry-After": "0.5"}))
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "help"))
    assert response.status == 201
    assert len(connector.activities()) == 2
    assert adapter.retry.slept == [0.5]


async def test_failed_outbox_delivery_is_rescheduled(teams, connector):
    client, adapter = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    connector.fail_next(*[Failure(503)] * 10)
    await OutboxWorker([adapter]).drain(max_passes=1)
    delivery = await Delivery.get()
    assert delivery.status == "pending" and delivery.attempts == 1 and "503" in delivery.last_error
    assert await Workspace.exists()


def test_retry_after_accepts_seconds_and_http_dates():
    class Response:
        def __init__(self, value):
            self.headers = {"Retry-After": value}

    class Error(Exception):
        def __init__(self, value):
            self.response = Response(value)

    assert retry_after_of(Error("3")) == 3.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= retry_after_of(Error(date), now=now) <= 31
    assert retry_after_of(Error("soon")) is None


def test_msrest_retry_policy_is_cheap_and_unchanged():
    original = [i for i in range(500) if i != 408] + [501, 505]
    expected_forcelist = [i for i in range(999) if i not in original]
    apply_sdk_fixes()
    apply_sdk_fixes()  # idempotent
    assert isinstance(msrest_requests.ClientRetryPolicy.safe_codes, frozenset)
    assert set(msrest_requests.ClientRetryPolicy.safe_codes) == set(original)
    policy = msrest_requests.ClientRetryPolicy()
    assert policy.policy.status_forcelist == expected_forcelist
    assert (policy.policy.total, policy.policy.backoff_factor) == (3, 0.8)
    for status in (200, 201, 404, 408, 429, 500, 501, 502, 503, 505):
        assert policy.policy.is_retry("GET", status) == (status in expected_forcelist)
    started = time.perf_counter()
    for _ in range(20):
        msrest_requests.ClientRetryPolicy()
    assert (time.perf_counter() - started) / 20 < 0.002  # was ~6 ms each with the list


