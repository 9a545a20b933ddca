"""Text commands through POST /api/messages (emulator mode), replies captured by the fake Bot Connector."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC

import pytest

from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import ALICE, BOB, CAROL, User
from core.i18n import format_datetime
from core.models import Address, Delivery, Department, Member, Thanks, Value, Workspace
from tests.teams.cards import body_texts as texts
from tests.teams.cards import date_functions

DAVE = User("29:dave", "Dave", "aad-dave")


async def post(client, activity):
    response = await client.post("/api/messages", json=activity)
    assert response.status in (200, 201), await response.text()
    return response




async def test_thanks_with_mentions_replies_with_a_card(teams, connector, check_card):
    client, _ = teams
    activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} {CAROL.tag} for the release notes #teamwork",
                         [BOB, CAROL])
    await post(client, activity)
    posted = connector.activities()
    assert len(posted) == 1
    # A reply to the user's message, in its conversation.
    assert posted[0].path == f"/v3/conversations/19%3Achannel%40thread.tacv2/activities/{activity['id']}"
    card = check_card(posted[0].card())
    assert card["lang"] == "en"
    assert "To: <at>Bob</at>, <at>Carol</at>" in texts(card)
    assert "for the release notes" in texts(card)
    assert card["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": "29:bob", "name": "Bob"}},
        {"type": "mention", "text": "<at>Carol</at>", "mentioned": {"id": "29:carol", "name": "Carol"}},
    ]
    clap = card["actions"][0]
    assert clap["type"] == "Action.Execute" and clap["verb"] == "clap"
    thanks = await Thanks.get()
    assert thanks.message == "for the release notes"
    assert clap["data"]["thanks_id"] == str(thanks.id)
    assert any("Teamwork" in text for text in texts(card))
    # The bot itself is never a recipient; recipients come from the mention entities.
    assert {m.platform_user_id for m in await Member.all()} == {"29:alice", "29:bob", "29:carol"}
    # Each recipient gets a 1:1 notification through the outbox, with a way to open the chat.
    notes = await Delivery.filter(kind="notification").order_by("address_key")
    assert [d.address_key for d in notes] == ["member:29:bob", "member:29:carol"]
    address = await Address.get(key="member:29:bob")
    assert address.payload["create"]["user"]["id"] == "29:bob"
    assert address.payload["create"]["serviceUrl"] == connector.url


async def test_japanese_thanks_is_answered_in_japanese(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, f"ありがとう {BOB.tag} 資料づくり助かりました ＃チームワーク",
                                 [BOB], locale="ja-JP"))
    card = check_card(connector.activities()[0].card())
    assert card["lang"] == "ja"
    assert "Aliceさんから感謝が届きました" in " ".join(texts(card)) or any("感謝" in x for x in texts(card))
    assert any("チームワーク" in x for x in texts(card))
    assert card["actions"][0]["title"] != "👏 Clap"
    assert (await Thanks.get()).message == "資料づくり助かりました"


async def test_a_later_mention_stays_in_the_message_as_a_name(teams, connector):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, f"thanks {BOB.tag} for helping {CAROL.tag} today",
                                 [BOB, CAROL]))
    thanks = await Thanks.get()
    assert thanks.message == "for helping Carol today"


async def test_the_thanks_card_says_when_in_each_readers_own_zone(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    card = check_card(connector.activities()[0].card())
    sent = (await Thanks.get()).created_at.astimezone(UTC)
    instant = sent.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Teams writes DATE/TIME in the reader's zone and language; the workspace's zone is not assumed.
    assert date_functions(card) == [f"{{{{DATE({instant}, SHORT)}}}}", f"{{{{TIME({instant})}}}}"]
    assert f"👏 0 claps · {{{{DATE({instant}, SHORT)}}}} {{{{TIME({instant})}}}}" in texts(card)
    # Where cards do not render, the text names the zone it speaks of (the workspace's, Tokyo).
    assert f"{format_datetime(sent, 'en', 'Asia/Tokyo')} (Asia/Tokyo)" in card["fallbackText"]


async def test_the_same_activity_twice_makes_one_thanks_and_one_card(teams, connector):
    client, _ = teams
    activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB])
    await post(client, activity)
    await post(client, activity)
    assert await Thanks.all().count() == 1
    assert len(connector.activities()) == 1
    # The same message id in another conversation is another message.
    other = dict(activity, conversation={**activity["conversation"], "id": "19:other@thread.tacv2"})
    await post(client, other)
    assert await Thanks.all().count() == 2


@pytest.mark.parametrize("missing", [None, "", "  ", "absent"])
async def test_messages_without_an_id_are_each_a_new_thanks(teams, connector, check_card, missing):
    # "No id" is no id: it must not become a key every later id-less message shares.
    client, _ = teams
    for n in range(3):
        activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} for fix {n}", [BOB])
        if missing == "absent":
            del activity["id"]
        else:
            activity["id"] = missing
        await post(client, activity)
    thanks = await Thanks.all().order_by("id")
    assert [x.message for x in thanks] == ["for fix 0", "for fix 1", "for fix 2"]
    assert [x.idempotency_key for x in thanks] == [None, None, None]
    replies = connector.activities()
    assert len(replies) == 3
    for reply in replies:  # not a reply to any message: a new one in the conversation
        assert reply.path == "/v3/conversations/19%3Achannel%40thread.tacv2/activities"
        check_card(reply.card())


async def test_thanking_yourself_is_answered_politely_and_nothing_is_stored(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, f"thanks {ALICE.tag} for me", [ALICE]))
    card = check_card(connector.activities()[0].card())
    assert any("cannot thank yourself" in x for x in texts(card))
    assert await Thanks.all().count() == 0


async def test_thanks_without_anyone_mentioned_explains(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, "thanks Bob for everything"))
    card = check_card(connector.activities()[0].card())
    assert any("Who would you like to thank" in x for x in texts(card))
    assert await Thanks.all().count() == 0


async def test_user_text_is_never_card_structure_or_markup(teams, connector, check_card):
    client, _ = teams
    tricky = ('**bold** _it_ [link](https://evil.example) ${user.name} {{x}} <at>Eve</at> '
              '{"type": "Action.OpenUrl", "url": "https://evil.example"} </at> & <b>hi</b>')
    await post(client, t.message(connector.url, ALICE, f"thanks {BOB.tag} {tricky}", [BOB]))
    card = check_card(connector.activities()[0].card())
    stored = (await Thanks.get()).message
    assert stored == tricky
    # The message is one plain TextRun (no markdown), with typed <at> tags broken by a word joiner.
    runs = [r for block in card["body"] if block["type"] == "RichTextBlock" for r in block["inlines"]]
    message_run = next(r for r in runs if "**bold**" in r["text"])
    assert message_run["text"] == stored.replace("<at>", "<\u2060at>").replace("</at>", "<\u2060/at>")
    assert set(message_run) == {"type", "text"}
    # No extra mention and no extra action appeared.
    assert [e["mentioned"]["id"] for e in card["msteams"]["entities"]] == ["29:bob"]
    assert [a["verb"] for a in card["actions"]] == ["clap"]
    assert "evil" not in json.dumps(card["actions"])


async def test_leaderboard_values_and_help_in_both_languages(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    for text, locale, expected in [
        ("leaderboard", "en-US", "Most thanked"), ("ランキング", "ja-JP", "感謝された"),
        ("values", "en-US", "Our values"), ("バリュー", "ja-JP", "バリュー"),
        ("help", "en-US", "Kizuna"), ("ヘルプ", "ja-JP", "感謝"), ("", "en-US", "Kizuna"),
    ]:
        connector.clear()
        await post(client, t.message(connector.url, CAROL, text, locale=locale))
        card = check_card(connector.activities()[0].card())
        assert any(expected in x for x in texts(card)), (text, texts(card))
    connector.clear()
    await post(client, t.message(connector.url, CAROL, "leaderboard"))
    assert any("Bob" in x for x in texts(connector.activities()[0].card()))


async def test_unknown_words_get_a_hint(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, "dance **now**"))
    card = check_card(connector.activities()[0].card())
    assert any("dance" in x and "help" in x for x in texts(card))


async def test_notifications_can_be_turned_off(teams, connector):
    client, _ = teams
    await post(client, t.message(connector.url, BOB, "notifications off"))
    assert not (await Member.get(platform_user_id="29:bob")).notifications_enabled
    await post(client, t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    assert await Delivery.filter(kind="notification").count() == 0


async def test_admin_commands_are_refused_for_non_admins(teams, connector, check_card):
    client, _ = teams
    for text, mentioned in [("set feed channel here", []), (f"department {BOB.tag} Sales", [BOB]),
                            ("values add kindness Kindness 親切 💖", []), ("フィードをここに設定", [])]:
        connector.clear()
        await post(client, t.message(connector.url, CAROL, text, mentioned))
        card = check_card(connector.activities()[0].card())
        assert any("Only an admin" in x for x in texts(card)), text
    workspace = await Workspace.get()
    assert workspace.feed_channel is None
    assert not await Department.exists()
    assert not await Value.exists(key="kindness")


async def test_a_refused_department_command_writes_nothing(teams, connector, check_card):
    client, _ = teams
    await post(client, t.message(connector.url, CAROL, "help"))
    members_before = sorted(await Member.all().values_list("platform_user_id", "display_name", "department_id"))
    for text, locale, expected in [(f"department {DAVE.tag} Sales", "en-US", "Only an admin"),
                                   (f"部署 {DAVE.tag} 営業", "ja-JP", "管理者のみ")]:
        connector.clear()
        await post(client, t.message(connector.url, CAROL, text, [DAVE], locale=locale))
        card = check_card(connector.activities()[0].card())
        assert any(expected in x for x in texts(card)), texts(card)
    members_after = sorted(await Member.all().values_list("platform_user_id", "display_name", "department_id"))
    assert members_after == members_before
    assert not await Member.exists(platform_user_id=DAVE.id)
    assert not await Department.exists()


async def test_the_first_installer_is_admin_and_can_configure(teams, connector, check_card):
    client, _ = teams
    await post(client, t.installed(connector.url, ALICE))
    welcome = check_card(connector.activities()[0].card())
    assert any("admin" in x for x in texts(welcome))
    assert (await Member.get(platform_user_id="29:alice")).is_admin
    # A second install (another team) by someone else makes no second admin.
    await post(client, t.installed(connector.url, BOB, conversation="19:other@thread.tacv2"))
    assert not (await Member.get(platform_user_id="29:bob")).is_admin

    connector.clear()
    await post(client, t.message(connector.url, ALICE, "set feed channel here",
                                 conversation="19:feed@thread.tacv2;messageid=1700000000001"))
    check_card(connector.activities()[0].card())
    workspace = await Workspace.get()
    assert workspace.feed_channel == "19:feed@thread.tacv2"
    feed = await Address.get(key="channel:19:feed@thread.tacv2")
    assert feed.payload["conversation"]["id"] == "19:feed@thread.tacv2"

    await post(client, t.message(connector.url, ALICE, f"department {BOB.tag} Sales", [BOB]))
    bob = await Member.get(platform_user_id="29:bob").prefetch_related("department")
    assert bob.department.name == "Sales"
    await post(client, t.message(connector.url, ALICE, '部署 <at>Carol</at> 開発 チーム', [CAROL], locale="ja-JP"))
    carol = await Member.get(platform_user_id="29:carol").prefetch_related("department")
    assert carol.department.name == "開発 チーム"

    await post(client, t.message(connector.url, ALICE, 'values add kindness "Kindness" "親切" 💖'))
    value = await Value.get(key="kindness")
    assert (value.name_en, value.name_ja, value.emoji) == ("Kindness", "親切", "💖")
    await post(client, t.message(connector.url, ALICE, "values archive kindness"))
    assert not (await Value.get(key="kindness")).active

    # A thanks elsewhere is also posted to the feed (through the outbox).
    await post(client, t.message(connector.url, BOB, f"thanks {CAROL.tag} for the fix", [CAROL],
                                 conversation="19:dev@thread.tacv2"))
    assert await Delivery.filter(kind="feed", address_key="channel:19:feed@thread.tacv2").count() == 1


async def test_an_install_listing_null_members_still_welcomes_the_installer(teams, connector, check_card):
    client, _ = teams
    activity = t.installed(connector.url, ALICE)
    activity["membersAdded"] = [None, {"id": t.BOT_ID}, None]
    await post(client, activity)
    check_card(connector.activities()[0].card())
    assert (await Member.get(platform_user_id="29:alice")).is_admin
    connector.clear()
    activity = t.installed(connector.url, BOB, conversation="19:other@thread.tacv2")
    activity["membersAdded"] = [None]  # nobody (not the bot) was added: nothing to say
    await post(client, activity)
    assert connector.activities() == []


async def test_a_thanks_in_an_activity_that_does_not_name_the_bot_is_still_given(teams, connector, check_card):
    client, _ = teams
    activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} for the fix", [BOB], mention_bot=False)
    del activity["recipient"]
    await post(client, activity)
    assert await Thanks.all().count() == 1
    check_card(connector.wait_for(1)[0].card())
    address = await Address.get(key="member:29:bob")
    assert address.payload["create"]["user"]["id"] == "29:bob"


async def test_nul_and_lone_surrogates_in_an_activity_are_dropped_or_replaced(teams, connector, check_card):
    # PostgreSQL cannot store a NUL; no encoding can write a lone surrogate. JSON can spell both.
    client, _ = teams
    bob = t.User(BOB.id, "Bob\ud800", BOB.aad)
    activity = t.message(connector.url, ALICE, f"thanks {bob.tag} for the\x00 fix", [bob])
    await post(client, activity)
    thanks = await Thanks.get()
    assert thanks.message == "for the fix"
    assert (await Member.get(platform_user_id=BOB.id)).display_name == "Bob\ufffd"
    check_card(connector.wait_for(1)[0].card())


async def test_a_mention_whose_id_is_too_long_for_teams_is_not_a_recipient(teams, connector, check_card):
    client, _ = teams
    stranger = t.User("29:" + "x" * 300, "Stranger", "aad-stranger")
    await post(client, t.message(connector.url, ALICE, f"thanks {stranger.tag} for the help", [stranger]))
    card = check_card(connector.wait_for(1)[0].card())
    assert any("Who would you like to thank?" in x for x in texts(card))
    assert await Thanks.all().count() == 0
    assert all(len(m.platform_user_id) <= 200 for m in await Member.all())


async def test_configured_admin_ids_are_admins(db, settings, make_client, connector):
    adapter = TeamsAdapter(replace(settings, environ={"KIZUNA_TEAMS_ADMIN_IDS": "aad-carol, aad-dave"}))
    client = await make_client(adapter)
    try:
        await post(client, t.message(connector.url, CAROL, "set feed channel here"))
        assert (await Workspace.get()).feed_channel == "19:channel@thread.tacv2"
        assert (await Member.get(platform_user_id="29:carol")).is_admin
    finally:
        await client.close()


async def test_a_personal_chat_is_remembered_for_notifications(teams, connector):
    client, _ = teams
    await post(client, t.message(connector.url, BOB, "help", mention_bot=False, conversation="a:bob-personal",
                                 conversation_type="personal"))
    address = await Address.get(key="member:29:bob")
    assert address.payload["conversation"]["id"] == "a:bob-personal"
    assert address.payload["serviceUrl"] == connector.url
    # A later thanks does not replace the real reference with a "create" one.
    await post(client, t.message(connector.url, ALICE, f"thanks {BOB.tag} for the demo", [BOB]))
    assert (await Address.get(key="member:29:bob")).payload["conversation"]["id"] == "a:bob-personal"


HELPER_BOT = User("28:helper-bot", "Helper", "aad-helper")


async def test_thanking_another_bot_is_refused_politely_and_nothing_is_written(teams, connector, check_card):
    client, _ = teams
    for locale, expected in [("en-US", "Helper is a bot"), ("ja-JP", "Helper はボット")]:
        connector.clear()
        for text, mentioned in [(f"thanks {HELPER_BOT.tag} for the digest", [HELPER_BOT]),
                                (f"thanks {BOB.tag} {HELPER_BOT.tag} for the digest", [BOB, HELPER_BOT])]:
            await post(client, t.message(connector.url, ALICE, text, mentioned, locale=locale))
        for reply in connector.activities():
            card = check_card(reply.card())
            assert any(expected in x for x in texts(card)), texts(card)
    assert await Thanks.all().count() == 0
    assert await Delivery.all().count() == 0
    assert not await Address.filter(key__startswith="member:28:").exists()
    assert (await Member.get(platform_user_id="28:helper-bot")).is_bot


async def test_channel_and_tag_mentions_are_not_recipients(teams, connector):
    client, _ = teams
    activity = t.message(connector.url, ALICE, f"thanks {BOB.tag} for helping <at>Frontend</at> in <at>General</at>",
                         [BOB])
    activity["entities"] += [
        {"type": "mention", "text": "<at>Frontend</at>",
         "mentioned": {"id": "MjlfZnJvbnRlbmQ=", "name": "Frontend", "type": "tag"}},
        {"type": "mention", "text": "<at>General</at>",
         "mentioned": {"id": "19:general@thread.tacv2", "name": "General", "conversationIdentityType": "channel"}},
    ]
    await post(client, activity)
    thanks = await Thanks.get()
    assert thanks.message == "for helping Frontend in General"
    assert {m.platform_user_id for m in await Member.all()} == {"29:alice", "29:bob"}
    assert [d.address_key for d in await Delivery.filter(kind="notification")] == ["member:29:bob"]

    # A tag (or a mention without a user id) alone is nobody to thank.
    connector.clear()
    only_tag = t.message(connector.url, ALICE, "thanks <at>Frontend</at> <at>Team</at> for the launch")
    only_tag["entities"] += [
        {"type": "mention", "text": "<at>Frontend</at>",
         "mentioned": {"id": "MjlfZnJvbnRlbmQ=", "name": "Frontend", "type": "tag"}},
        {"type": "mention", "text": "<at>Team</at>", "mentioned": {"name": "Team"}},
    ]
    await post(client, only_tag)
    assert any("Who would you like to thank" in x for x in texts(connector.activities()[0].card()))
    assert await Thanks.all().count() == 1
    assert {m.platform_user_id for m in await Member.all()} == {"29:alice", "29:bob"}


async def test_a_blank_tenant_is_no_tenant(teams, connector):
    client, _ = teams
    await post(client, t.message(connector.url, ALICE, "help", tenant="   "))
    assert len(connector.wait_for(1)) == 1
    assert [w.external_id for w in await Workspace.all()] == ["emulator"]
