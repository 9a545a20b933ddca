"""Text messages: each mention becomes a grammar token, the one grammar makes the command, the core runs it.

Nothing here knows a command word: ``core.app.grammar`` reads the line. What stays Teams' own is how
an outcome looks (``adapters.teams.outcomes``), that ``meeting edit ID`` without changes answers with
a button opening the edit dialog, and that setting the feed or scheduling a meeting here stores this
conversation's address (reminders and the feed are posted to it later).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from adapters.teams.incoming import PLATFORM, Incoming, Mention
from adapters.teams.outcomes import edit_launcher, outcome_card
from adapters.teams.people import Caller, People
from adapters.teams.render import render_card
from cards.build import error_message
from cards.outcomes import Audience
from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, execute
from core.app.grammar import mention_token, parse, without_markers
from core.errors import KizunaError
from core.i18n import resolve_locale
from core.services.members import Person

log = logging.getLogger("kizuna.teams")
Card = dict[str, Any]


def read_text(text: str, mentions: Sequence[Mention]) -> tuple[str, list[Person]]:
    """The line with each mentioned person's ``<at>…</at>`` replaced by a grammar token, and the people."""
    line = without_markers(text)
    people: list[Person] = []
    for mention in mentions:
        if mention.text and mention.text in line:
            line = line.replace(mention.text, f" {mention_token(len(people))} ")
            people.append(mention.as_person())
    return line, people


def _stores_this_channel(command: c.Command) -> bool:
    """Whether the command makes this conversation a place Kizuna posts to later."""
    if isinstance(command, c.SetFeedChannel):
        return command.channel is None
    return isinstance(command, c.CreateMeeting) and command.fields.channel is None


async def answer_message(people: People, incoming: Incoming, text: str, mentions: Sequence[Mention], *,
                         public_url: str = "", shared: bool = False) -> Card | None:
    """The card answering one message (None: nothing to say, e.g. a thanks delivered twice).

    ``shared``: the conversation is a channel or a group chat (a sign-in link then goes 1:1)."""
    line, persons = read_text(text, mentions)
    command: c.Command | KizunaError
    try:
        command = parse(line, persons)
    except KizunaError as error:
        command = error  # answered in the sender's language, once they are known
    fresh = isinstance(command, c.Command) and command.reads_fresh()
    recipients = command.recipients if isinstance(command, c.GiveThanks) else ()
    try:
        caller = await people.caller(incoming, fresh=fresh, people=recipients)
    except KizunaError as error:
        return render_card(error_message(error, resolve_locale(incoming.locale)))
    if isinstance(command, KizunaError):
        return render_card(error_message(command, caller.locale))
    try:
        if isinstance(command, c.OpenDashboard) and shared:
            command = replace(command, privately=True)
        return await _run(people, incoming, caller, command, public_url)
    except KizunaError as error:
        return render_card(error_message(error, caller.locale))
    finally:
        if fresh:  # settings, rights or departments may have changed: read them again next time
            people.forget(caller.workspace)


async def _run(people: People, incoming: Incoming, caller: Caller, command: c.Command,
               public_url: str = "") -> Card | None:
    context = Context(caller.workspace, caller.member, caller.locale, PLATFORM, channel=incoming.channel,
                      event_key=incoming.key("msg"), known=caller.known, notify_recipients=True,
                      public_url=public_url)
    audience = Audience(caller.locale, caller.workspace.timezone, PLATFORM)
    if isinstance(command, c.EditMeeting) and not command.fields.given():
        # A message cannot open a dialog: answer with a button that does.
        shown = await execute(context, c.ShowMeeting(command.meeting))
        assert isinstance(shown, o.MeetingShown)
        return edit_launcher(shown, audience)
    outcome = await execute(context, command)
    if isinstance(outcome, o.ThanksGiven) and not outcome.created:
        log.info("activity %s was delivered again; thanks %s already exists", incoming.activity_id, outcome.view.id)
        return None
    if _stores_this_channel(command):
        await people.store_addresses(caller.workspace, [incoming.channel_address])
    return outcome_card(outcome, audience)
