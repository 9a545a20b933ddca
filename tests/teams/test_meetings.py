"""Meetings in Teams: the dialog (button, compose extension), text commands, RSVP buttons, who's coming,
thanking attendees, and a reminder posted end to end by ``kizuna reminders run-due``."""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import ALICE, BOB, CAROL
from adapters.teams.render import reminder_card
from cards.meetings import reminder_message
from core.app import commands as c
from core.app.execute import reminder
from core.app.grammar import parse
from core.config import Settings
from core.meetings import service
from core.meetings.models import Meeting, Rsvp
from core.models import Address, Member, Thanks, Workspace
from core.services.members import ensure_department
from kizuna.cli import main
from kizuna.cli_meetings import run_due_and_deliver
from kizuna.server import build_app
from tests.teams.cards import date_functions, inputs, texts

CHANNEL = "19:channel@thread.tacv2"
# 2030-12-02 10:00 in Tokyo is 01:00 UTC; the "1 day before" reminder is due at 2030-12-01T01:00Z.
START_DATE, START_TIME = "2030-12-02", "10:00"
DAY_BEFORE = datetime(2030, 12, 1, 1, 0, tzinfo=UTC)

FORM = {"kizuna": "create_meeting", "title": "Sales x Eng sync", "date": START_DATE, "time": START_TIME,
        "timezone": "Asia/Tokyo", "repeat": "monthly-nth-weekday", "duration": "60", "remind": "1d,15m",
        "departments": "Sales,Engineering", "place": "Room 3", "agenda": "What each team shipped"}






def task_fetch(connector, data, sender=ALICE, **kwargs):
    return t.invoke(connector.url, sender, "task/fetch",
                    {"data": {**data, "msteams": {"type": "task/fetch"}}, "context": {"theme": "default"}}, **kwargs)


def task_submit(connector, data, sender=ALICE, **kwargs):
    return t.invoke(connector.url, sender, "task/submit", {"data": data, "context": {"theme": "default"}}, **kwargs)


def rsvp(connector, sender, meeting_id, occurrence, answer, *, verb="rsvp", reply_to="activity-1", **kwargs):
    activity = t.invoke(connector.url, sender, "adaptiveCard/action", {
        "action": {"type": "Action.Execute", "verb": verb,
                   "data": {"meeting_id": str(meeting_id), "occurrence": occurrence, "answer": answer,
                            "locale": "en"}},
        "trigger": "manual"}, **kwargs)
    activity["replyToId"] = reply_to
    return activity


async def departments_for_teams(client, connector):
    """Say hello once so the Teams workspace exists, then give it two departments."""
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "help"))
    workspace = await Workspace.get(platform="teams")
    for name in ("Sales", "Engineering"):
        await ensure_department(workspace, name)
    connector.clear()
    return workspace


async def create_through_dialog(client, connector, *, where=None, **overrides):
    response = await client.post("/api/messages", json=task_submit(connector, {**FORM, **overrides},
                                                                   **(where or {})))
    assert response.status == 200
    return response, await response.json()


# ---- the dialog ----------------------------------------------------------------------------------


async def test_meeting_lists_and_offers_a_button_that_opens_the_dialog(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    response = await client.post("/api/messages", json=t.message(connector.url, ALICE, "meeting"))
    assert response.status == 201
    launcher = check_card(connector.activities()[-1].card())
    assert any("no meetings" in x.lower() or "Meetings" in x for x in texts(launcher)), texts(launcher)
    button = launcher["actions"][-1]
    assert button["type"] == "Action.Submit" and button["data"]["msteams"] == {"type": "task/fetch"}
    assert button["title"] == "Schedule a meeting"

    answer = await (await client.post("/api/messages", json=task_fetch(connector, button["data"]))).json()
    assert answer["task"]["type"] == "continue"
    assert answer["task"]["value"]["title"] == "Schedule a meeting"
    form = check_card(answer["task"]["value"]["card"]["content"])
    fields = inputs(form)
    assert fields["date"]["type"] == "Input.Date" and fields["time"]["type"] == "Input.Time"
    assert fields["timezone"]["value"] == "Asia/Tokyo"  # the workspace's zone
    assert [c["value"] for c in fields["repeat"]["choices"]] == [
        "none", "weekly", "biweekly", "monthly", "monthly-nth-weekday"]
    assert fields["remind"]["isMultiSelect"] is True and fields["remind"]["value"] == "1d,15m"
    assert [c["value"] for c in fields["departments"]["choices"]] == ["Engineering", "Sales"]
    assert {"place", "agenda", "title", "duration"} <= set(fields)
    assert form["actions"][0]["data"] == {"kizuna": "create_meeting"}

    await client.post("/api/messages", json=t.message(connector.url, ALICE, "ミーティング", locale="ja-JP"))
    ja = check_card(connector.activities()[-1].card())
    assert ja["actions"][-1]["title"] == "ミーティングを予定する"
    answer = await (await client.post("/api/messages", json=task_fetch(connector, ja["actions"][-1]["data"],
                                                                       locale="ja-JP"))).json()
    form = check_card(answer["task"]["value"]["card"]["content"])
    assert inputs(form)["repeat"]["choices"][1]["title"] == "毎週"


async def test_submitting_the_dialog_schedules_the_meeting_in_this_channel(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    _, answer = await create_through_dialog(client, connector)
    assert answer == {}  # the dialog closes
    meeting = await Meeting.get()
    assert (meeting.title, meeting.channel, meeting.timezone) == ("Sales x Eng sync", CHANNEL, "Asia/Tokyo")
    assert meeting.departments == ["Sales", "Engineering"] and meeting.reminder_offsets == [1440, 15]
    assert meeting.rrule.endswith("BYDAY=+1MO") or "BYDAY" in meeting.rrule
    # Reminders can be delivered: the channel's conversation reference is stored.
    address = await Address.get(key=f"channel:{CHANNEL}")
    assert address.payload["conversation"]["id"] == CHANNEL
    # The confirmation card is posted to the channel.
    posted = connector.wait_for(1)
    assert posted[0].path == "/v3/conversations/19%3Achannel%40thread.tacv2/activities"
    card = check_card(posted[0].card())
    assert any("is scheduled" in x for x in texts(card))


async def test_a_meeting_created_in_a_personal_chat_is_reminded_there(teams, connector):
    client, _ = teams
    await create_through_dialog(client, connector, departments="",
                                where={"conversation": "a:1on1", "conversation_type": "personal"})
    meeting = await Meeting.get()
    assert meeting.channel == "a:1on1"
    assert await Address.exists(key="channel:a:1on1")


async def test_dialog_errors_are_shown_in_the_dialog_with_what_was_entered(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    cases = [
        ({"title": "  "}, "title"),
        ({"date": "2020-01-06", "repeat": "none"}, "2020-01-06"),
        ({"date": ""}, "“10:00” cannot be used"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"departments": "Sales,Marketing"}, "Marketing"),
    ]
    for change, expected in cases:
        answer = await (await client.post("/api/messages", json=task_submit(connector, {**FORM, **change}))).json()
        assert answer["task"]["type"] == "continue", change
        card = check_card(answer["task"]["value"]["card"]["content"])
        error = card["body"][0]["inlines"][1]["text"]
        assert expected in error, (change, error)
        fields = inputs(card)
        assert fields["place"]["value"] == "Room 3" and fields["agenda"]["value"] == "What each team shipped"
    assert await Meeting.all().count() == 0
    assert [r for r in connector.activities() if r.method == "POST"] == []


async def test_the_schedule_meeting_compose_extension(teams, connector, check_card):
    client, _ = teams
    fetch = t.invoke(connector.url, ALICE, "composeExtension/fetchTask",
                     {"commandId": "scheduleMeeting", "commandContext": "compose"})
    answer = await (await client.post("/api/messages", json=fetch)).json()
    check_card(answer["task"]["value"]["card"]["content"])
    submit = t.invoke(connector.url, ALICE, "composeExtension/submitAction",
                      {"commandId": "scheduleMeeting", "commandContext": "compose",
                       "data": {**FORM, "departments": ""}})
    response = await client.post("/api/messages", json=submit)
    assert response.status == 200 and await response.json() == {}
    assert await Meeting.all().count() == 1


async def test_when_the_bot_is_not_in_the_chat_the_meeting_is_not_kept(teams, connector, check_card):
    client, _ = teams
    connector.fail_next(t.Failure(403, body={"error": {"code": "BotNotInConversationRoster", "message": "no"}}))
    _, answer = await create_through_dialog(
        client, connector, departments="",
        where={"conversation": "19:chat@unq.gbl.spaces", "conversation_type": "groupChat"})
    card = check_card(answer["task"]["value"]["card"]["content"])
    assert "not a member of this chat" in card["body"][0]["inlines"][1]["text"]
    assert (await Meeting.get()).status == "ended"


# ---- editing -------------------------------------------------------------------------------------


def edit_data(meeting_id, **changes):
    return {**FORM, "kizuna": "edit_meeting", "meeting_id": str(meeting_id), **changes}


async def open_edit_dialog(client, connector, meeting_id, sender=ALICE, **kwargs):
    data = {"kizuna": "edit_meeting_form", "meeting_id": str(meeting_id)}
    return await (await client.post("/api/messages", json=task_fetch(connector, data, sender=sender,
                                                                       **kwargs))).json()


async def test_meeting_edit_opens_the_dialog_filled_in_from_the_meeting(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    await create_through_dialog(client, connector)
    meeting = await Meeting.get()
    # The confirmation card of a new meeting has "Edit".
    created = check_card(connector.wait_for(1)[0].card())
    assert created["actions"][-1]["title"] == "Edit"
    assert created["actions"][-1]["data"] == {"kizuna": "edit_meeting_form", "meeting_id": str(meeting.id),
                                              "msteams": {"type": "task/fetch"}}
    connector.clear()

    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"meeting edit {meeting.id}"))
    launcher = check_card(connector.activities()[-1].card())
    assert any(f"#{meeting.id}" in x and "Sales x Eng sync" in x for x in texts(launcher))
    button = launcher["actions"][0]
    assert button["title"] == "Edit" and button["data"]["kizuna"] == "edit_meeting_form"

    answer = await (await client.post("/api/messages", json=task_fetch(connector, button["data"]))).json()
    assert answer["task"]["value"]["title"] == "Edit meeting"
    form = check_card(answer["task"]["value"]["card"]["content"])
    values = {key: field.get("value") for key, field in inputs(form).items()}
    assert values == {"title": "Sales x Eng sync", "date": START_DATE, "time": START_TIME, "timezone": "Asia/Tokyo",
                      "repeat": "monthly-nth-weekday", "duration": "60", "remind": "1d,15m",
                      "departments": "Sales,Engineering", "place": "Room 3", "agenda": "What each team shipped",
                      "thanks_prompt": "true"}
    assert form["actions"][0]["title"] == "Save changes"
    assert form["actions"][0]["data"] == {"kizuna": "edit_meeting", "meeting_id": str(meeting.id)}

    # In Japanese too; `meeting show` has the button as well.
    answer = await open_edit_dialog(client, connector, meeting.id, locale="ja-JP")
    assert answer["task"]["value"]["title"] == "ミーティングを編集"
    await client.post("/api/messages", json=t.message(connector.url, BOB, f"meeting show {meeting.id}"))
    assert check_card(connector.activities()[-1].card())["actions"][-1]["title"] == "Edit"


async def test_saving_the_edit_dialog_changes_the_meeting_and_posts_the_new_details(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    await create_through_dialog(client, connector)
    meeting = await Meeting.get()
    before = meeting.rrule
    connector.wait_for(1)
    connector.clear()

    response = await client.post("/api/messages", json=task_submit(connector, edit_data(
        meeting.id, title="Sales x Eng x HR sync", time="11:30", remind="1h", departments="Sales", agenda="")))
    assert response.status == 200 and await response.json() == {}  # the dialog closes
    meeting = await Meeting.get()
    assert (meeting.title, meeting.start_local, meeting.reminder_offsets) == (
        "Sales x Eng x HR sync", "2030-12-02T11:30", [60])
    assert meeting.departments == ["Sales"] and meeting.agenda == "" and meeting.place == "Room 3"
    assert meeting.rrule == before  # still the first Monday of the month
    posted = connector.wait_for(1)
    assert posted[0].path == "/v3/conversations/19%3Achannel%40thread.tacv2/activities"
    card = check_card(posted[0].card())
    assert any("is changed" in x and "Sales x Eng x HR sync" in x for x in texts(card))
    assert card["actions"][-1]["title"] == "Edit"
    assert await Meeting.all().count() == 1


async def test_only_the_organiser_or_an_admin_can_save_and_the_dialog_says_why(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    await create_through_dialog(client, connector)
    meeting = await Meeting.get()
    connector.wait_for(1)
    connector.clear()

    # Bob may open the dialog, but the core refuses his change: the error is shown in the dialog,
    # with what he entered.
    assert (await open_edit_dialog(client, connector, meeting.id, sender=BOB))["task"]["type"] == "continue"
    answer = await (await client.post("/api/messages", json=task_submit(
        connector, edit_data(meeting.id, title="Bob's meeting"), sender=BOB))).json()
    assert answer["task"]["type"] == "continue"
    card = check_card(answer["task"]["value"]["card"]["content"])
    assert "organiser" in card["body"][0]["inlines"][1]["text"]
    assert inputs(card)["title"]["value"] == "Bob's meeting"
    assert card["actions"][0]["data"]["kizuna"] == "edit_meeting"
    assert (await Meeting.get()).title == "Sales x Eng sync"

    # Invalid values come back into the dialog too.
    for change, expected in [({"timezone": "Mars/Olympus"}, "Mars/Olympus"), ({"title": " "}, "title"),
                             ({"departments": "Sales,Marketing"}, "Marketing"), ({"date": ""}, "cannot be used")]:
        answer = await (await client.post("/api/messages", json=task_submit(
            connector, edit_data(meeting.id, **change)))).json()
        card = check_card(answer["task"]["value"]["card"]["content"])
        assert expected in card["body"][0]["inlines"][1]["text"], change
        assert inputs(card)["place"]["value"] == "Room 3"
    assert (await Meeting.get()).timezone == "Asia/Tokyo"
    assert [r for r in connector.activities() if r.method == "POST"] == []

    # An admin may change someone else's meeting.
    await client.post("/api/messages", json=t.message(connector.url, CAROL, "help"))
    await Member.filter(platform_user_id=CAROL.id).update(is_admin=True)
    answer = await (await client.post("/api/messages", json=task_submit(
        connector, edit_data(meeting.id, place="Room 5"), sender=CAROL))).json()
    assert answer == {} and (await Meeting.get()).place == "Room 5"

    # A meeting that does not exist, or has ended.
    answer = await open_edit_dialog(client, connector, 999)
    assert answer["task"]["type"] == "message" and "999" in answer["task"]["value"]
    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"meeting cancel {meeting.id}"))
    answer = await (await client.post("/api/messages", json=task_submit(
        connector, edit_data(meeting.id, place="Room 6")))).json()
    assert answer["task"]["type"] == "continue" and (await Meeting.get()).place == "Room 5"


async def test_what_the_dialog_cannot_express_is_offered_and_kept(teams, connector, check_card):
    client, _ = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "help"))
    workspace = await Workspace.get(platform="teams")
    alice = await Member.get(platform_user_id=ALICE.id)
    view = await service.create_meeting(workspace, alice, title="Standup", start="2030-12-02 09:00",
                                        channel=CHANNEL, timezone="Europe/Berlin", repeat="custom",
                                        rrule="FREQ=WEEKLY;BYDAY=MO,TH", duration_minutes=50, remind="2d,45m")
    answer = await open_edit_dialog(client, connector, view.id)
    fields = inputs(check_card(answer["task"]["value"]["card"]["content"]))
    assert fields["repeat"]["value"] == "custom" and fields["duration"]["value"] == "50"
    assert fields["remind"]["value"] == "2d,45m"
    # In words, with the right plural: what the meeting has is offered as the listed choices are.
    assert {"2 days before", "45 minutes before"} <= {c["title"] for c in fields["remind"]["choices"]}
    assert [c["title"] for c in fields["duration"]["choices"]] == [
        "15 minutes", "30 minutes", "45 minutes", "50 minutes", "1 hour", "1 hour 30 minutes", "2 hours",
        "3 hours"]
    # Saved as shown, only the title changed: the rule, length and reminders stay.
    values = {key: field.get("value", "") for key, field in fields.items()}
    answer = await (await client.post("/api/messages", json=task_submit(connector, {
        **values, "title": "Stand-up", "kizuna": "edit_meeting", "meeting_id": str(view.id)}))).json()
    assert answer == {}
    meeting = await Meeting.get()
    assert (meeting.title, meeting.rrule, meeting.duration_minutes, meeting.reminder_offsets) == (
        "Stand-up", view.rrule, 50, [2880, 45])


async def test_a_one_minute_meeting_is_offered_as_one_minute_in_both_languages(teams, connector, check_card):
    client, _ = teams
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "help"))
    workspace = await Workspace.get(platform="teams")
    alice = await Member.get(platform_user_id=ALICE.id)
    view = await service.create_meeting(workspace, alice, title="Check-in", start="2030-12-02 09:00",
                                        channel=CHANNEL, timezone="Asia/Tokyo", duration_minutes=1, remind="1m")
    for locale, length, before in (("en-US", "1 minute", "1 minute before"), ("ja-JP", "1分", "1分前")):
        answer = await open_edit_dialog(client, connector, view.id, locale=locale)
        fields = inputs(check_card(answer["task"]["value"]["card"]["content"]))
        assert fields["duration"]["value"] == "1"
        assert fields["duration"]["choices"][0] == {"title": length, "value": "1"}
        assert {"title": before, "value": "1m"} in fields["remind"]["choices"]


# ---- text commands -------------------------------------------------------------------------------


async def test_list_skip_and_cancel_as_text(teams, connector, check_card):
    client, _ = teams
    await departments_for_teams(client, connector)
    await create_through_dialog(client, connector)
    meeting = await Meeting.get()
    connector.clear()

    await client.post("/api/messages", json=t.message(connector.url, BOB, "meeting list"))
    listing = check_card(connector.activities()[-1].card())
    assert any(f"#{meeting.id} Sales x Eng sync" in x for x in texts(listing))

    await client.post("/api/messages", json=t.message(connector.url, BOB, f"meeting skip {meeting.id} 2030-12-02"))
    refused = check_card(connector.activities()[-1].card())
    assert any("organiser" in x for x in texts(refused))

    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"meeting skip {meeting.id} 2030-12-02"))
    skipped = check_card(connector.activities()[-1].card())
    assert any("is skipped" in x for x in texts(skipped))
    assert (await service.get_meeting(await Workspace.get(platform="teams"), meeting.id)).skipped == (
        "2030-12-02T10:00",)

    await client.post("/api/messages", json=t.message(connector.url, ALICE, f"ミーティング 中止 ＃{meeting.id}",
                                                      locale="ja-JP"))
    ended = check_card(connector.activities()[-1].card())
    assert any("終了しました" in x for x in texts(ended))
    assert (await Meeting.get()).status == "ended"

    await client.post("/api/messages", json=t.message(connector.url, ALICE, "meeting skip"))
    assert any("meeting skip ID" in x for x in texts(check_card(connector.activities()[-1].card())))
    # An unknown sub-command is answered with the grammar's usage of ``meeting``.
    await client.post("/api/messages", json=t.message(connector.url, ALICE, "meeting frobnicate"))
    assert any("Usage: meeting [list|create" in x for x in texts(check_card(connector.activities()[-1].card())))


async def test_pause_resume_and_move_as_text(teams, connector, check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="", repeat="weekly")
    meeting = await Meeting.get()
    workspace = await Workspace.get(platform="teams")
    connector.wait_for(1)
    connector.clear()

    async def say(sender, text, **kwargs):
        await client.post("/api/messages", json=t.message(connector.url, sender, text, **kwargs))
        return texts(check_card(connector.activities()[-1].card()))

    assert any("organiser" in x for x in await say(BOB, f"meeting pause {meeting.id}"))
    assert any("are paused" in x for x in await say(ALICE, f"meeting pause {meeting.id}"))
    assert (await Meeting.get()).status == "paused"
    assert any("再開" in x for x in await say(ALICE, f"ミーティング 再開 {meeting.id}", locale="ja-JP"))
    assert (await Meeting.get()).status == "active"

    assert any("is moved" in x for x in await say(ALICE, f"meeting move {meeting.id} 2030-12-09 2030-12-10 14:00"))
    assert any("is moved" in x for x in await say(ALICE, f"meeting move {meeting.id} 2030-12-16 15:30"))
    upcoming = await service.upcoming_occurrences(workspace, meeting.id, 4)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert [(o.key, o.starts_at.astimezone(tokyo).strftime("%Y-%m-%d %H:%M")) for o in upcoming] == [
        ("2030-12-02T10:00", "2030-12-02 10:00"), ("2030-12-09T10:00", "2030-12-10 14:00"),
        ("2030-12-16T10:00", "2030-12-16 15:30"), ("2030-12-23T10:00", "2030-12-23 10:00")]
    assert any("organiser" in x for x in await say(BOB, f"meeting move {meeting.id} 2030-12-23 11:00"))
    assert any("meeting move" in x for x in await say(ALICE, f"meeting move {meeting.id} 2030-12-23"))


def test_positional_move_arguments_are_the_grammars():
    assert parse("meeting move 3 2030-12-09 2030-12-10 14:00") == c.MoveOccurrence("3", "2030-12-09",
                                                                                  "2030-12-10 14:00")
    assert parse("meeting move 3 2030-12-09 14:00") == c.MoveOccurrence("3", "2030-12-09", "14:00")
    assert parse("meeting move 3 2030-12-09 10:00 2030-12-10 14:00") == c.MoveOccurrence(
        "3", "2030-12-09 10:00", "2030-12-10 14:00")


# ---- reminders and RSVPs -------------------------------------------------------------------------


async def reminder_for(workspace: Workspace, meeting_id: int, occurrence: str = "2030-12-02T10:00", **kwargs):
    return reminder_card(reminder_message(await reminder(workspace, meeting_id, occurrence, **kwargs), "en"))


async def test_the_reminder_card_has_rsvp_buttons_counts_and_who_is_coming(teams, connector, check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    workspace = await Workspace.get(platform="teams")
    meeting = await Meeting.get()
    card = check_card(await reminder_for(workspace, meeting.id))
    assert [(a["type"], a.get("verb"), a["title"]) for a in card["actions"][:3]] == [
        ("Action.Execute", "rsvp", "Going"), ("Action.Execute", "rsvp", "Maybe"),
        ("Action.Execute", "rsvp", "Can't go")]
    assert card["actions"][0]["data"] == {"meeting_id": str(meeting.id), "occurrence": "2030-12-02T10:00",
                                          "answer": "yes", "locale": "en"}
    who = card["actions"][3]
    assert who["type"] == "Action.Submit" and who["data"]["kizuna"] == "rsvp_details"
    assert card["refresh"]["action"]["verb"] == "meeting_refresh"
    assert any("Going 0 · Maybe 0 · Can't go 0" in x for x in texts(card))
    # When: in the reader's own zone (Teams formats it), then in the meeting's own zone, named.
    start = "2030-12-02T01:00:00Z"  # 10:00 in Tokyo
    assert date_functions(card) == [f"{{{{DATE({start}, SHORT)}}}}", f"{{{{TIME({start})}}}}"]
    assert f"🕒 {{{{DATE({start}, SHORT)}}}} {{{{TIME({start})}}}} (your time zone)" in texts(card)
    assert "Mon, Dec 2, 2030 10:00 AM (1 hour, Asia/Tokyo)" in texts(card)
    assert "Mon, Dec 2, 2030 10:00 AM (1 hour, Asia/Tokyo)" in card["fallbackText"]

    # After the meeting, the card offers "Thank someone from this meeting" (opens the thanks dialog).
    after = datetime(2030, 12, 2, 2, 30, tzinfo=UTC)
    card = check_card(await reminder_for(workspace, meeting.id, now=after))
    thank = card["actions"][0]
    assert thank["type"] == "Action.Submit" and thank["title"] == "Thank someone from this meeting"
    assert thank["data"]["kizuna"] == "thank_attendees" and thank["data"]["msteams"] == {"type": "task/fetch"}


async def test_pressing_rsvp_records_the_answer_and_refreshes_the_counts(teams, connector, check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    meeting = await Meeting.get()
    connector.clear()
    occurrence = "2030-12-02T10:00"

    answer = await (await client.post("/api/messages", json=rsvp(connector, BOB, meeting.id, occurrence,
                                                                 "yes"))).json()
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    card = check_card(answer["value"])
    assert any("Going 1 · Maybe 0 · Can't go 0" in x for x in texts(card))
    assert any("Your answer: Going" in x for x in texts(card))
    assert card["actions"][0].get("style") == "positive"
    # Everyone's copy gets the new counts (without "your answer").
    updates = [r for r in connector.activities() if r.method == "PUT"]
    assert updates and updates[0].path.endswith("/activities/activity-1")
    shared = check_card(updates[0].card())
    assert any("Going 1" in x for x in texts(shared)) and not any("Your answer" in x for x in texts(shared))

    # Changing one's mind moves the answer; it does not add one.
    answer = await (await client.post("/api/messages", json=rsvp(connector, BOB, meeting.id, occurrence,
                                                                 "maybe"))).json()
    assert any("Going 0 · Maybe 1 · Can't go 0" in x for x in texts(check_card(answer["value"])))
    await client.post("/api/messages", json=rsvp(connector, CAROL, meeting.id, occurrence, "no"))
    assert await Rsvp.all().count() == 2

    # A refresh (automatic or "Refresh card") shows the current counts and the viewer's answer.
    answer = await (await client.post("/api/messages", json=rsvp(connector, BOB, meeting.id, occurrence, "",
                                                                 verb="meeting_refresh"))).json()
    card = check_card(answer["value"])
    assert any("Going 0 · Maybe 1 · Can't go 1" in x for x in texts(card))
    assert any("Your answer: Maybe" in x for x in texts(card))


async def test_rsvp_problems_are_answered_politely(teams, connector):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    meeting = await Meeting.get()
    for meeting_id, occurrence, answer, expected in [
        (999, "2030-12-02T10:00", "yes", "999"),
        (meeting.id, "2030-12-03T10:00", "yes", "2030-12-03"),
        (meeting.id, "2030-12-02T10:00", "perhaps-not", "perhaps-not"),
        ("abc", "", "yes", "abc"),
    ]:
        response = await client.post("/api/messages", json=rsvp(connector, BOB, meeting_id, occurrence, answer))
        assert response.status == 200
        body = await response.json()
        assert body["type"] == "application/vnd.microsoft.activity.message"
        assert expected in body["value"], body
    assert await Rsvp.all().count() == 0


@pytest.mark.parametrize("meeting_id", ["2147483648", "99999999999999999999999"])
async def test_a_meeting_id_too_big_for_any_row_is_not_found(teams, connector, check_card, meeting_id):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    connector.clear()
    for command in ("show", "edit", "pause", "cancel"):
        response = await client.post("/api/messages", json=t.message(connector.url, ALICE,
                                                                     f"meeting {command} {meeting_id}"))
        assert response.status == 201
        card = check_card(connector.activities()[-1].card())
        assert any(f"There is no meeting #{meeting_id}" in x for x in texts(card)), command
    answer = await (await client.post("/api/messages", json=rsvp(connector, BOB, meeting_id, "2030-12-02T10:00",
                                                                 "yes"))).json()
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert meeting_id in answer["value"]
    assert (await Meeting.get()).status == "active"


async def test_the_organiser_sees_who_answered(teams, connector, check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    meeting = await Meeting.get()
    occurrence = "2030-12-02T10:00"
    await client.post("/api/messages", json=rsvp(connector, BOB, meeting.id, occurrence, "yes"))
    await client.post("/api/messages", json=rsvp(connector, CAROL, meeting.id, occurrence, "no"))
    data = {"kizuna": "rsvp_details", "meeting_id": str(meeting.id), "occurrence": occurrence, "locale": "en"}

    answer = await (await client.post("/api/messages", json=task_fetch(connector, data))).json()
    assert answer["task"]["type"] == "continue" and answer["task"]["value"]["title"] == "Who's coming"
    details = texts(check_card(answer["task"]["value"]["card"]["content"]))
    assert any("Going: Bob" in x for x in details) and any("Can't go: Carol" in x for x in details)

    answer = await (await client.post("/api/messages", json=task_fetch(connector, data, sender=BOB))).json()
    assert answer["task"]["type"] == "message" and "organiser" in answer["task"]["value"]


async def test_thank_someone_from_the_meeting_preselects_the_attendees(teams, connector, check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    meeting = await Meeting.get()
    occurrence = "2030-12-02T10:00"
    for who in (ALICE, BOB, CAROL):
        await client.post("/api/messages", json=rsvp(connector, who, meeting.id, occurrence, "yes"))
    data = {"kizuna": "thank_attendees", "meeting_id": str(meeting.id), "occurrence": occurrence, "locale": "en"}
    answer = await (await client.post("/api/messages", json=task_fetch(connector, data))).json()
    form = check_card(answer["task"]["value"]["card"]["content"])
    picker = inputs(form)["recipients"]
    # By Entra object id (what the people picker uses), the person thanking left out.
    assert picker["value"] == "aad-bob,aad-carol"
    assert [c["title"] for c in picker["choices"]] == ["Bob", "Carol"]
    submit_data = form["actions"][0]["data"]
    assert submit_data == {"meeting_id": str(meeting.id), "occurrence": occurrence, "kizuna": "send_thanks"}

    # An error keeps the attendees on offer.
    answer = await (await client.post("/api/messages", json=task_submit(
        connector, {**submit_data, "recipients": "aad-bob,aad-carol", "message": " "}))).json()
    form = check_card(answer["task"]["value"]["card"]["content"])
    assert [c["title"] for c in inputs(form)["recipients"]["choices"]] == ["Bob", "Carol"]

    connector.clear()
    response = await client.post("/api/messages", json=task_submit(
        connector, {**submit_data, "recipients": "aad-bob,aad-carol", "message": "Great demo in the sync!"}))
    assert response.status == 200 and await response.json() == {}
    thanks = await Thanks.get()
    assert thanks.message == "Great demo in the sync!"
    posted = connector.wait_for(1)
    card = check_card(posted[0].card())
    assert [e["mentioned"]["id"] for e in card["msteams"]["entities"]] == ["29:bob", "29:carol"]


# ---- end to end: dialog → kizuna reminders run-due → the fake Bot Connector ---------------------------


async def test_run_due_posts_the_reminder_with_rsvp_buttons_exactly_once(teams, connector, settings, check_card):
    client, _ = teams
    await create_through_dialog(client, connector, departments="")
    connector.clear()
    # What `kizuna reminders run-due --now …` does, with the adapters it loads from the settings.
    cli_settings = replace(settings, adapters=("teams",))
    out = io.StringIO()
    first = await run_due_and_deliver(cli_settings, DAY_BEFORE, out)
    assert first.sent == 1
    posted = [r for r in connector.activities() if r.method == "POST"]
    assert len(posted) == 1
    assert posted[0].path == "/v3/conversations/19%3Achannel%40thread.tacv2/activities"
    card = check_card(posted[0].card())
    assert [a.get("verb") for a in card["actions"][:3]] == ["rsvp", "rsvp", "rsvp"]
    assert any("Reminder: Sales x Eng sync" in x for x in texts(card))

    connector.clear()
    second = await run_due_and_deliver(cli_settings, DAY_BEFORE + timedelta(minutes=1), out)
    assert second.sent == 0
    assert connector.activities() == []


@pytest.mark.sqlite_only
def test_kizuna_reminders_run_due_posts_once_to_the_fake_connector(tmp_path, monkeypatch, connector, check_card):
    """The real command line on a SQLite file: a meeting scheduled through a Teams dialog submit (the
    real app on that file), then `kizuna reminders run-due --now <1 day before>` twice."""
    url = f"sqlite://{tmp_path}/kizuna.sqlite3"
    monkeypatch.setenv("KIZUNA_DATABASE_URL", url)
    monkeypatch.setenv("KIZUNA_ADAPTERS", "teams")
    for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"):
        monkeypatch.setenv(name, "")

    def cli(*argv: str) -> tuple[int, str]:
        # In a thread of its own: the CLI runs its own event loop (asyncio.run) and database context.
        result: list[tuple[int, str]] = []

        def run() -> None:
            out = io.StringIO()
            result.append((main(list(argv), out), out.getvalue()))

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)
        return result[0]

    async def schedule() -> None:
        settings = Settings(database_url=url)
        adapter = TeamsAdapter(settings)
        app = build_app(settings, adapters=[adapter], run_workers=False)
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            response = await client.post("/api/messages", json=task_submit(connector, {**FORM, "departments": ""}))
            assert response.status == 200 and await response.json() == {}
            connector.wait_for(1)  # the "scheduled" confirmation
        finally:
            await client.close()

    def in_thread(coroutine_function) -> None:
        failures: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(coroutine_function())
            except BaseException as error:  # re-raised in the test's thread
                failures.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)
        if failures:
            raise failures[0]

    assert cli("migrate")[0] == 0
    in_thread(schedule)
    connector.clear()
    code, first = cli("reminders", "run-due", "--now", "2030-12-01T01:00:00Z", "--force")
    assert code == 0, first
    assert "1 enqueued" in first and "delivered 1" in first
    posted = [r for r in connector.activities() if r.method == "POST"]
    assert len(posted) == 1
    assert posted[0].path == "/v3/conversations/19%3Achannel%40thread.tacv2/activities"
    card = check_card(posted[0].card())
    assert [a.get("verb") for a in card["actions"][:3]] == ["rsvp", "rsvp", "rsvp"]

    connector.clear()
    code, second = cli("reminders", "run-due", "--now", "2030-12-01T01:00:00Z", "--force")
    assert code == 0 and "0 enqueued" in second
    assert connector.activities() == []
