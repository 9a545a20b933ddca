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
