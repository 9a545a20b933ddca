"""The after-meeting prompt as a neutral message and as text, in both languages, against golden files
(KIZUNA_UPDATE_GOLDEN=1 rewrites them). The Teams card and the Discord payload have theirs in
tests/teams/test_after_meeting.py and tests/discord/test_after_meeting.py."""

from __future__ import annotations

import json

import pytest

from cards.after_meeting import MAX_NAMED, after_meeting_message
from cards.model import message_from_dict, message_to_dict
from cards.text import render_text
from core.app.after_meeting import AfterMeetingPrompt
from core.views import MemberRef
from tests.cards.test_golden import GOLDEN, MEETING, matches_golden

# Bob, and a name that would be markup or a mention if it were not treated as text.
PROMPT = AfterMeetingPrompt(MEETING, MEETING.next_occurrence, (
    MemberRef(2, "bob", "Bob"), MemberRef(3, "carol", "山田 **花子** <at>x</at> @everyone")), late=True)


def prompt_messages(locale: str):
    """The prompt as each surface is given it: the console also gets the command to type."""
    return {"after_meeting": after_meeting_message(PROMPT, locale),
            "after_meeting.console": after_meeting_message(PROMPT, locale, text_commands=True)}


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("name", ["after_meeting", "after_meeting.console"])
def test_the_after_meeting_prompt_matches_its_golden_file(name, locale):
    message = prompt_messages(locale)[name]
    data = json.loads(json.dumps({"message": message_to_dict(message), "text": render_text(message).splitlines()}))
    matches_golden(GOLDEN / f"{name}.{locale}.json", data)
    assert message_from_dict(message_to_dict(message)) == message


def test_names_are_counted_past_the_limit_and_nobody_is_an_empty_list():
    many = tuple(MemberRef(i, f"u{i}", f"Person {i}") for i in range(MAX_NAMED + 3))
    message = after_meeting_message(AfterMeetingPrompt(MEETING, MEETING.next_occurrence, many), "en")
    assert message.attendees_text.endswith("Person 19 and 3 more") and len(message.attendees) == MAX_NAMED + 3
    assert after_meeting_message(AfterMeetingPrompt(MEETING, MEETING.next_occurrence, many), "ja") \
        .attendees_text.endswith("Person 19 ほか3人")
    nobody = after_meeting_message(AfterMeetingPrompt(MEETING, MEETING.next_occurrence, ()), "en", text_commands=True)
    assert nobody.attendees_text == "Nobody had said they were coming; thank anyone who was there."
    assert nobody.command_hint == "Type: thanks for … #value"
