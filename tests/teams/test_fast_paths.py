"""The adapter's shortcuts around the SDK's per-turn work do exactly what the SDK would have done."""

from __future__ import annotations

import copy
import json
import time

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ResourceResponse
from msrest.exceptions import DeserializationError
from msrest.serialization import Model

from adapters.teams import people as people_module
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.activity import card_activity, read_activity, reference_payload
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.handler import reply
from adapters.teams.botframework.testing import ALICE, BOB, CAROL, User
from adapters.teams.botframework.wire import activity_json
from adapters.teams.render import render_card
from cards.model import NoticeMessage
from core.app import identities as identity_module
from core.models import Address, Delivery, Department, DepartmentFlow, Member, Thanks, Value, Workspace
from core.services.addresses import AddressWrite


def _reply_like_turn_context(incoming: dict) -> Activity:
    """The reply ``TurnContext.send_activity`` hands to the adapter (reference applied, input hint set)."""
    activity = Activity().deserialize(incoming)
    reply = card_activity(render_card(NoticeMessage("en", "Thanks for ${x} <at>Bob</at> {\"json\": 1}", "title")))
    reply = TurnContext.apply_conversation_reference(copy.deepcopy(reply),
                                                     TurnContext.get_conversation_reference(activity))
    reply.input_hint = "acceptingInput"
    return reply


def test_reply_json_is_what_the_sdk_serializer_writes():
    incoming = t.message("http://127.0.0.1:9/", ALICE, f"thanks {BOB.tag} for it", [BOB])
    reply = _reply_like_turn_context(incoming)
    assert activity_json(reply) == reply.serialize()


def test_reply_json_falls_back_to_the_sdk_for_fields_it_does_not_know():
    reply = _reply_like_turn_context(t.message("http://127.0.0.1:9/", ALICE, "help"))
    reply.suggested_actions = None
    reply.importance = "high"
    assert activity_json(reply) == reply.serialize()
    assert activity_json(reply)["importance"] == "high"


async def test_connector_clients_are_reused_per_service_url(teams, connector):
    client, adapter = teams
    for i in range(3):
        response = await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} "
                                                                     f"for round {i}", [BOB]))
        assert response.status == 201
    assert len(connector.activities()) == 3
    assert len(adapter.cloud._connectors) == 1
    # Proactive posts reuse theirs too; another service URL gets its own client.
    first = await adapter.connector(connector.url)
    assert await adapter.connector(connector.url) is first
    other = await adapter.connector("http://127.0.0.1:9/other/")
    assert other is not first and other.config.base_url == "http://127.0.0.1:9/other/"


async def test_channel_address_does_not_change_with_whoever_speaks(teams, connector):
    client, _ = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for a", [BOB]))
    channel = await Address.get(key="channel:19:channel@thread.tacv2")
    await client.post("/api/messages", json=t.message(connector.url, BOB, f"thanks {ALICE.tag} for b", [ALICE],
                                                      locale="ja-JP"))
    again = await Address.get(key="channel:19:channel@thread.tacv2")
    assert again.payload == channel.payload and again.updated_at == channel.updated_at
    assert "user" not in again.payload and again.payload["conversation"]["id"] == "19:channel@thread.tacv2"
    assert again.payload["serviceUrl"] == connector.url and again.payload["bot"]["id"] == t.BOT_ID


def _state(value):
    """Everything an SDK model holds, recursively (attributes and additional_properties)."""
    if isinstance(value, Model):
        return (type(value).__name__, {k: _state(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [_state(v) for v in value]
    if isinstance(value, dict):
        return {k: _state(v) for k, v in value.items()}
    return value


def _payloads():
    url = "http://127.0.0.1:9/"
    personal = t.message(url, ALICE, "help", conversation="a:1on1", conversation_type="personal", locale="ja-JP")
    odd_entities = t.message(url, ALICE, f"thanks {BOB.tag}", [BOB])
    odd_entities["entities"].append({"type": None, "x": [1, 2]})
    odd_entities["entities"].append({"mentioned": {"id": "29:x"}})
    null_fields = t.message(url, ALICE, "values")
    null_fields.update(text=None, locale=None, replyToId=None, channelData=None)
    null_fields["from"]["role"] = None
    nested_extra = t.message(url, ALICE, "help")
    nested_extra["conversation"]["weird"] = {"a": [1]}
    nested_extra["recipient"]["properties"] = {"p": 1}
    return [
        t.message(url, ALICE, f"thanks {BOB.tag} for the notes #teamwork", [BOB]),
        personal, odd_entities, null_fields, nested_extra,
        t.clap_invoke(url, BOB, 12),
        t.invoke(url, ALICE, "composeExtension/fetchTask", {"commandId": "sendThanks", "commandContext": "message",
                                                            "messagePayload": {"body": {"content": "<p>hi</p>"}}}),
        # These take the SDK's own path: a list of accounts, an unknown key, a number for a string.
        t.installed(url, ALICE),
        t.message(url, ALICE, "help") | {"somethingNew": {"a": 1}},
        t.message(url, ALICE, "help") | {"id": 12345},
        t.message(url, ALICE, "help") | {"localTimestamp": "2026-11-27T12:00:00.123+09:00"},
    ]


@pytest.mark.parametrize("payload", _payloads())
def test_activities_are_read_exactly_as_the_sdk_reads_them(payload):
    ours = read_activity(copy.deepcopy(payload))
    sdk = Activity().deserialize(copy.deepcopy(payload))
    assert _state(ours) == _state(sdk)
    assert ours.serialize() == sdk.serialize()


def test_a_bad_timestamp_is_still_refused():
    with pytest.raises(DeserializationError):
        read_activity(t.message("http://127.0.0.1:9/", ALICE, "help") | {"timestamp": "yesterday"})


def test_teams_messages_and_invokes_do_not_need_the_sdk_deserializer(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("took the slow path")

    monkeypatch.setattr(Activity, "deserialize", refuse)
    for payload in _payloads()[:7]:
        read_activity(payload)


# ---- the identity cache (core/app/identities.py) ---------------------------------------------

async def _thanks(client, url, sender, recipient, text="for the help", **kwargs):
    response = await client.post("/api/messages", json=t.message(url, sender, f"thanks {recipient.tag} {text}",
                                                                 [recipient], **kwargs))
    assert response.status == 201


def _texts(card):
    return json.dumps(card["body"], ensure_ascii=False)


async def test_thanks_turns_reuse_the_workspace_and_members_they_read(teams, connector, monkeypatch):
    client, _ = teams
    await _thanks(client, connector.url, ALICE, BOB)
    reads = []
    real = people_module.ensure_members

    async def counting(workspace, people, *args, **kwargs):
        reads.extend(p.platform_user_id for p in people)
        return await real(workspace, people, *args, **kwargs)

    monkeypatch.setattr(people_module, "ensure_members", counting)
    await _thanks(client, connector.url, ALICE, BOB, "again")
    assert reads == []
    # A new display name is written at once.
    await _thanks(client, connector.url, User(ALICE.id, "Alice Liddell", ALICE.aad), BOB, "renamed")
    assert reads == ["29:alice"]
    assert (await Member.get(platform_user_id="29:alice")).display_name == "Alice Liddell"
    assert await Thanks.all().count() == 3


async def test_a_first_thanks_resolves_sender_and_recipients_in_one_trip(teams, connector, monkeypatch):
    client, _ = teams
    calls = []
    real = people_module.ensure_members

    async def counting(workspace, people, *args, **kwargs):
        calls.append(sorted(p.platform_user_id for p in people))
        return await real(workspace, people, *args, **kwargs)

    monkeypatch.setattr(people_module, "ensure_members", counting)
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} {CAROL.tag} for it",
                                                      [BOB, CAROL]))
    assert calls == [["29:alice", "29:bob", "29:carol"]]
    assert await Thanks.all().count() == 1
    assert await Address.filter(key__in=["member:29:bob", "member:29:carol"]).count() == 2


async def test_a_cached_admin_flag_never_grants_rights(teams, connector, check_card):
    client, _ = teams
    await _thanks(client, connector.url, ALICE, BOB)  # Alice is cached …
    await Member.filter(platform_user_id="29:alice").update(is_admin=False)  # … then demoted elsewhere
    connector.clear()
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "values add kind Kind 親切"))
    assert response.status == 201
    assert "Only an admin" in _texts(check_card(connector.activities()[0].card()))
    assert not await Value.exists(key="kind")


async def test_changes_made_in_this_process_apply_to_the_next_thanks_at_once(teams, connector):
    client, _ = teams
    await client.post("/api/messages", json=t.installed(connector.url, ALICE))  # Alice: first admin
    await _thanks(client, connector.url, ALICE, BOB)
    await _thanks(client, connector.url, BOB, ALICE)
    assert await Delivery.filter(kind="notification").count() == 2
    # Bob turns notifications off, Alice puts Bob in Sales and lowers the daily limit.
    await client.post("/api/messages", json=t.message(connector.url, BOB, "notifications off"))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"department {BOB.tag} Sales", [BOB]))
    await Workspace.filter(id=(await Workspace.get()).id).update(daily_limit=2)
    connector.clear()
    await _thanks(client, connector.url, ALICE, BOB, "after the changes")
    assert await Delivery.filter(kind="notification").count() == 2  # none for Bob
    sales = await Department.get(name="Sales")
    assert await DepartmentFlow.filter(recipient_department_id=sales.id).count() == 1
    # The daily limit (2) was changed in the database directly, as another process would: the
    # admin command above made this process forget what it had read, so it holds already.
    await _thanks(client, connector.url, ALICE, BOB, "one too many")
    assert await Thanks.filter(sender__platform_user_id="29:alice").count() == 2
    assert "2" in _texts(connector.activities()[-1].card())


async def test_a_limit_changed_by_another_process_applies_at_once_despite_the_cache(teams, connector, monkeypatch):
    # The core reads the workspace's limits in the thanks transaction, so a cached copy cannot apply an old one.
    client, adapter = teams
    await _thanks(client, connector.url, ALICE, BOB)
    await Workspace.filter(id=(await Workspace.get()).id).update(max_message_length=5)
    clock = [time.monotonic()]
    monkeypatch.setattr(identity_module.time, "monotonic", lambda: clock[0])
    await _thanks(client, connector.url, ALICE, BOB, "within the ttl")
    assert await Thanks.all().count() == 1
    clock[0] += adapter.identity_ttl + 0.01
    await _thanks(client, connector.url, ALICE, BOB, "after the ttl")
    assert await Thanks.all().count() == 1


async def test_ttl_zero_turns_the_cache_off(db, settings, make_client, connector):
    adapter = TeamsAdapter(settings, identity_ttl=0)
    client = await make_client(adapter)
    try:
        await _thanks(client, connector.url, ALICE, BOB)
        await Workspace.filter(id=(await Workspace.get()).id).update(max_message_length=5)
        await _thanks(client, connector.url, ALICE, BOB, "too long now")
        assert await Thanks.all().count() == 1
    finally:
        await client.close()
        await adapter.close()


@pytest.mark.parametrize("payload", _payloads())
def test_stored_references_are_what_the_sdk_serializes(payload):
    activity = read_activity(copy.deepcopy(payload))
    sdk = TurnContext.get_conversation_reference(activity).serialize()
    sdk.pop("activityId", None)
    assert reference_payload(activity) == sdk
    sdk["conversation"]["id"] = "19:other"
    assert reference_payload(activity, conversation_id="19:other") == sdk


class _CapturingAdapter:
    """Just enough of a bot adapter for ``TurnContext``: records what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[Activity] = []

    async def send_activities(self, context, activities):
        self.sent.extend(activities)
        return [ResourceResponse(id=f"r{len(self.sent)}") for _ in activities]


@pytest.mark.parametrize("incoming", [
    t.message("http://127.0.0.1:9/", ALICE, f"thanks {BOB.tag} for it", [BOB]),
    t.message("http://127.0.0.1:9/", ALICE, "help", conversation="a:1on1", conversation_type="personal",
              locale="ja-JP"),
])
async def test_the_direct_reply_sends_what_send_activity_sends(incoming):
    message = NoticeMessage("en", "Thanks for ${x} <at>Bob</at> {\"json\": 1}", "title")
    sdk_adapter, our_adapter = _CapturingAdapter(), _CapturingAdapter()
    sdk_context = TurnContext(sdk_adapter, read_activity(copy.deepcopy(incoming)))
    our_context = TurnContext(our_adapter, read_activity(copy.deepcopy(incoming)))
    await sdk_context.send_activity(card_activity(render_card(message)))
    await reply(our_context, card_activity(render_card(message)))
    assert [_state(a) for a in our_adapter.sent] == [_state(a) for a in sdk_adapter.sent]
    assert [activity_json(a) for a in our_adapter.sent] == [a.serialize() for a in sdk_adapter.sent]
    assert our_context.responded and sdk_context.responded


async def test_the_direct_reply_leaves_send_handlers_to_the_sdk():
    incoming = t.message("http://127.0.0.1:9/", ALICE, "help")
    adapter = _CapturingAdapter()
    context = TurnContext(adapter, read_activity(incoming))
    seen: list[Activity] = []

    async def handler(ctx, activities, next_send):
        seen.extend(activities)
        return await next_send()

    context.on_send_activities(handler)
    await reply(context, card_activity(render_card(NoticeMessage("en", "hi", "title"))))
    assert len(seen) == 1 and adapter.sent == seen


async def test_addresses_this_process_stored_are_not_written_again(make_adapter, monkeypatch):
    from core.services.workspaces import ensure_workspace

    people = make_adapter().bot.people
    workspace = await ensure_workspace("teams", "tenant-batch")
    await Address.create(workspace_id=workspace.id, key="kept", payload={"v": "old"})
    items = [AddressWrite("kept", {"v": "new"}, replace=False), AddressWrite("ref", {"v": 1})]
    await people.store_addresses(workspace, items)
    assert {a.key: a.payload for a in await Address.filter(workspace_id=workspace.id)} == {
        "kept": {"v": "old"}, "ref": {"v": 1}}
    calls = []
    real = people_module.store_addresses

    async def counting(workspace, writes):
        calls.append([w.key for w in writes])
        await real(workspace, writes)

    monkeypatch.setattr(people_module, "store_addresses", counting)
    await people.store_addresses(workspace, items)
    assert calls == []  # known now: nothing is written again
    await people.store_addresses(workspace, [AddressWrite("kept", {"v": "newer"}, replace=False),
                                           AddressWrite("ref", {"v": 2})])
    assert calls == [["ref"]]  # only a replacing write with a new payload goes to the database
    assert (await Address.get(workspace_id=workspace.id, key="ref")).payload == {"v": 2}
