"""The digest reaches a Teams channel as a schema-valid Adaptive Card, and the recap a 1:1 chat, through the outbox."""

from __future__ import annotations

from datetime import timedelta

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, BOB
from core import digest_scheduler
from core.models import Workspace
from kizuna.worker import OutboxWorker


async def test_the_digest_is_a_card_in_the_feed_channel_and_the_recap_a_personal_chat(teams, connector, check_card):
    client, adapter = teams
    await client.post("/api/messages", json=t.installed(connector.url, ALICE))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "feed here",
                                                      conversation="19:feed@thread.tacv2"))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "digest weekly"))
    await client.post("/api/messages", json=t.message(connector.url, BOB, "recap on"))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"thanks {BOB.tag} for the fix", [BOB],
                                                      conversation="19:dev@thread.tacv2"))
    await OutboxWorker([adapter]).drain()
    connector.clear()
    workspace = await Workspace.get(platform="teams")
    assert workspace.next_digest_at is not None and workspace.next_recap_at is not None
    await digest_scheduler.run_due(workspace.next_digest_at + timedelta(seconds=5))
    await OutboxWorker([adapter], public_url="http://127.0.0.1:3978").drain()
    feed = [r for r in connector.activities() if "feed" in r.path]
    assert len(feed) == 1
    card = check_card(feed[0].card())
    assert card["body"][0]["inlines"][0]["text"].startswith("📬 ")
    assert card["body"][0]["inlines"][0]["weight"] == "Bolder"
    assert not card.get("msteams", {}).get("entities")  # names are text: nobody is @mentioned
    [link] = card["actions"]  # the dashboard, at the public URL the worker was given
    assert (link["type"], link["url"]) == ("Action.OpenUrl", "http://127.0.0.1:3978/dashboard")
    connector.clear()
    await digest_scheduler.run_due(workspace.next_recap_at + timedelta(seconds=5))
    await OutboxWorker([adapter]).drain()
    personal = [r for r in connector.activities() if "personal-29%3Abob" in r.path]
    assert len(personal) == 1
    recap = check_card(personal[0].card())
    assert "Your month in thanks" in recap["body"][0]["inlines"][0]["text"]
