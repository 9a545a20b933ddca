"""Text commands through POST /api/messages, replies captured by the fake Bot Connector."""

from __future__ import annotations

from adapters.teams import testing as t
from adapters.teams.testing import ALICE, BOB, CAROL
from core.models import Thanks


async def test_thanks_with_mentions_replies_with_a_card(teams, connector, check_card):
    client, _ = teams
    activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} {CAROL.tag} for the release notes #teamwork",
                         [BOB, CAROL])
    response = await client.post("/api/messages", json=activity)
    assert response.status == 201, await response.text()
    posted = connector.activities()
    assert len(posted) == 1
    card = check_card(posted[0].card())
    print(card)
    thanks = await Thanks.get()
    assert thanks.message == "for the release notes"
