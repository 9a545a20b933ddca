"""``/meeting`` through signed interactions: create (with a scheduled event), RSVP buttons, who answered,
thanking attendees, skip/edit/cancel, autocomplete, and core errors as ephemeral localised replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.discord import wire
from adapters.discord.meetings import discord_recurrence, reminder_payload
from adapters.discord.render import decode_action, escape
from adapters.discord.validate import check_message, check_response
from cards.meetings import reminder_message
from cards.model import ReminderMessage
from core.app.execute import reminder
from core.meetings import service
from core.meetings.models import Meeting
from core.models import Workspace
from tests.discord.kit import ALICE, BOB, CAROL, CHANNEL, GUILD, Discord, FakeDiscord

FUTURE = "2030-12-02 10:00"  # the first Monday of December 2030


def meeting(discord: Discord, sub: str, options: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    kinds = {"duration": wire.OPT_INTEGER, "event": wire.OPT_BOOLEAN, "channel": wire.OPT_CHANNEL}
    opts = [{"name": k, "type": kinds.get(k, wire.OPT_STRING), "value": v} for k, v in (options or {}).items()]
    return discord.command("meeting", [{"name": sub, "type": wire.OPT_SUB_COMMAND, "options": opts}], **kw)


async def create(discord: Discord, *, locale: str = "en", user: str = ALICE, **options: Any) -> dict[str, Any]:
    fields = {"title": "Sales x Eng", "start": FUTURE, "repeat": "monthly-nth-weekday", "timezone": "Asia/Tokyo",
              "departments": "", "place": "Room 3"}
    fields.update(options)
    return await discord.send(meeting(discord, "create", fields, locale=locale, user=user))


async def guild() -> Workspace:
    return await Workspace.get(platform="discord", external_id=GUILD)


async def reminder_card(workspace: Workspace, meeting_id: int, key: str, locale: str, **kw: Any) -> ReminderMessage:
    """The reminder of one date as the outbox would post it."""
    return reminder_message(await reminder(workspace, meeting_id, key, **kw), locale)


def buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in data.get("components", []) for b in row["components"]]


async def test_create_schedules_the_meeting_and_publishes_a_monthly_event(discord: Discord,
                                                                          fake_discord: FakeDiscord):
    answer = await create(discord)
    assert answer["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE and "flags" not in answer["data"]
    content = answer["data"]["content"]
    assert "Sales x Eng" in content and "Monthly on the first Monday" in content
    [post] = fake_discord.calls("POST", f"/guilds/{GUILD}/scheduled-events")
    body = post.body
    assert body["entity_type"] == 3 and body["privacy_level"] == 2 and body["channel_id"] is None
    assert body["entity_metadata"] == {"location": "Room 3"}
    assert body["scheduled_start_time"] == "2030-12-02T01:00:00+00:00"
    assert body["scheduled_end_time"] == "2030-12-02T02:00:00+00:00"
    assert body["recurrence_rule"] == {"start": "2030-12-02T01:00:00+00:00", "frequency": 1, "interval": 1,
                                       "by_n_weekday": [{"n": 1, "day": 0}]}
    [view] = await service.list_meetings(await guild())
    assert view.external_event_id and view.channel == CHANNEL
    assert f"https://discord.com/events/{GUILD}/{view.external_event_id}" in content
    assert fake_discord.problems == []


async def test_without_create_events_permission_the_meeting_works_and_the_organiser_is_told(
        discord: Discord, fake_discord: FakeDiscord):
    fake_discord.script("POST", "/scheduled-events", (403, {"message": "Missing Permissions", "code": 50013}, {}))
    answer = await create(discord, repeat="weekly", locale="ja")
    assert "イベントを作成" in answer["data"]["content"]
    [view] = await service.list_meetings(await guild())
    assert view.external_event_id is None and view.next_reminder_at is not None


async def test_a_rule_discord_cannot_repeat_is_not_published(discord: Discord, fake_discord: FakeDiscord):
    answer = await create(discord, repeat="monthly")  # "monthly on day 2" is YEARLY-only in Discord
    assert "cannot repeat like this" in answer["data"]["content"]
    assert fake_discord.calls("POST", "/scheduled-events") == []
    answer = await create(discord, repeat="biweekly", title="Every other Monday", event=False)
    assert fake_discord.calls("POST", "/scheduled-events") == []


async def test_discord_recurrence_covers_weekly_biweekly_and_nth_weekday_only(discord: Discord):
    await create(discord, repeat="biweekly", event=False)
    await create(discord, repeat="monthly-nth-weekday", start="2030-12-30 10:00", event=False)  # a 5th Monday
    biweekly, last_monday = sorted(await service.list_meetings(await guild()), key=lambda v: v.id)
    assert discord_recurrence(biweekly) == {"start": "2030-12-02T01:00:00+00:00", "frequency": 2, "interval": 2,
                                            "by_weekday": [0]}
    assert discord_recurrence(last_monday) is None  # "the last Monday": Discord's n is 1-5, no "last"


async def test_rsvp_buttons_record_the_answer_and_update_the_reminder(discord: Discord, fake_discord: FakeDiscord):
    await create(discord)
    workspace = await guild()
    [view] = await service.list_meetings(workspace)
    assert view.next_occurrence is not None
    key = view.next_occurrence.key
    now = datetime(2030, 12, 1, 1, tzinfo=UTC)
    message = await reminder_card(workspace, view.id, key, "en", late=True, now=now)
    posted = reminder_payload(message, link=f"https://discord.com/events/{GUILD}/{view.external_event_id}")
    assert check_message(posted) == []
    # When: in the reader's own zone (Discord writes <t:…:F> for each reader), then the meeting's own.
    start = int(datetime(2030, 12, 2, 1, tzinfo=UTC).timestamp())  # 10:00 in Tokyo
    assert posted["embeds"][0]["description"].splitlines()[:2] == [
        f"🕒 <t:{start}:F> (your time zone)", escape("Mon, Dec 2, 2030 10:00 AM (1 hour, Asia/Tokyo)")]
    going = next(b for b in buttons(posted) if b.get("label") == "Going")
    assert [b.get("style") for b in buttons(posted)][-1] == wire.BUTTON_LINK
    answer = await discord.send(discord.click(going["custom_id"], message={"id": "42", **posted}, user=BOB))
    assert answer["type"] == wire.UPDATE_MESSAGE
    embed = answer["data"]["embeds"][0]
    assert embed["footer"]["text"] == "Going 1 · Maybe 0 · Can't go 0"
    assert "late" in embed["description"]  # the late note stays
    assert buttons(answer["data"])[-1]["url"].endswith(str(view.external_event_id))
    # Changing one's mind moves the count.
    maybe = next(b for b in buttons(answer["data"]) if b.get("label") == "Maybe")
    answer = await discord.send(discord.click(maybe["custom_id"], message={"id": "42", **posted}, user=BOB,
                                              locale="ja"))
    assert answer["data"]["embeds"][0]["footer"]["text"] == "Going 0 · Maybe 1 · Can't go 0"
    summary = await service.rsvp_summary(workspace, view.id, key)
    assert [p.platform_user_id for p in summary.maybe] == [BOB]


async def test_only_the_organiser_sees_who_answered(discord: Discord):
    await create(discord, event=False)
    workspace = await guild()
    [view] = await service.list_meetings(workspace)
    assert view.next_occurrence is not None
    message = await reminder_card(workspace, view.id, view.next_occurrence.key, "en",
                                     now=datetime(2030, 12, 1, tzinfo=UTC))
    posted = reminder_payload(message)
    going = next(b for b in buttons(posted) if b.get("label") == "Going")
    who = next(b for b in buttons(posted) if decode_action(b["custom_id"])[0] == "rsvps")  # type: ignore[index]
    await discord.send(discord.click(going["custom_id"], user=CAROL))
    answer = await discord.send(discord.click(who["custom_id"], user=BOB))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "organiser" in answer["data"]["content"]
    answer = await discord.send(discord.click(who["custom_id"], user=ALICE))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "Carol" in answer["data"]["content"]
    answer = await discord.send(meeting(discord, "rsvps", {"meeting": str(view.id)}, user=ALICE))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "Carol" in answer["data"]["content"]


async def test_thank_attendees_opens_a_modal_prefilled_with_who_came(discord: Discord):
    await create(discord, event=False)
    workspace = await guild()
    [view] = await service.list_meetings(workspace)
    assert view.next_occurrence is not None
    key = view.next_occurrence.key
    for user in (BOB, CAROL):
        await discord.send(discord.click(
            buttons(reminder_payload(await reminder_card(workspace, view.id, key, "en",
                                                            now=datetime(2030, 12, 1, tzinfo=UTC))))[0]["custom_id"],
            user=user))
    after = await reminder_card(workspace, view.id, key, "en", now=datetime(2030, 12, 3, tzinfo=UTC))
    [thank] = [b for b in buttons(reminder_payload(after)) if decode_action(b["custom_id"])[0] == "thank_attendees"]
    modal = await discord.send(discord.click(thank["custom_id"], user=BOB))
    assert modal["type"] == wire.MODAL and check_response(modal) == []
    select = modal["data"]["components"][0]["component"]
    assert select["type"] == wire.USER_SELECT and select["default_values"] == [{"id": CAROL, "type": "user"}]
    submit = discord.interaction(wire.MODAL_SUBMIT, {
        "custom_id": modal["data"]["custom_id"],
        "components": [{"type": wire.LABEL, "component": {"type": wire.USER_SELECT, "custom_id": "people",
                                                          "values": [CAROL, ALICE]}},
                       {"type": wire.LABEL, "component": {"type": wire.TEXT_INPUT, "custom_id": "message",
                                                          "value": "thanks for the demo"}}],
        "resolved": discord.resolved(CAROL, ALICE)}, user=BOB)
    answer = await discord.send(submit)
    assert answer["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE
    assert answer["data"]["allowed_mentions"] == {"parse": [], "users": [CAROL, ALICE]}


async def test_skip_edit_cancel_and_the_list(discord: Discord, fake_discord: FakeDiscord):
    await create(discord)
    [view] = await service.list_meetings(await guild())
    answer = await discord.send(meeting(discord, "skip", {"meeting": str(view.id), "date": "2030-12-02"}))
    assert "skipped" in answer["data"]["content"] and "2030-12-02T10:00" not in answer["data"]["content"]
    answer = await discord.send(meeting(discord, "edit", {"meeting": str(view.id), "title": "Sales x Eng x HR",
                                                          "duration": 90}))
    assert "Sales x Eng x HR" in answer["data"]["content"]
    [patch] = fake_discord.calls("PATCH", "/scheduled-events/")
    assert patch.body["name"] == "Sales x Eng x HR" and "channel_id" not in patch.body
    answer = await discord.send(meeting(discord, "list"))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "Sales x Eng x HR" in answer["data"]["content"]
    answer = await discord.send(meeting(discord, "cancel", {"meeting": str(view.id)}, locale="ja"))
    assert "終了しました" in answer["data"]["content"]
    assert len(fake_discord.calls("DELETE", "/scheduled-events/")) == 1
    assert (await service.get_meeting(await guild(), view.id)).external_event_id is None
    assert fake_discord.problems == []


async def test_core_errors_are_ephemeral_and_localised(discord: Discord):
    answer = await discord.send(meeting(discord, "create", {"title": "x", "start": "tomorrow"}, locale="ja"))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "tomorrow" in answer["data"]["content"]
    answer = await discord.send(meeting(discord, "create", {"title": "x", "start": FUTURE, "timezone": "Mars/Base"}))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "not a time zone" in answer["data"]["content"]
    await create(discord, event=False)
    [view] = await service.list_meetings(await guild())
    answer = await discord.send(meeting(discord, "cancel", {"meeting": str(view.id)}, user=BOB))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "organiser" in answer["data"]["content"]
    answer = await discord.send(meeting(discord, "skip", {"meeting": "99", "date": "2030-12-02"}))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "#99" in answer["data"]["content"]


async def test_a_channel_option_that_is_not_a_channel_id_is_refused(discord: Discord):
    answer = await discord.send(meeting(discord, "create", {"title": "x", "start": FUTURE, "channel": "c" * 300}))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "is not a channel of this server" in answer["data"]["content"]
    assert await Meeting.all().count() == 0
    await create(discord, event=False)
    [view] = await service.list_meetings(await guild())
    answer = await discord.send(meeting(discord, "edit", {"meeting": str(view.id), "channel": "general"}))
    assert "“general” is not a channel of this server" in answer["data"]["content"]
    assert (await service.get_meeting(await guild(), view.id)).channel == CHANNEL


async def test_autocomplete_offers_meetings_dates_and_time_zones(discord: Discord):
    await create(discord, event=False)
    [view] = await service.list_meetings(await guild())

    def focused(sub: str, name: str, typed: str, **others: str) -> dict[str, Any]:
        opts = [{"name": k, "type": wire.OPT_STRING, "value": v} for k, v in others.items()]
        opts.append({"name": name, "type": wire.OPT_STRING, "value": typed, "focused": True})
        data = {"id": "1", "name": "meeting", "type": wire.CHAT_INPUT,
                "options": [{"name": sub, "type": wire.OPT_SUB_COMMAND, "options": opts}]}
        return discord.interaction(wire.APPLICATION_COMMAND_AUTOCOMPLETE, data)

    answer = await discord.send(focused("skip", "meeting", "sales"))
    assert answer["data"]["choices"] == [{"name": f"#{view.id} Sales x Eng", "value": str(view.id)}]
    answer = await discord.send(focused("skip", "date", "2031", meeting=str(view.id)))
    assert answer["data"]["choices"][0] == {"name": "2031-01-06 10:00", "value": "2031-01-06T10:00"}
    answer = await discord.send(focused("create", "timezone", "tokyo"))
    assert answer["data"]["choices"] == [{"name": "Asia/Tokyo", "value": "Asia/Tokyo"}]
