"""After every meeting, on Discord: the prompt is posted once to the meeting's channel by the scheduler and the
outbox (to the fake Discord API, which checks it against the OpenAPI spec and Discord's limits), names who
came without pinging anyone, and its button opens the thanks modal with them picked in the user select;
``/meeting edit thanks-prompt`` turns it off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.discord import validate, wire
from adapters.discord.meetings import reminder_payload
from adapters.discord.render import decode_action, escape, render
from core.meetings import scheduler, service
from core.meetings.models import Meeting
from kizuna.worker import OutboxWorker
from tests.cards.test_after_meeting_golden import prompt_messages
from tests.cards.test_golden import GOLDEN, matches_golden
from tests.discord import openapi
from tests.discord.kit import ALICE, BOB, CAROL, CHANNEL, Discord, FakeDiscord
from tests.discord.test_meetings import buttons, create, guild, reminder_card

# /meeting create's default: 2030-12-02 10:00–11:00 in Tokyo, so it ends at 02:00 UTC.
ENDS = datetime(2030, 12, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_prompt_payload_matches_its_golden_file_and_discords_spec(locale):
    payload = render(prompt_messages(locale)["after_meeting"])
    matches_golden(GOLDEN / "discord" / f"after_meeting.{locale}.json", payload)
    assert validate.check_message(payload) == []
    assert openapi.check_request("POST", f"/channels/{CHANNEL}/messages", payload) == []
    # Names are escaped text, never <@id>; nobody can be pinged.
    assert payload["allowed_mentions"] == {"parse": [], "users": []}
    description = payload["embeds"][0]["description"]
    assert "<@" not in description and "@\u200beveryone" in description and "\\*\\*花子\\*\\*" in description


async def answer_going(discord: Discord, view_id: int, key: str, *users: str) -> None:
    workspace = await guild()
    before = await reminder_card(workspace, view_id, key, "en", now=datetime(2030, 12, 1, tzinfo=UTC))
    going = buttons(reminder_payload(before))[0]["custom_id"]
    for user in users:
        await discord.send(discord.click(going, user=user))


async def test_the_prompt_is_posted_once_and_opens_the_thanks_modal_with_who_came(discord: Discord,
                                                                                  fake_discord: FakeDiscord):
    await create(discord, event=False)
    [view] = await service.list_meetings(await guild())
    assert view.next_occurrence is not None
    await answer_going(discord, view.id, view.next_occurrence.key, BOB, CAROL)
    worker = OutboxWorker([discord.adapter])

    assert (await scheduler.run_due(ENDS - timedelta(seconds=1))).prompts.sent == 0
    assert (await scheduler.run_due(ENDS + timedelta(seconds=5))).prompts.sent == 1
    await worker.drain()
    [post] = fake_discord.calls("POST", f"/channels/{CHANNEL}/messages")
    body = post.body
    assert validate.check_message(body) == [] and fake_discord.problems == []
    embed = body["embeds"][0]
    # In the server's language (Japanese by default), whoever reads it.
    assert embed["title"] == "🙌 「Sales x Eng」が終わりました。参加した人に感謝を伝えましょう"
    assert escape("参加と回答した人: Bob、Carol") in embed["description"]
    assert "<@" not in embed["description"] and "content" not in body
    assert body["allowed_mentions"] == {"parse": [], "users": []}
    [thank] = buttons(body)
    kind, data, locale = decode_action(thank["custom_id"])  # type: ignore[misc]
    assert (kind, data, locale) == ("thank_attendees", {"meeting_id": str(view.id),
                                                        "occurrence": view.next_occurrence.key}, "ja")

    # Bob presses it: the modal, with Carol (who came, and is not Bob) picked in its user select.
    modal = await discord.send(discord.click(thank["custom_id"], user=BOB))
    assert modal["type"] == wire.MODAL
    select = modal["data"]["components"][0]["component"]
    assert select["type"] == wire.USER_SELECT and select["default_values"] == [{"id": CAROL, "type": "user"}]

    # Passes in other processes, or after a restart, post nothing more.
    for _ in range(2):
        assert (await scheduler.run_due(ENDS + timedelta(minutes=1))).prompts.sent == 0
    await worker.drain()
    assert len(fake_discord.calls("POST", f"/channels/{CHANNEL}/messages")) == 1


def edit(discord: Discord, meeting_id: int, value: Any, user: str = ALICE, **kw: Any) -> dict[str, Any]:
    options = [{"name": "meeting", "type": wire.OPT_STRING, "value": str(meeting_id)},
               {"name": "thanks-prompt", "type": wire.OPT_BOOLEAN, "value": value}]
    return discord.command("meeting", [{"name": "edit", "type": wire.OPT_SUB_COMMAND, "options": options}],
                           user=user, **kw)


async def test_meeting_edit_turns_the_prompt_off_for_the_organiser_only(discord: Discord):
    await create(discord, event=False)
    [view] = await service.list_meetings(await guild())
    answer = await discord.send(edit(discord, view.id, False, user=BOB))
    assert answer["data"]["flags"] == wire.EPHEMERAL and (await Meeting.get()).thanks_prompt is True
    answer = await discord.send(edit(discord, view.id, False, locale="ja"))
    assert escape("会議の後: 感謝の呼びかけなし") in answer["data"]["content"]
    row = await Meeting.get()
    assert row.thanks_prompt is False and row.next_prompt_at is None
    assert (await scheduler.run_due(ENDS + timedelta(seconds=5))).prompts.sent == 0
    answer = await discord.send(edit(discord, view.id, True))
    assert escape("After each meeting: a prompt to thank the people who came") in answer["data"]["content"]
    assert (await Meeting.get()).next_prompt_at == ENDS


async def test_a_meeting_can_be_created_without_the_prompt(discord: Discord):
    options = {"title": "Quiet sync", "start": "2030-12-02 10:00", "timezone": "Asia/Tokyo"}
    opts = [{"name": k, "type": wire.OPT_STRING, "value": v} for k, v in options.items()]
    opts += [{"name": "thanks-prompt", "type": wire.OPT_BOOLEAN, "value": False},
             {"name": "event", "type": wire.OPT_BOOLEAN, "value": False}]
    await discord.send(discord.command("meeting", [{"name": "create", "type": wire.OPT_SUB_COMMAND,
                                                    "options": opts}]))
    assert (await Meeting.get()).thanks_prompt is False
