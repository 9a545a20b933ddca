"""``/mixer`` on Discord, and a round announced as one private thread per group (against the fake API,
every request checked against Discord's OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.discord import wire
from core.mixers import scheduler
from core.mixers.models import MixerGroup
from core.models import Delivery
from kizuna.worker import OutboxWorker
from tests.discord.kit import ALICE, BOB, CAROL, DAVE, Discord, FakeDiscord


def sub(kit: Discord, which: str, user: str, **options) -> dict:
    opts = [{"name": k, "type": wire.OPT_INTEGER if isinstance(v, int) else wire.OPT_STRING, "value": v}
            for k, v in options.items()]
    return kit.command("mixer", [{"name": which, "type": wire.OPT_SUB_COMMAND, "options": opts}], user=user)


def said(answer: dict) -> str:
    data = answer.get("data", {})
    return " ".join([data.get("content", "")] + [str(e) for e in data.get("embeds", [])])


async def test_mixer_commands_and_a_private_thread_per_group(discord: Discord, fake_discord: FakeDiscord):
    created = await discord.send(sub(discord, "create", ALICE, name="Lunch", start="2030-12-04 12:00", size=2,
                                     timezone="UTC"))
    assert "groups of 2" in said(created)
    refused = await discord.send(sub(discord, "create", ALICE, name="Lunch", start="2030-12-04 12:00", size=9))
    assert "from 2 to 6" in said(refused)
    for user in (ALICE, BOB, CAROL, DAVE):
        assert "You joined" in said(await discord.send(sub(discord, "join", user, mixer="1")))
    assert "already joined" in said(await discord.send(sub(discord, "join", BOB, mixer="1")))
    assert "in the past" in said(await discord.send(sub(discord, "pause", BOB, mixer="1", until="2020-01-01")))

    result = await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))
    again = await scheduler.run_due(datetime(2030, 12, 3, 12, 1, tzinfo=UTC))
    assert len(result.formed) == 1 and again.formed == []
    worker = OutboxWorker([discord.adapter])
    assert await worker.drain() == 3  # the channel's summary and one thread per group of two

    threads = fake_discord.calls("POST", r"^/channels/\d+/threads$")
    assert len(threads) == 2
    channel = threads[0].path.split("/")[2]
    for call in threads:
        assert call.body["type"] == 12 and call.body["invitable"] is False and call.body["name"].startswith("Lunch")
    added = fake_discord.calls("PUT", r"/thread-members/")
    assert sorted(call.path.rsplit("/", 1)[1] for call in added) == sorted([ALICE, BOB, CAROL, DAVE])
    thread_ids = [g.external_id for g in await MixerGroup.all().order_by("number")]
    assert all(thread_ids) and len(set(thread_ids)) == 2
    for thread in thread_ids:
        [opening] = fake_discord.made(thread)
        # The workspace speaks Japanese by default: a suggested time and a conversation starter.
        assert "おすすめの時間" in opening["content"] and "話のきっかけ" in opening["content"]
    [summary] = fake_discord.made(channel)
    assert "グループ1" in summary["content"] and "グループ2" in summary["content"] and "<@" not in summary["content"]
    assert fake_discord.problems == []
    assert await Delivery.filter(kind="mixer").exclude(status="delivered").count() == 0


async def test_a_retried_group_delivery_reuses_its_thread(discord: Discord, fake_discord: FakeDiscord):
    await discord.send(sub(discord, "create", ALICE, name="Lunch", start="2030-12-04 12:00", size=2, timezone="UTC"))
    for user in (ALICE, BOB):
        await discord.send(sub(discord, "join", user, mixer="1"))
    await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))
    # The thread is made and its members added, then posting the opening message is refused for now
    # (rate limited for longer than the client waits): the outbox retries the whole delivery later.
    fake_discord.script("POST", r"^/channels/88\d+/messages$", (429, {"message": "slow", "retry_after": 300.0}, {}))
    worker = OutboxWorker([discord.adapter])
    await worker.drain()
    group = await Delivery.get(address_key__startswith="mixergroup:")
    assert group.status == "pending"
    group.next_attempt_at = datetime.now(UTC)
    await group.save()
    await worker.drain()
    assert len(fake_discord.calls("POST", r"^/channels/88\d+/messages$")) == 2
    assert len(fake_discord.calls("POST", r"^/channels/\d+/threads$")) == 1  # the same thread, not a second
    assert (await Delivery.get(id=group.id)).status == "delivered"
    assert fake_discord.problems == []


async def test_the_day_message_in_the_thread_has_we_met_buttons(discord: Discord, fake_discord: FakeDiscord):
    from core.mixers.models import MixerGroupMember

    await discord.send(sub(discord, "create", ALICE, name="Lunch", start="2030-12-04 12:00", size=2, timezone="UTC"))
    for user in (ALICE, BOB):
        await discord.send(sub(discord, "join", user, mixer="1"))
    await scheduler.run_due(datetime(2030, 12, 3, 12, 0, tzinfo=UTC))
    worker = OutboxWorker([discord.adapter])
    await worker.drain()
    [thread] = [g.external_id for g in await MixerGroup.all()]
    assert len((await scheduler.run_due(datetime(2030, 12, 4, 11, 0, tzinfo=UTC))).reminded) == 1
    assert await worker.drain() == 1
    assert len(fake_discord.calls("POST", r"^/channels/\d+/threads$")) == 1  # the group's thread again
    day = fake_discord.made(thread)[-1]
    buttons = [b for row in day["components"] for b in row["components"]]
    assert len(buttons) == 2 and all(b["custom_id"].startswith("kizuna:mixer_met:") for b in buttons)
    answered = await discord.send(discord.click(buttons[1]["custom_id"], user=BOB))
    assert "次回" in said(answered) or "Maybe next round" in said(answered)
    assert (await MixerGroupMember.get(member__platform_user_id=BOB)).met is False
    met = await discord.send(discord.click(buttons[0]["custom_id"], user=ALICE))
    assert "記録しました" in said(met) or "noted" in said(met)
    [thank] = [b for row in met["data"]["components"] for b in row["components"]]
    assert thank["custom_id"].startswith("kizuna:thank_group:")
    modal = await discord.send(discord.click(thank["custom_id"], user=ALICE))
    assert modal["type"] == 9 and BOB in str(modal["data"]) and ALICE not in str(modal["data"]["components"])
    refused = await discord.send(discord.click(buttons[0]["custom_id"], user=CAROL))
    assert "not in a group" in said(refused) or "入っていません" in said(refused)
    assert fake_discord.problems == []


async def test_a_mixer_in_a_channel_the_bot_cannot_post_to_is_refused(discord: Discord):
    from core.mixers.models import Mixer

    no_threads = wire.VIEW_CHANNEL | wire.SEND_MESSAGES
    payload = sub(discord, "create", ALICE, name="Lunch", start="2030-12-04 12:00")
    payload["app_permissions"] = str(no_threads)
    answer = said(await discord.send(payload))
    assert "cannot post its groups in this channel" in answer and "Create Private Threads" in answer
    payload = sub(discord, "create", ALICE, name="Lunch", start="2030-12-04 12:00")
    payload["locale"] = "ja"
    payload["app_permissions"] = "0"
    assert "グループを投稿できません" in said(await discord.send(payload))
    assert await Mixer.all().count() == 0
