"""After every meeting, in Teams: the prompt is posted once to the meeting's channel by the scheduler and the
outbox (to the fake Bot Connector), names who came without pinging them, and its button opens the "Send
thanks" dialog with them picked; the organiser turns it off in the meeting dialog or with a text command."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.testing import ALICE, BOB, CAROL
from adapters.teams.render import render_card
from core.meetings.models import Meeting
from kizuna.cli_meetings import run_due_and_deliver
from tests.cards.test_after_meeting_golden import prompt_messages
from tests.cards.test_golden import GOLDEN, matches_golden
from tests.teams.cards import inputs, texts
from tests.teams.test_meetings import create_through_dialog, edit_data, rsvp, task_fetch, task_submit

OCCURRENCE = "2030-12-02T10:00"
# The dialog's meeting: 10:00–11:00 in Tokyo on 2030-12-02, so it ends at 02:00 UTC.
ENDS = datetime(2030, 12, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_prompt_card_matches_its_golden_file(locale, check_card):
    card = check_card(render_card(prompt_messages(locale)["after_meeting"]))
    matches_golden(GOLDEN / "teams" / f"after_meeting.{locale}.json", card)
    # Names are plain text runs: no <at> tag, no mention entity, nobody is notified.
    assert "entities" not in card["msteams"]
    assert any("山田 **花子** <\u2060at>x<\u2060/at> @everyone" in x for x in texts(card))
    [button] = card["actions"]
    assert button["type"] == "Action.Submit" and button["data"]["msteams"] == {"type": "task/fetch"}


async def test_the_prompt_is_posted_once_and_opens_the_thanks_dialog_with_who_came(teams, connector, settings,
                                                                                   check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    meeting = await Meeting.get()
    for who, answer in ((ALICE, "yes"), (BOB, "yes"), (CAROL, "no")):
        await client.post("/api/messages", json=rsvp(connector, who, meeting.id, OCCURRENCE, answer))
    connector.clear()
    cli_settings = replace(settings, adapters=("teams",))
    out = io.StringIO()

    before = await run_due_and_deliver(cli_settings, ENDS - timedelta(seconds=1), out)
    assert before.prompts.sent == 0 and connector.activities() == []
    first = await run_due_and_deliver(cli_settings, ENDS + timedelta(seconds=5), out)
    assert first.prompts.sent == 1
    [posted] = [r for r in connector.activities() if r.method == "POST"]
    assert posted.path == "/v3/conversations/19%3Achannel%40thread.tacv2/activities"
    card = check_card(posted.card())
    assert "entities" not in card["msteams"]
    assert "“Sales x Eng sync” is over: thank someone who came" in texts(card)
    assert "Said they were coming: Alice and Bob" in texts(card)
    [button] = card["actions"]
    assert button["title"] == "Thank someone from this meeting"

    # Pressing it (as Alice): the "Send thanks" dialog with the others who came already picked.
    data = {k: v for k, v in button["data"].items() if k != "msteams"}
    answer = await (await client.post("/api/messages", json=task_fetch(connector, data))).json()
    form = check_card(answer["task"]["value"]["card"]["content"])
    picker = inputs(form)["recipients"]
    assert picker["value"] == "aad-bob" and [c["title"] for c in picker["choices"]] == ["Bob"]
    assert form["actions"][0]["data"] == {"meeting_id": str(meeting.id), "occurrence": OCCURRENCE,
                                          "kizuna": "send_thanks"}

    # Another pass (another process, a restart) posts nothing more.
    connector.clear()
    again = await run_due_and_deliver(cli_settings, ENDS + timedelta(minutes=1), out)
    assert again.prompts.sent == 0 and connector.activities() == []


async def test_the_organiser_turns_the_prompt_off_in_the_dialog_and_with_a_text_command(teams, connector,
                                                                                         check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="", thanks_prompt="false")
    meeting = await Meeting.get()
    assert meeting.thanks_prompt is False and meeting.next_prompt_at is None

    # The edit dialog shows the switch as it is, and saving it on plans the prompt again.
    data = {"kizuna": "edit_meeting_form", "meeting_id": str(meeting.id)}
    answer = await (await client.post("/api/messages", json=task_fetch(connector, data))).json()
    toggle = inputs(check_card(answer["task"]["value"]["card"]["content"]))["thanks_prompt"]
    assert (toggle["type"], toggle["value"], toggle["valueOn"], toggle["valueOff"]) == (
        "Input.Toggle", "false", "true", "false")
    response = await client.post("/api/messages", json=task_submit(connector, edit_data(
        meeting.id, departments="", thanks_prompt="true")))
    assert response.status == 200
    meeting = await Meeting.get()
    assert meeting.thanks_prompt is True and meeting.next_prompt_at == ENDS

    # Someone else may not; the organiser may, in either language.
    connector.clear()
    await client.post("/api/messages", json=t.message(connector.url, BOB, f"meeting edit {meeting.id} "
                                                                          "thanks-prompt=off"))
    assert (await Meeting.get()).thanks_prompt is True
    assert any("organiser" in x for x in texts(connector.wait_for(1)[-1].card()))
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"会議 編集 {meeting.id} "
                                                                            "お礼の呼びかけ=オフ", locale="ja-JP"))
    assert (await Meeting.get()).thanks_prompt is False
