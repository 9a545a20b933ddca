"""The adapter's shortcuts around the SDK's per-turn work do exactly what the SDK would have done."""

from __future__ import annotations

import copy

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from adapters.teams import testing as t
from adapters.teams.bot import card_activity
from adapters.teams.testing import ALICE, BOB
from adapters.teams.wire import activity_json
from cards.model import NoticeMessage


def _reply_like_turn_context(incoming: dict) -> Activity:
    """The reply ``TurnContext.send_activity`` hands to the adapter (reference applied, input hint set)."""
    activity = Activity().deserialize(incoming)
    reply = card_activity(NoticeMessage("en", "Thanks for ${x} <at>Bob</at> {\"json\": 1}", "title"))
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
