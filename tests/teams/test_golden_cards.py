"""The Adaptive Card Teams is sent for each golden message (tests/cards/golden/teams/): what a change does
to a card shows in the diff, and every card stays valid. KIZUNA_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import pytest

from adapters.teams.render import render_card
from tests.cards.test_golden import GOLDEN, NAMES, matches_golden, messages


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_teams_card_matches_golden_file(name, locale, check_card):
    card = check_card(render_card(messages(locale)[name]))
    matches_golden(GOLDEN / "teams" / f"{name}.{locale}.json", card)


def test_a_long_usage_line_can_wrap_inside_the_card():
    # "meeting [list|create|…|who]" is one unbreakable word without break opportunities, and Teams cuts it off at
    # the card's edge; each choice may start a new line, and the text reads the same.
    card = render_card(messages("en")["help"])
    usages = [element["inlines"][0]["text"] for element in card["body"]
              if element.get("type") == "RichTextBlock" and element["inlines"][0].get("fontType") == "Monospace"]
    meeting = next(text for text in usages if text.startswith("meeting"))
    assert "|\u200b" in meeting and "|" not in meeting.replace("|\u200b", "")
    assert meeting.replace("\u200b", "").startswith("meeting [list|create|")
