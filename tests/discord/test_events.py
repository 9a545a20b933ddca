"""Discord webhook events: a new server install sends the installer the setup checklist, once."""

from __future__ import annotations

import json
import re
from typing import Any

from core.models import Delivery, Workspace
from kizuna.worker import OutboxWorker
from tests.discord.kit import ADMIN, FEED, GUILD, Discord, FakeDiscord

ROUTE = "/api/discord/events"


def authorized(*, guild: str = GUILD, user: str = ADMIN, integration_type: int = 0,
               timestamp: str = "2026-12-05T03:00:00.000000", locale: str = "ja") -> dict[str, Any]:
    data: dict[str, Any] = {"integration_type": integration_type, "scopes": ["applications.commands", "bot"],
                            "user": {"id": user, "username": "root", "global_name": "Root"}}
    if integration_type == 0:
        data["guild"] = {"id": guild, "name": "営業とエンジニアリング", "preferred_locale": locale}
    return {"version": 1, "application_id": "777000000000000001", "type": 1,
            "event": {"type": "APPLICATION_AUTHORIZED", "timestamp": timestamp, "data": data}}


def shown(content: str) -> str:
    """A message's content as Discord shows it (markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", content)


async def post(discord: Discord, payload: Any, *, good: bool = True) -> tuple[int, str]:
    body = json.dumps(payload).encode()
    headers = discord.sign(body)
    if not good:
        headers["X-Signature-Ed25519"] = "0" * 128
    response = await discord.client.post(ROUTE, data=body, headers=headers)
    return response.status, await response.text()


async def test_the_endpoint_ping_is_answered_204_with_no_body(discord: Discord):
    assert await post(discord, {"version": 1, "application_id": "777000000000000001", "type": 0}) == (204, "")


async def test_an_unsigned_or_malformed_event_is_refused_without_a_trace(discord: Discord):
    assert (await post(discord, {"type": 0}, good=False))[0] == 401
    body = b"[" * 5000 + b"]" * 5000
    response = await discord.client.post(ROUTE, data=body, headers=discord.sign(body))
    assert response.status == 400
    body = b"{not json"
    response = await discord.client.post(ROUTE, data=body, headers=discord.sign(body))
    assert response.status == 400
    assert (await post(discord, {"type": 7}))[0] == 400


async def test_a_server_install_sends_the_installer_the_checklist_once(discord: Discord,
                                                                       fake_discord: FakeDiscord):
    # Discord repeats an event it did not see acknowledged: the same install, twice.
    assert (await post(discord, authorized()))[0] == 204
    assert (await post(discord, authorized()))[0] == 204
    assert await Delivery.filter(kind="setup").count() == 1
    workspace = await Workspace.get(platform="discord", external_id=GUILD)
    assert workspace.name == "営業とエンジニアリング" and workspace.default_locale == "ja"

    assert await OutboxWorker([discord.adapter]).drain() == 1
    [dm] = fake_discord.calls("POST", "/users/@me/channels")
    assert dm.body == {"recipient_id": ADMIN}
    [message] = fake_discord.made()
    text = shown(message["content"])
    assert "営業とエンジニアリング に Kizuna を追加していただきありがとうございます" in text
    assert "⬜ フィードチャンネル" in text and "/きずな フィードチャンネル" in text and "/ミーティング 作成" in text
    # Default values are seeded at install; the other three steps are left.
    assert "✅ バリュー: 5件" in text
    assert "⬜ 部署" in text and "⬜ 最初のミーティング" in text
    assert "残り 3 / 4 ステップ" in text


async def test_a_later_install_event_is_a_new_checklist_and_user_installs_are_ignored(discord: Discord):
    assert (await post(discord, authorized(timestamp="2026-12-05T03:00:00")))[0] == 204
    assert (await post(discord, authorized(timestamp="2026-12-06T09:00:00")))[0] == 204
    assert (await post(discord, authorized(integration_type=1)))[0] == 204
    other = {"version": 1, "application_id": "777000000000000001", "type": 1,
             "event": {"type": "ENTITLEMENT_CREATE", "timestamp": "2026-12-05T03:00:00", "data": {}}}
    assert (await post(discord, other))[0] == 204
    assert await Delivery.filter(kind="setup").count() == 2


async def test_kizuna_setup_shows_what_is_done_and_what_is_left(discord: Discord):
    answer = await discord.send(discord.admin("setup", locale="en"))
    text = shown(answer["data"]["content"])
    assert answer["data"]["flags"] & 64  # only the admin sees it
    assert "⬜ Feed channel" in text and "/kizuna feed-channel" in text
    assert "Steps left: 3 of 4" in text

    await discord.send(discord.admin("feed-channel", [{"name": "channel", "type": 7, "value": FEED}], locale="en"))
    text = shown((await discord.send(discord.admin("setup", locale="en")))["data"]["content"])
    assert "✅ Feed channel: set" in text and "Steps left: 2 of 4" in text


async def test_odd_shapes_of_a_signed_event_are_acknowledged_and_change_nothing(discord: Discord):
    for odd in ({"guild": {"id": GUILD, "name": 5}}, {"guild": {"id": "x"}}, {"user": {"id": ADMIN, "locale": []}},
                {"user": "root"}, {"guild": None}, {"integration_type": "0"}):
        payload = authorized()
        payload["event"]["data"].update(odd)
        assert (await post(discord, payload))[0] == 204, odd
    for odd_event in (None, [], {"type": "APPLICATION_AUTHORIZED", "data": []}):
        assert (await post(discord, {"version": 1, "type": 1, "event": odd_event}))[0] == 204
    assert await Delivery.filter(kind="setup").count() == 0
