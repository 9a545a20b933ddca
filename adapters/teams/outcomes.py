"""Outcomes → Adaptive Cards for Teams: the shared message (``cards.outcomes``), plus what only Teams
has — the button that opens the meeting dialog, and "Edit" on a meeting card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.teams.meetings import edit_launcher_card, launcher_card, with_edit_button, with_launcher_button
from adapters.teams.render import render_card
from cards.outcomes import Audience, render_outcome
from core.app import outcomes as o

Card = dict[str, Any]


def _form_requested(outcome: o.MeetingFormRequested, audience: Audience) -> Card:
    # A message cannot open a dialog: answer with a button that does.
    return launcher_card(audience.lang)


def _meetings(outcome: o.MeetingsListed, audience: Audience) -> Card:
    return with_launcher_button(render_card(render_outcome(outcome, audience)), audience.lang)


def _meeting(outcome: o.MeetingShown, audience: Audience) -> Card:
    return with_edit_button(render_card(render_outcome(outcome, audience)), audience.lang, outcome.view)


_TEAMS: dict[type[o.Outcome], Callable[[Any, Audience], Card]] = {
    o.MeetingFormRequested: _form_requested,
    o.MeetingsListed: _meetings,
    o.MeetingShown: _meeting,
}


def outcome_card(outcome: o.Outcome, audience: Audience) -> Card:
    """The card that tells ``audience`` what happened."""
    teams_only = _TEAMS.get(type(outcome))
    if teams_only is not None:
        return teams_only(outcome, audience)
    return render_card(render_outcome(outcome, audience))


def edit_launcher(outcome: o.MeetingShown, audience: Audience) -> Card:
    """``meeting edit ID`` without changes: the meeting's name and the button that opens its dialog."""
    return edit_launcher_card(audience.lang, outcome.view)
