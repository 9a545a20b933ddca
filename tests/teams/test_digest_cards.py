"""The digest and the recap on each platform, in both languages, against golden files (a fixed digest, no
database): the console's text, the Teams Adaptive Card (schema-valid) and the Discord embed (within limits,
valid against Discord's OpenAPI document, pinging nobody). KIZUNA_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.discord.render import render as render_discord
from adapters.discord.validate import check_message
from adapters.teams.render import render_card
from cards.digest import digest_message, recap_message
from cards.model import message_from_dict, message_to_dict
from cards.text import render_text
from core.services.digest import DepartmentPair, Digest, DigestThanks, DigestValue, Island, SharedMeeting
from core.services.recap import Recap
from core.services.stats import Period
from tests.cards.test_golden import GOLDEN, matches_golden
from tests.discord.openapi import check_request

DIGEST = Digest(
    Period.WEEK, datetime(2026, 11, 22, 15, tzinfo=UTC), datetime(2026, 11, 29, 15, tzinfo=UTC),
    thanks=12, previous_thanks=0, people=9, previous_people=0, cross_share=0.5, previous_cross_share=0.0,
    new_bridges=(DepartmentPair("Engineering", "Sales"),),
    top_values=(DigestValue("collaboration", "Collaboration", "協力", "🤝", 7),
                DigestValue("growth", "Growth", "成長", "🌱", 1)),
    most_clapped=(DigestThanks(7, "Sam *bold*", ("Eve", "<@123> @everyone"), "thanks for the late-night deploy…", 3,
                               "Launch 2027"),),
    islands=(Island("HR", "Sales", SharedMeeting("Info exchange <@123> **now**", datetime(2026, 12, 2, 6, tzinfo=UTC),
                                                 "Asia/Tokyo")),
             Island("Engineering", "HR")),
    projects_started=("Launch 2027",), projects_closed=("Old one",),
)
PUBLIC_URL = "https://kizuna.example.com"
RECAP = Recap("Alice", datetime(2026, 10, 31, 15, tzinfo=UTC), datetime(2026, 11, 30, 15, tzinfo=UTC), sent=1,
              received=4, departments=("Engineering", "HR"))
CASES = {
    "digest": lambda lang: digest_message(DIGEST, lang, "Asia/Tokyo", public_url=PUBLIC_URL),
    "digest-late": lambda lang: digest_message(DIGEST, lang, "Asia/Tokyo", late=True),
    "recap": lambda lang: recap_message(RECAP, lang, "Asia/Tokyo"),
    "recap-link": lambda lang: recap_message(RECAP, lang, "Asia/Tokyo", public_url=PUBLIC_URL),
}


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", list(CASES))
def test_digest_text_card_and_embed_match_golden_files(name, locale, check_card):
    message = CASES[name](locale)
    assert message_from_dict(message_to_dict(message)) == message  # what the outbox stores reads back the same
    text = render_text(message)
    matches_golden(GOLDEN / f"{name}.{locale}.json", json.loads(json.dumps(
        {"message": message_to_dict(message), "text": text.splitlines()})))
    card = check_card(render_card(message))
    assert "msteams" not in card or not card["msteams"].get("entities")  # no <at> mention: nobody is notified
    matches_golden(GOLDEN / "teams" / f"{name}.{locale}.json", card)
    payload = render_discord(message)
    assert not check_message(payload), check_message(payload)
    assert not check_request("POST", "/channels/1/messages", payload)
    assert payload["allowed_mentions"] == {"parse": []} or not any(payload["allowed_mentions"].values())
    assert "<@123>" not in str(payload)  # user text is escaped: no ping even in an excerpt
    if name == "recap-link":
        assert card["actions"][0]["url"] == f"{PUBLIC_URL}/dashboard" and f"({PUBLIC_URL}/dashboard)" in str(payload)
    if name == "digest":
        # The island's next shared meeting at each reader's own time; the dashboard on every surface.
        assert "<t:1796191200:F>" in payload["embeds"][0]["fields"][-2]["value"]
        assert "{{DATE(2026-12-02T06:00:00Z, SHORT)}}" in json.dumps(card, ensure_ascii=False)
        assert "(Asia/Tokyo)" in text or "（Asia/Tokyo）" in text  # the console names the zone
        assert f"{PUBLIC_URL}/dashboard" in text and f"]({PUBLIC_URL}/dashboard)" in str(payload)
        assert card["actions"][0] == {"type": "Action.OpenUrl", "title": message.link_label,
                                      "url": f"{PUBLIC_URL}/dashboard"}
    matches_golden(GOLDEN / "discord" / f"{name}.{locale}.json", payload)


def test_an_empty_previous_period_is_not_a_change_of_points():
    lines = render_text(digest_message(DIGEST, "en", "Asia/Tokyo")).splitlines()
    assert lines[2] == "Across departments: 50% of thanks (no thanks the period before to compare with)"
    assert "points" not in " ".join(lines)
    again = Digest(**{**DIGEST.__dict__, "previous_thanks": 4, "previous_cross_share": 0.25})
    assert render_text(digest_message(again, "en", "Asia/Tokyo")).splitlines()[2] == \
        "Across departments: 50% of thanks (+25 points)"


def test_english_counts_agree_with_their_number():
    one = Digest(**{**DIGEST.__dict__, "thanks": 1, "people": 1, "previous_thanks": 2, "previous_people": 1})
    assert render_text(digest_message(one, "en", "Asia/Tokyo")).splitlines()[1] == \
        "1 thank-you, 1 person took part (period before: 2 thanks, 1 person)"
    assert render_text(recap_message(RECAP, "en", "Asia/Tokyo")).splitlines()[1:3] == [
        "You sent 1 thank-you", "You received 4 thanks"]
