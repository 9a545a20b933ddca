"""The 👏 button, the "Send thanks" context menu and its modal, and autocomplete."""

from __future__ import annotations

from adapters.discord import wire
from core.models import Clap, Member, Thanks, ThanksValue, Value
from core.services.members import ensure_member
from core.services.values import set_value_active
from core.services.workspaces import ensure_workspace
from tests.discord.kit import ADMIN, ALICE, BOB, BOT, CAROL, GUILD, Discord, clap_id


async def test_clap_updates_the_same_message_with_the_new_count(discord: Discord):
    posted = await discord.send(discord.thanks(BOB))
    answer = await discord.send(discord.click(clap_id(posted), user=CAROL, locale="ja"))
    assert answer["type"] == wire.UPDATE_MESSAGE
    data = answer["data"]
    # The message keeps the language it was posted in, whoever clicks.
    assert "1 clap" in data["embeds"][0]["footer"]["text"]
    assert data["components"][0]["components"][0]["label"].endswith("· 1")
    assert data["allowed_mentions"] == {"parse": [], "users": [BOB]}
    assert (await Thanks.get()).clap_count == 1


async def test_a_second_clap_by_the_same_member_does_not_count(discord: Discord):
    posted = await discord.send(discord.thanks(BOB))
    await discord.send(discord.click(clap_id(posted), user=CAROL))
    again = await discord.send(discord.click(clap_id(posted), user=CAROL))
    assert again["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE and again["data"]["flags"] == wire.EPHEMERAL
    assert "already clapped" in again["data"]["content"]
    assert (await Thanks.get()).clap_count == 1
    assert await Clap.all().count() == 1


async def test_clapping_your_own_thanks_is_explained_privately(discord: Discord):
    posted = await discord.send(discord.thanks(BOB))
    for who, locale, text in ((ALICE, "en", "cannot clap"), (BOB, "ja", "拍手")):
        answer = await discord.send(discord.click(clap_id(posted), user=who, locale=locale))
        assert answer["data"]["flags"] == wire.EPHEMERAL
        assert text in answer["data"]["content"]
    assert (await Thanks.get()).clap_count == 0


async def test_unknown_or_stale_buttons_get_an_ephemeral_answer(discord: Discord):
    for custom_id in ("something-else", "kizuna:rsvp:meeting=1:en", "kizuna:clap:thanks_id=x:en"):
        answer = await discord.send(discord.click(custom_id, user=CAROL))
        assert answer["data"]["flags"] == wire.EPHEMERAL
    answer = await discord.send(discord.click("kizuna:clap:thanks_id=999:en", user=CAROL))
    assert "no longer exists" in answer["data"]["content"]


def user_command(discord: Discord, target: str, **kw):
    data = {"id": "2", "name": "Send thanks", "type": wire.USER_COMMAND, "target_id": target,
            "resolved": discord.resolved(target)}
    return discord.interaction(wire.APPLICATION_COMMAND, data, **kw)


def modal_submit(discord: Discord, custom_id: str, message: str, value: list[str] | None, *,
                 people: tuple[str, ...] | None = None, **kw):
    components = [{"type": wire.LABEL, "id": 1, "component": {"type": wire.TEXT_INPUT, "id": 2, "custom_id": "message",
                                                              "value": message}}]
    if value is not None:
        components.append({"type": wire.LABEL, "id": 3, "component": {"type": wire.STRING_SELECT, "id": 4,
                                                                       "custom_id": "value", "values": value}})
    data: dict = {"custom_id": custom_id, "components": components}
    if people is not None:
        select = {"type": wire.USER_SELECT, "id": 6, "custom_id": "people", "values": list(people)}
        components.insert(0, {"type": wire.LABEL, "id": 5, "component": select})
        data["resolved"] = discord.resolved(*people)
    return discord.interaction(wire.MODAL_SUBMIT, data, **kw)


async def test_context_menu_opens_a_modal_and_its_submit_posts_the_thanks(discord: Discord):
    opened = await discord.send(user_command(discord, BOB, locale="ja"))
    assert opened["type"] == wire.MODAL
    modal = opened["data"]
    assert modal["title"] == "Bob さんに感謝を送る"
    people_label, message_label, value_label = modal["components"]
    # Whom: a user select with Bob already picked, up to 10 people.
    people = people_label["component"]
    assert people_label["label"] == "誰に感謝しますか？" and people["type"] == wire.USER_SELECT
    assert people["default_values"] == [{"id": BOB, "type": "user"}] and people["max_values"] == 10
    assert message_label["type"] == wire.LABEL and message_label["component"]["type"] == wire.TEXT_INPUT
    assert message_label["component"]["max_length"] == 500
    values = value_label["component"]
    assert values["max_values"] == 3 and values["min_values"] == 0
    assert [o["value"] for o in values["options"]] == ["collaboration", "teamwork", "challenge", "customer-first",
                                                       "growth"]
    assert values["options"][1]["label"] == "🙌 チームワーク"

    # Carol added in the form, two values picked.
    posted = await discord.send(modal_submit(discord, modal["custom_id"], "thank you for the review",
                                             ["growth", "teamwork"], people=(BOB, CAROL), locale="ja"))
    assert posted["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE
    assert sorted(posted["data"]["allowed_mentions"]["users"]) == [BOB, CAROL]
    thanks = await Thanks.get()
    assert thanks.message == "thank you for the review"
    assert await ThanksValue.filter(thanks_id=thanks.id).count() == 2


async def test_thanks_without_people_or_a_message_opens_the_same_form_holding_what_was_given(discord: Discord):
    opened = await discord.send(discord.command("thanks", [
        {"name": "message", "type": wire.OPT_STRING, "value": "for the demo"},
        {"name": "value", "type": wire.OPT_STRING, "value": "teamwork"}], locale="en"))
    assert opened["type"] == wire.MODAL and opened["data"]["title"] == "Send thanks"
    people, message, values = (label["component"] for label in opened["data"]["components"])
    assert "default_values" not in people and message["value"] == "for the demo"
    assert [o["value"] for o in values["options"] if o.get("default")] == ["teamwork"]
    # With people but no message, the people are picked already.
    opened = await discord.send(discord.command("thanks", [{"name": "user", "type": wire.OPT_USER, "value": BOB}],
                                                resolved=discord.resolved(BOB)))
    assert opened["data"]["components"][0]["component"]["default_values"] == [{"id": BOB, "type": "user"}]
    assert await Thanks.all().count() == 0

    # The form's rules are the command's: too many values is refused, nothing is saved.
    refused = await discord.send(modal_submit(discord, opened["data"]["custom_id"], "hi",
                                              ["growth", "teamwork", "challenge", "customer-first"], people=(BOB,)))
    assert refused["data"]["flags"] & wire.EPHEMERAL and await Thanks.all().count() == 0
    posted = await discord.send(modal_submit(discord, opened["data"]["custom_id"], "hi", [], people=(BOB,)))
    assert posted["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE and await Thanks.all().count() == 1


async def test_modal_without_a_value_and_legacy_action_rows_work(discord: Discord):
    legacy = discord.interaction(wire.MODAL_SUBMIT, {"custom_id": f"kizuna:thanksform:{CAROL}", "components": [
        {"type": wire.ACTION_ROW, "components": [{"type": wire.TEXT_INPUT, "custom_id": "message", "value": "hi"}]}]})
    await discord.send(user_command(discord, CAROL))
    posted = await discord.send(legacy)
    assert posted["data"]["embeds"][0]["description"] == "hi"
    empty = await discord.send(modal_submit(discord, f"kizuna:thanksform:{CAROL}", "again", []))
    assert empty["type"] == wire.CHANNEL_MESSAGE_WITH_SOURCE


async def test_a_modal_or_menu_that_names_no_user_id_is_an_unknown_person(discord: Discord):
    for payload in (modal_submit(discord, "kizuna:thanksform:abc", "hi", None),
                    discord.interaction(wire.APPLICATION_COMMAND, {"id": "2", "name": "Send thanks",
                                                                   "type": wire.USER_COMMAND}),
                    discord.interaction(wire.MODAL_SUBMIT, {"custom_id": "kizuna:meetingthanks:1", "components": [
                        {"type": wire.LABEL, "component": {"type": wire.USER_SELECT, "custom_id": "people",
                                                           "values": ["everyone"]}},
                        {"type": wire.LABEL, "component": {"type": wire.TEXT_INPUT, "custom_id": "message",
                                                           "value": "hi"}}]})):
        answer = await discord.send(payload)
        assert answer["data"]["flags"] == wire.EPHEMERAL
        assert "I do not know" in answer["data"]["content"]
    assert await Thanks.all().count() == 0
    assert [m.platform_user_id for m in await Member.all()] == [ALICE]


async def test_modal_title_is_cut_to_45_characters(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    await ensure_member(workspace, BOB, display_name="B" * 80)
    data = {"id": "2", "name": "Send thanks", "type": wire.USER_COMMAND, "target_id": BOB, "resolved": {}}
    opened = await discord.send(discord.interaction(wire.APPLICATION_COMMAND, data))
    assert len(opened["data"]["title"]) == 45


async def test_thanking_a_bot_from_the_context_menu_is_refused_on_submit(discord: Discord):
    await discord.send(user_command(discord, BOT))
    answer = await discord.send(modal_submit(discord, f"kizuna:thanksform:{BOT}", "beep", None))
    assert answer["data"]["flags"] == wire.EPHEMERAL and "bot" in answer["data"]["content"]


def autocomplete(discord: Discord, command: str, options, **kw):
    return discord.interaction(wire.APPLICATION_COMMAND_AUTOCOMPLETE,
                               {"id": "1", "name": command, "type": wire.CHAT_INPUT, "options": options}, **kw)


async def test_value_autocomplete_matches_key_and_both_languages(discord: Discord):
    def typing(text: str):
        return [{"name": "user", "type": 6, "value": BOB},
                {"name": "value", "type": 3, "value": text, "focused": True}]

    everything = await discord.send(autocomplete(discord, "thanks", typing("")))
    assert everything["type"] == wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    assert len(everything["data"]["choices"]) == 5
    for typed in ("team", "チーム", "＃ＴＥＡＭ", "Teamw"):
        answer = await discord.send(autocomplete(discord, "thanks", typing(typed), locale="ja"))
        assert answer["data"]["choices"][0] == {"name": "🙌 チームワーク / Teamwork #teamwork", "value": "teamwork"}
    assert (await discord.send(autocomplete(discord, "thanks", typing("zzz"))))["data"]["choices"] == []


async def test_archived_values_leave_autocomplete_but_admins_can_find_them_to_restore(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    admin = await ensure_member(workspace, ADMIN)
    admin.is_admin = True
    await set_value_active(workspace, admin, "growth", False)
    typing = [{"name": "value", "type": 3, "value": "grow", "focused": True}]
    assert (await discord.send(autocomplete(discord, "thanks", typing)))["data"]["choices"] == []
    sub = [{"name": "values-archive", "type": 1, "options": typing}]
    found = await discord.send(autocomplete(discord, "kizuna", sub, user=ADMIN, admin=True))
    assert found["data"]["choices"][0]["value"] == "growth"


async def test_autocomplete_never_offers_more_than_25_choices(discord: Discord):
    workspace = await ensure_workspace("discord", GUILD)
    for i in range(30):
        await Value.create(workspace=workspace, key=f"v{i}", name_en=f"Value {i}", name_ja=f"価値{i}", position=10 + i)
    answer = await discord.send(autocomplete(discord, "thanks", [{"name": "value", "type": 3, "value": "",
                                                                   "focused": True}]))
    assert len(answer["data"]["choices"]) == 25
