"""`dashboard` from Teams: a sign-in link in a 1:1 chat; asked in a channel, the link goes 1:1 through the outbox."""

from __future__ import annotations

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE
from core.dashboard.access import peek_link
from core.models import Delivery, Member
from tests.teams.cards import body_texts as texts


async def test_in_a_personal_chat_the_link_is_the_answer(teams, connector, check_card):
    client, _ = teams
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "dashboard",
                                                                  conversation_type="personal"))
    assert response.status == 201
    card = check_card(connector.activities()[-1].card())
    [action] = card["actions"]
    url = action["url"]
    assert action["type"] == "Action.OpenUrl" and action["title"] == "Open the dashboard"
    assert "/dashboard/signin/" in url and (await peek_link(url.rsplit("/", 1)[1])).state == "valid"


async def test_in_a_channel_nobody_else_sees_the_link(teams, connector, check_card):
    client, _ = teams
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "ダッシュボード",
                                                                  locale="ja-JP"))
    assert response.status == 201
    card = check_card(connector.activities()[-1].card())
    shown = " ".join(texts(card))
    assert "/dashboard/signin/" not in str(card) and "個人チャット" in shown
    alice = await Member.get(platform_user_id=ALICE.id)
    [delivery] = await Delivery.filter(kind="dashboard_link")
    assert delivery.address_key == f"member:{alice.platform_user_id}" and delivery.locale == "ja"
    assert (await peek_link(str(delivery.message["url"]).rsplit("/", 1)[1])).state == "valid"
