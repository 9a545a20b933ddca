"""The after-meeting prompt as a neutral message: who came, and how to thank them (pure, localised)."""

from __future__ import annotations

from babel.lists import format_list

from cards.meetings import occurrence_text
from cards.model import Action, AfterMeetingMessage, Message, Person, utc_instant
from cards.outcomes import Audience, renders
from core.app.after_meeting import AfterMeetingPrompt
from core.app.grammar import usage
from core.i18n import translate

# Names shown at most; the rest are counted ("and 3 more"). The form itself offers everyone.
MAX_NAMED = 20


def _names(people: tuple[Person, ...], lang: str) -> str:
    shown = [p.name for p in people[:MAX_NAMED]]
    if len(people) > MAX_NAMED:
        return translate(lang, "meeting.after.more", names=", ".join(shown) if lang == "en" else "、".join(shown),
                         count=len(people) - MAX_NAMED)
    return str(format_list(shown, locale=lang))


def command_hint(people: tuple[Person, ...], lang: str) -> str:
    """The text command that thanks ``people`` (``thanks @bob @carol …``), in the grammar's own words."""
    word = usage("thanks", lang).split(" ", 1)[0]
    mentions = " ".join(f"@{p.platform_user_id}" for p in people[:MAX_NAMED])
    return " ".join(part for part in (word, mentions, translate(lang, "meeting.after.command_rest")) if part)


def after_meeting_message(prompt: AfterMeetingPrompt, lang: str, *, text_commands: bool = False) -> AfterMeetingMessage:
    """The prompt of one ended occurrence; ``text_commands``: also say which command to type (the console)."""
    view, occurrence = prompt.view, prompt.occurrence
    people = tuple(Person(p.platform_user_id, p.display_name) for p in prompt.going)
    came = (translate(lang, "meeting.after.came", names=_names(people, lang)) if people
            else translate(lang, "meeting.after.nobody"))
    hint = translate(lang, "meeting.after.command", command=command_hint(people, lang)) if text_commands else ""
    return AfterMeetingMessage(
        locale=lang,
        title=translate(lang, "meeting.after.title", title=view.title),
        meeting_id=view.id,
        occurrence=occurrence.key,
        when_text=occurrence_text(occurrence, view.timezone, lang),
        attendees=people,
        attendees_text=came,
        prompt=translate(lang, "meeting.after.prompt"),
        command_hint=hint,
        late_note=translate(lang, "meeting.after.late") if prompt.late else "",
        actions=(Action("thank_attendees", translate(lang, "meeting.thank_attendees"),
                        {"meeting_id": str(view.id), "occurrence": occurrence.key}),),
        ended_at_utc=utc_instant(occurrence.ends_at),
    )


@renders(AfterMeetingPrompt)
def _after_meeting(outcome: AfterMeetingPrompt, audience: Audience) -> Message:
    return after_meeting_message(outcome, audience.lang, text_commands=audience.platform == "console")
