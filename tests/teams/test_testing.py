"""The test kit checks every card: posted to the fake Bot Connector, or returned in an invoke answer."""

from __future__ import annotations

import pytest

from adapters.teams import invokes
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.activity import card_activity
from adapters.teams.botframework.testing import ALICE, BOB, adaptive_cards

INVALID_CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "NoSuchElement"}]}


def test_cards_are_found_in_attachments_and_action_execute_answers():
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    assert list(adaptive_cards({"attachments": [{"contentType": t.CARD_CONTENT_TYPE, "content": card}]})) == [card]
    assert list(adaptive_cards({"task": {"type": "continue", "value": {
        "card": {"contentType": t.CARD_CONTENT_TYPE, "content": card}}}})) == [card]
    assert list(adaptive_cards({"statusCode": 200, "type": t.CARD_CONTENT_TYPE, "value": card})) == [card]
    assert list(adaptive_cards({"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                                "value": "hi"})) == []


async def test_an_invalid_card_posted_to_the_connector_is_a_violation(make_adapter, connector):
    adapter = make_adapter()
    reference = {"serviceUrl": connector.url, "channelId": "msteams", "conversation": {"id": "a:bob"},
                 "bot": {"id": t.BOT_ID}, "user": {"id": "29:bob"}}
    await adapter.post(reference, card_activity(INVALID_CARD))
    await adapter.post(reference, card_activity({**INVALID_CARD, "body": [], "x": "y" * 90_000}))
    assert len(connector.violations) == 2
    assert "NoSuchElement" in connector.violations[0]
    connector.violations.clear()  # seen; the fixture would fail the test otherwise


async def test_an_invalid_card_in_an_invoke_answer_fails_at_the_request(teams, connector, monkeypatch):
    client, _ = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for it", [BOB]))
    monkeypatch.setattr(invokes, "render_card", lambda message: INVALID_CARD)
    with pytest.raises(AssertionError, match="NoSuchElement"):
        await client.post("/api/messages", json=t.clap_invoke(connector.url, BOB, 1, verb="refresh"))
