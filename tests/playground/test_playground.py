"""Kizuna as Microsoft's own Teams client shows it: ``kizuna serve`` driven through Microsoft 365 Agents Playground in
headless Chromium — install, help, thanks with real mentions in a group chat and in a channel, 👏 on someone else's
thanks, the leaderboard — in English from the UI and in Japanese through custom activities (the UI always sends
``en-US``). Each step asserts what the playground shows; at the end no exchange may have failed. Screenshots go to
test-artifacts/playground/."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.playground.client import GROUP, ME, PERSONAL, TEAM, USERS, Playground

MEGAN, ADELE, ISAIAH, PATTI, LYNNE = USERS


def test_english_from_the_playground_ui(playground: Playground) -> None:
    playground.open()
    welcome = playground.wait_for("Thanks for adding Kizuna!")
    playground.shoot("install")
    assert "you are an admin" in welcome.inner_text()
    # The playground announces the install twice, as Teams does; the welcome comes once.
    announced = {e["activityName"] for e in playground.exchanges if e["conversationId"] == PERSONAL}
    assert {"conversationUpdate", "installationUpdate"} <= announced
    assert sum("Thanks for adding Kizuna!" in text for text in playground.messages().all_inner_texts()) == 1

    before = playground.say("help")
    help_card = playground.wait_for("Kizuna — thanks that connect us", after=before)
    assert "thanks @name … #value" in help_card.inner_text()
    playground.shoot("help")

    playground.chat(GROUP)
    before = playground.say("@Kizuna thanks @Megan Bowen @Adele Vance for the release notes #teamwork")
    card = playground.wait_for("Alex Wilber sent thanks", after=before)
    shown = card.inner_text()
    assert "To: Megan Bowen, Adele Vance" in shown
    assert "for the release notes" in shown and "Teamwork" in shown
    assert "{{DATE(" not in shown and "{{TIME(" not in shown
    assert re.search(r"0 claps · \w{3}, \w{3} \d{1,2}, 20\d\d \d{1,2}:\d\d [AP]M", shown), shown  # Teams wrote it
    playground.shoot("thanks-group-chat")
    sent = playground.exchange("message")[-1]["request"]["body"]
    assert [e["mentioned"]["name"] for e in sent["entities"] if e["type"] == "mention"] == [
        "Kizuna", MEGAN.name, ADELE.name]

    playground.chat(TEAM)
    before = playground.say("@Kizuna thanks @Isaiah Langer for fixing the build #teamwork")
    card = playground.wait_for("Alex Wilber sent thanks", after=before)
    assert "To: Isaiah Langer" in card.inner_text()
    playground.shoot("thanks-channel")

    # Someone else's thanks (the UI only speaks for Alex): Megan thanks Patti, and Alex claps.
    playground.chat(GROUP)
    before = playground.mock(playground.activity("@Kizuna thanks @Patti Fernandez for the demo", sender=MEGAN,
                                                 locale="en-US"))
    card = playground.wait_for("Megan Bowen sent thanks", after=before)
    assert "0 claps" in card.inner_text()
    card.get_by_role("button", name="👏 Clap").click()
    expect(card).to_contain_text("👏 1 clap")  # the card, updated in place for everyone
    playground.shoot("clap")
    clap = playground.exchange("invoke")[-1]
    assert clap["request"]["body"]["value"]["action"]["verb"] == "clap"
    assert clap["request"]["body"]["from"]["id"] == ME.id

    before = playground.say("@Kizuna leaderboard")
    board = playground.wait_for("Most thanked", after=before).inner_text()
    playground.shoot("leaderboard")
    for person in (MEGAN, ADELE, ISAIAH, PATTI):
        assert f"{person.name}\n\n1 thank-you" in board, board
    assert ME.name not in board and LYNNE.name not in board

    assert playground.failures() == []
    # And the check can fail: an activity Kizuna refuses (no serviceUrl: 400) is reported.
    messages = len(playground.exchange("message"))
    playground.mock({**playground.activity("help", locale="en-US"), "serviceUrl": ""})
    refused = playground.wait_for_exchange("message", count=messages + 1)
    assert refused["response"]["statusCode"] == 400
    assert any(" 400 " in problem and "no valid serviceUrl" in problem for problem in playground.failures())


def test_japanese_through_custom_activities(playground: Playground) -> None:
    playground.open()
    playground.wait_for("Thanks for adding Kizuna!")  # the UI installs in English: remove, and add in Japanese
    installs = len(playground.exchange("installationUpdate"))
    playground.menu("Uninstall application")
    removed = playground.wait_for_exchange("installationUpdate", count=installs + 1)
    assert removed["request"]["body"]["action"] == "remove"
    before = playground.mock(playground.install_activity(locale="ja-JP"))
    welcome = playground.wait_for("こんにちは、Kizuna（絆）です！", after=before).inner_text()
    playground.shoot("install")
    assert "「ヘルプ」と入力してください" in welcome  # Alex is admin already: the welcome for everyone

    before = playground.mock(playground.activity("ヘルプ"))
    help_card = playground.wait_for("Kizuna（絆）— 感謝でつながる", after=before).inner_text()
    assert "ありがとう" in help_card and "ランキング" in help_card
    playground.shoot("help")

    playground.chat(GROUP)
    thanks = "@Kizuna ありがとう @Megan Bowen @Adele Vance リリースノートの確認 #チームワーク"
    before = playground.mock(playground.activity(thanks))
    card = playground.wait_for("Alex Wilber さんから感謝が届きました", after=before).inner_text()
    assert "宛先: Megan Bowen, Adele Vance" in card and "リリースノートの確認" in card and "チームワーク" in card
    assert "{{DATE(" not in card and "{{TIME(" not in card
    # The client writes the date: in Japanese from the card's "lang" (this playground sometimes writes it in English)
    assert re.search(r"拍手 0 · (\d{4}年\d{1,2}月\d{1,2}日|\w{3}, \w{3} \d{1,2}, \d{4})", card), card
    playground.shoot("thanks-group-chat")

    playground.chat(TEAM)
    before = playground.mock(playground.activity("@Kizuna ありがとう @Isaiah Langer ビルドの修正 #チームワーク"))
    card = playground.wait_for("Alex Wilber さんから感謝が届きました", after=before).inner_text()
    assert "宛先: Isaiah Langer" in card
    playground.shoot("thanks-channel")

    playground.chat(GROUP)
    before = playground.mock(playground.activity("@Kizuna ありがとう @Patti Fernandez デモ", sender=MEGAN))
    card = playground.wait_for("Megan Bowen さんから感謝が届きました", after=before)
    assert "拍手 0" in card.inner_text()
    card.get_by_role("button", name="👏 拍手").click()
    expect(card).to_contain_text("拍手 1")
    playground.shoot("clap")

    before = playground.mock(playground.activity("@Kizuna ランキング"))
    board = playground.wait_for("感謝されたランキング", after=before).inner_text()
    playground.shoot("leaderboard")
    for person in (MEGAN, ADELE, ISAIAH, PATTI):
        assert f"{person.name}\n\n1 件" in board, board
    assert ME.name not in board and LYNNE.name not in board

    assert playground.failures() == []

