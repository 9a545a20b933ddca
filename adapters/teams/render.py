"""Neutral messages → Adaptive Cards 1.5 for Teams, built as data (never string templates).

How user text stays text. Adaptive Card ``TextBlock`` renders a markdown subset in Teams, so any
text a person wrote (messages, display names, value names, department names, anything an error
quotes back) goes into a ``RichTextBlock`` of ``TextRun`` s, which the schema defines as plain
text without markdown: ``**x**`` stays ``**x**``. ``TextBlock`` is used only for our own catalog
text, for the recipients line, whose ``<at>…</at>`` tags must be in a TextBlock for Teams to
turn them into mentions (the names inside are cleaned of ``<`` and ``>``), and for moments, whose
``{{DATE(…)}}`` / ``{{TIME(…)}}`` only a TextBlock writes in the reader's zone. An ``<at>`` typed by a
user is broken with an invisible WORD JOINER so Teams can never turn it into a mention. Cards are
sent expanded, so ``${…}`` has no templating meaning; JSON in a message is just a string value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from cards.model import (
    Action,
    AfterMeetingMessage,
    DigestMessage,
    ErrorMessage,
    HelpMessage,
    LeaderboardMessage,
    Message,
    NoticeMessage,
    Person,
    ProjectMessage,
    ReminderMessage,
    ThanksMessage,
    ValuesMessage,
)
from cards.text import render_text
from core.i18n import translate

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
# Teams refuses bot messages over 100 KB; stay well below.
MAX_CARD_BYTES = 80_000

# ``data.kizuna`` of buttons that open a dialog (``task/fetch``) and of dialog submits (``task/submit``).
OPEN_MEETING_FORM = "meeting_form"
SUBMIT_MEETING_FORM = "create_meeting"
OPEN_MEETING_EDIT = "edit_meeting_form"
SUBMIT_MEETING_EDIT = "edit_meeting"
RSVP_DETAILS = "rsvp_details"
THANK_ATTENDEES = "thank_attendees"
THANK_PROJECT = "thank_project"
THANK_GROUP = "thank_group"
# Action.Execute verbs of the reminder card (answered by the ``adaptiveCard/action`` invoke).
RSVP_VERB = "rsvp"
REMINDER_REFRESH_VERB = "meeting_refresh"

_AT_TAG = re.compile(r"<(\s*/?\s*at\b)", re.IGNORECASE)
_WORD_JOINER = "\u2060"


# What Adaptive Cards' date functions accept (the renderers' own pattern): RFC 3339 to the second, Z or
# an offset. Anything else is shown to the reader as the raw ``{{…}}`` text, so nothing else is sent.
_FUNCTION_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})")


class CardTooLarge(ValueError):
    """A card would exceed ``MAX_CARD_BYTES``."""


def plain(text: str) -> str:
    """User text made inert for Teams: an ``<at>`` tag typed by a person is no longer a tag."""
    return _AT_TAG.sub(lambda m: "<" + _WORD_JOINER + m.group(1), text)


def run(text: str, **style: Any) -> dict[str, Any]:
    """A TextRun: plain text, no markdown."""
    return {"type": "TextRun", "text": plain(text), **style}


def breakable(usage: str) -> str:
    """A usage line may wrap after each ``|``: a long list of choices is one word to the renderer, and Teams cuts
    off what does not fit the card's width (a zero-width space is an invisible break opportunity)."""
    return usage.replace("|", "|\u200b")


def rich(*runs: dict[str, Any], **props: Any) -> dict[str, Any]:
    """A RichTextBlock of TextRuns."""
    return {"type": "RichTextBlock", "inlines": list(runs), **props}


def label(text: str, **props: Any) -> dict[str, Any]:
    """A TextBlock for Kizuna's own (catalog) text."""
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def reader_time(instant: str) -> str | None:
    """``{{DATE(…, SHORT)}} {{TIME(…)}}``: Teams writes the moment in the reader's own time zone and
    language (e.g. ``Sat, Dec 5, 2026 5:43 PM`` / ``2026年12月5日(土) 17:43``). Only a ``TextBlock``
    formats these. None for an instant the functions would not read (say it as text instead)."""
    if not _FUNCTION_INSTANT.fullmatch(instant):
        return None
    return f"{{{{DATE({instant}, SHORT)}}}} {{{{TIME({instant})}}}}"


def _mention_name(name: str) -> str:
    cleaned = " ".join(name.replace("<", " ").replace(">", " ").split())
    return cleaned or "?"


def mentions(people: Sequence[Person]) -> tuple[list[str], list[dict[str, Any]]]:
    """``<at>`` tags and their ``msteams.entities``; each tag text is unique so Teams maps it to one person."""
    tags: list[str] = []
    entities: list[dict[str, Any]] = []
    used: set[str] = set()
    for who in people:
        name = _mention_name(who.name)
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name} ({n})"
        used.add(candidate)
        tag = f"<at>{candidate}</at>"
        tags.append(tag)
        entities.append({"type": "mention", "text": tag,
                         "mentioned": {"id": who.platform_user_id, "name": who.name}})
    return tags, entities


def _card(locale: str, body: list[dict[str, Any]], actions: Sequence[dict[str, Any]] = (),
          *, entities: Sequence[dict[str, Any]] = (), refresh: dict[str, Any] | None = None,
          fallback_text: str = "") -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "lang": locale,
        "body": body,
    }
    if actions:
        card["actions"] = list(actions)
    if refresh is not None:
        card["refresh"] = refresh
    if fallback_text:
        card["fallbackText"] = fallback_text[:1000]
    msteams: dict[str, Any] = {"width": "Full"}
    if entities:
        msteams["entities"] = list(entities)
    card["msteams"] = msteams
    return card


def execute_action(action: Action, locale: str) -> dict[str, Any]:
    """A neutral button as ``Action.Execute`` (Universal Actions: answered by the ``adaptiveCard/action`` invoke)."""
    return {"type": "Action.Execute", "title": action.label, "verb": action.kind,
            "data": {**action.data, "locale": locale}}


def thanks_card(message: ThanksMessage) -> dict[str, Any]:
    """A thanks: title, recipients as real mentions, values, message, claps and the 👏 button."""
    lang = message.locale
    tags, entities = mentions(message.recipients)
    body: list[dict[str, Any]] = [
        rich(run("🎉 "), run(message.title, weight="Bolder", size="Medium")),
        label(f"{translate(lang, 'thanks.to')}: {', '.join(tags)}", spacing="Small"),
        rich(run(message.message)),
    ]
    if message.project:
        body.append(rich(run(message.project, isSubtle=True), spacing="Small"))
    if message.values:
        badges = []
        for i, value in enumerate(message.values):
            badges.append(run(("  " if i else "") + f"{value.emoji} {value.name}".strip(), weight="Bolder",
                              color="Accent"))
        body.append(rich(*badges, spacing="Small"))
    # When it was sent, in each reader's own zone; the fallback text names the workspace's zone.
    sent_at = reader_time(message.sent_at_utc) or message.sent_at
    body.append(label(f"👏 {message.clap_text} · {sent_at}", isSubtle=True, size="Small", spacing="Small"))
    actions = [execute_action(a, lang) for a in message.actions]
    refresh = None
    if any(a.kind == "clap" for a in message.actions):
        # userIds: [] → Teams offers "refresh card" to everyone without auto-refresh traffic.
        refresh = {"action": {"type": "Action.Execute", "verb": "refresh",
                              "data": {"thanks_id": str(message.thanks_id), "locale": lang}},
                   "userIds": []}
    return _card(lang, body, actions, entities=entities, refresh=refresh, fallback_text=render_text(message))


def leaderboard_card(message: LeaderboardMessage) -> dict[str, Any]:
    """The ranking as rows of rank, name (and department), count."""
    body: list[dict[str, Any]] = [
        label(f"🏆 {message.title}", weight="Bolder", size="Medium"),
        rich(run(message.subtitle, isSubtle=True), spacing="None"),
    ]
    if not message.rows:
        body.append(label(message.empty_text))
    for row in message.rows:
        name_runs = [run(row.person.name, weight="Bolder")]
        if row.department:
            name_runs.append(run(f"  {row.department}", isSubtle=True))
        body.append({
            "type": "ColumnSet", "spacing": "Small",
            "columns": [
                {"type": "Column", "width": "auto", "items": [label(f"{row.rank}.", weight="Bolder")]},
                {"type": "Column", "width": "stretch", "items": [rich(*name_runs)]},
                {"type": "Column", "width": "auto", "items": [label(row.count_text)]},
            ],
        })
    return _card(message.locale, body, fallback_text=render_text(message))


def values_card(message: ValuesMessage) -> dict[str, Any]:
    """The values with both names and their tag."""
    body: list[dict[str, Any]] = [label(message.title, weight="Bolder", size="Medium")]
    for value in message.values:
        body.append(rich(run(f"{value.emoji} ".lstrip() + value.name, weight="Bolder"),
                         run(f"  #{value.key} · {value.other_name}", isSubtle=True), spacing="Small"))
        if value.description:
            body.append(rich(run(value.description), spacing="None"))
    body.append(label(message.hint, isSubtle=True, size="Small"))
    return _card(message.locale, body, fallback_text=render_text(message))


def help_card(message: HelpMessage) -> dict[str, Any]:
    """Commands and what they do."""
    body: list[dict[str, Any]] = [label(message.title, weight="Bolder", size="Medium"), label(message.intro)]
    for line in message.lines:
        body.append(rich(run(breakable(line.command), fontType="Monospace", weight="Bolder"), spacing="Small"))
        body.append(rich(run(line.description), spacing="None"))
    return _card(message.locale, body, fallback_text=render_text(message))


def error_card(message: ErrorMessage) -> dict[str, Any]:
    """A polite explanation (it may quote what the user typed, so it is plain text)."""
    return _card(message.locale, [rich(run("⚠️ "), run(message.text, color="Attention"))],
                 fallback_text=render_text(message))


def notice_card(message: NoticeMessage, *, chat_link: str | None = None) -> dict[str, Any]:
    """A short confirmation; with ``chat_link`` (a deep link that starts a group chat) a button to it."""
    body: list[dict[str, Any]] = []
    if message.title:
        body.append(rich(run(message.title, weight="Bolder")))
    body.append(rich(run(message.text)))
    actions = [task_fetch_button(action.label, {**action.data, "kizuna": THANK_GROUP}) if action.kind == "thank_group"
               else execute_action(action, message.locale) for action in message.actions]
    if chat_link:
        actions.append({"type": "Action.OpenUrl", "title": message.chat_label or "Chat", "url": chat_link})
    if message.link:
        actions.append({"type": "Action.OpenUrl", "title": message.link_label or message.link, "url": message.link})
    return _card(message.locale, body, actions, fallback_text=render_text(message))


CHAT_LINK = "https://teams.microsoft.com/l/chat/0/0"


def group_chat_link(upns: Sequence[str], topic: str) -> str:
    """Teams' deep link that starts a group chat (msteams-docs "Deep link to start a new chat"): ``users``
    takes Microsoft Entra user principal names only; ``topicName`` names a chat of three or more."""
    query = {"users": ",".join(upns)}
    if topic and len(upns) >= 3:
        query["topicName"] = topic
    return f"{CHAT_LINK}?{urlencode(query, safe=',@')}"


def digest_card(message: DigestMessage) -> dict[str, Any]:
    """A digest or a recap: names are plain text runs (no ``<at>`` tags), so nobody is notified."""
    body: list[dict[str, Any]] = [rich(run(message.title, weight="Bolder", size="Medium"))]
    if message.note:
        body.append(rich(run(message.note, italic=True, color="Warning")))
    body += [rich(run(line)) for line in message.summary]
    for section in message.sections:
        body.append(rich(run(section.heading, weight="Bolder"), spacing="Medium"))
        body += [rich(run(f"• {line}"), spacing="Small") for line in section.lines]
    return _card(message.locale, body, fallback_text=render_text(message))


def task_fetch_button(title: str, data: dict[str, Any]) -> dict[str, Any]:
    """A button that opens a dialog: ``Action.Submit`` with ``msteams.type = task/fetch`` (a ``task/fetch`` invoke)."""
    return {"type": "Action.Submit", "title": title, "data": {**data, "msteams": {"type": "task/fetch"}}}


def reminder_card(message: ReminderMessage, *, your_answer: str | None = None) -> dict[str, Any]:
    """A meeting reminder: when, where, who, the RSVP counts and buttons, and "who's coming".

    RSVP buttons are ``Action.Execute`` (the answer comes back as ``adaptiveCard/action`` and the
    card is re-rendered with the new counts). Buttons that open a dialog ("who's coming", and
    "Thank someone from this meeting" once the occurrence is over) are ``task/fetch`` buttons.
    ``your_answer`` marks the answer of the person the card is rendered for (their own view).
    """
    lang = message.locale
    body: list[dict[str, Any]] = [rich(run("📅 "), run(message.title, weight="Bolder", size="Medium"))]
    yours = reader_time(message.starts_at_utc)
    if yours:
        # The start in the reader's own zone, then the meeting's own time in its own (named) zone.
        body.append(label(f"🕒 {translate(lang, 'time.yours', time=yours)}", weight="Bolder", spacing="Small"))
        body.append(rich(run(message.starts_at_text, isSubtle=True), spacing="None"))
    else:
        body.append(rich(run(message.starts_at_text), spacing="Small"))
    if message.late_note:
        body.append(rich(run(message.late_note, color="Warning")))
    if message.place:
        body.append(rich(run("📍 "), run(message.place)))
    if message.departments:
        body.append(rich(run(" × ".join(message.departments), isSubtle=True)))
    if message.project:
        body.append(rich(run(message.project, isSubtle=True), spacing="Small"))
    if message.agenda:
        body.append(rich(run(message.agenda)))
    body.append(rich(run(message.rsvp_summary, weight="Bolder"), spacing="Medium"))
    if your_answer:
        body.append(label(translate(lang, "teams.meeting.your_answer",
                                    answer=translate(lang, f"meeting.rsvp.button.{your_answer}")),
                          isSubtle=True, size="Small", spacing="None"))
    ids = {"meeting_id": str(message.meeting_id), "occurrence": message.occurrence, "locale": lang}
    actions: list[dict[str, Any]] = []
    for action in message.actions:
        if action.kind == "rsvp":
            button = execute_action(action, lang)
            button["verb"] = RSVP_VERB
            if your_answer and action.data.get("answer") == your_answer:
                button["style"] = "positive"
            actions.append(button)
        elif action.kind == "thank_attendees":
            actions.append(task_fetch_button(action.label, {**ids, "kizuna": THANK_ATTENDEES}))
        else:
            actions.append(execute_action(action, lang))
    actions.append(task_fetch_button(translate(lang, "teams.meeting.who"), {**ids, "kizuna": RSVP_DETAILS}))
    # No userIds: Teams refreshes the card automatically when it is viewed (conversations of up
    # to 60 people), so counts stay current and the card turns into "Thank someone from this
    # meeting" after the meeting; larger conversations get the manual "Refresh card" item.
    refresh = {"action": {"type": "Action.Execute", "verb": REMINDER_REFRESH_VERB, "data": ids}}
    return _card(lang, body, actions, refresh=refresh, fallback_text=render_text(message))


def _table(message: ProjectMessage) -> dict[str, Any]:
    """The department matrix as an Adaptive Card ``Table`` (header row: to; first column: from)."""

    def cell(text: str, **style: Any) -> dict[str, Any]:
        return {"type": "TableCell", "items": [rich(run(text, **style))]}

    header = {"type": "TableRow", "cells": [cell(message.corner, isSubtle=True),
                                            *(cell(c, weight="Bolder") for c in message.columns)]}
    rows = [{"type": "TableRow", "cells": [cell(r.label, weight="Bolder"), *(cell(v) for v in r.cells)]}
            for r in message.rows]
    return {"type": "Table", "columns": [{"width": 2}, *({"width": 1} for _ in message.columns)],
            "rows": [header, *rows], "firstRowAsHeader": True, "showGridLines": True, "gridStyle": "default",
            "horizontalCellContentAlignment": "Left", "spacing": "Small"}


def project_card(message: ProjectMessage) -> dict[str, Any]:
    """A project: what it is, who is in it, its thanks between departments as a table; a closing card
    also mentions every member and offers the thanks form pre-filled with them."""
    lang = message.locale
    body: list[dict[str, Any]] = [rich(run("📁 "), run(message.title, weight="Bolder", size="Medium"))]
    body += [rich(run(line), spacing="Small") for line in message.details]
    body.append(label(message.summary, weight="Bolder", spacing="Medium"))
    if message.rows:
        body.append(label(message.matrix_caption, isSubtle=True, size="Small", spacing="Small"))
        body.append(_table(message))
    if message.values_text:
        body.append(rich(run(message.values_text), spacing="Small"))
    entities: list[dict[str, Any]] = []
    if message.people:
        tags, entities = mentions(message.people)
        body.append(label(", ".join(tags), spacing="Medium"))
    if message.invitation:
        body.append(rich(run(message.invitation)))
    if message.hint:
        body.append(label(message.hint, isSubtle=True, size="Small"))
    actions = [task_fetch_button(a.label, {**a.data, "kizuna": THANK_PROJECT, "locale": lang})
               for a in message.actions if a.kind == "thank_project"]
    return _card(lang, body, actions, entities=entities, fallback_text=render_text(message))


def render_card(message: Message, *, chat_link: str | None = None) -> dict[str, Any]:
    """The Adaptive Card for any neutral message; raises ``CardTooLarge`` past ``MAX_CARD_BYTES``.
    ``chat_link``: the group-chat deep link a notice's ``chat_with`` asked for, when it could be made."""
    if isinstance(message, ThanksMessage):
        card = thanks_card(message)
    elif isinstance(message, LeaderboardMessage):
        card = leaderboard_card(message)
    elif isinstance(message, ValuesMessage):
        card = values_card(message)
    elif isinstance(message, HelpMessage):
        card = help_card(message)
    elif isinstance(message, ErrorMessage):
        card = error_card(message)
    elif isinstance(message, NoticeMessage):
        card = notice_card(message, chat_link=chat_link)
    elif isinstance(message, ReminderMessage):
        card = reminder_card(message)
    elif isinstance(message, DigestMessage):
        card = digest_card(message)
    elif isinstance(message, AfterMeetingMessage):
        card = after_meeting_card(message)
    elif isinstance(message, ProjectMessage):
        card = project_card(message)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown message {type(message).__name__}")
    check_size(card)
    return card


def card_size(card: dict[str, Any]) -> int:
    """Bytes of the card as sent (UTF-8 JSON)."""
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode())


def check_size(card: dict[str, Any]) -> None:
    """Raise ``CardTooLarge`` if the card is over the limit."""
    size = card_size(card)
    if size >= MAX_CARD_BYTES:
        raise CardTooLarge(f"card is {size} bytes; the limit is {MAX_CARD_BYTES}")


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    """The card as a Bot Framework attachment."""
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def after_meeting_card(message: AfterMeetingMessage) -> dict[str, Any]:
    """The prompt after a meeting: who came (their names as plain text: nobody is pinged), and "Thank
    someone from this meeting", a ``task/fetch`` button that opens the thanks dialog with them picked."""
    lang = message.locale
    body: list[dict[str, Any]] = [rich(run("🙌 "), run(message.title, weight="Bolder", size="Medium")),
                                  rich(run(message.when_text, isSubtle=True), spacing="Small")]
    if message.late_note:
        body.append(rich(run(message.late_note, color="Warning")))
    body.append(rich(run(message.attendees_text), spacing="Medium"))
    body.append(rich(run(message.prompt), spacing="Small"))
    ids = {"meeting_id": str(message.meeting_id), "occurrence": message.occurrence, "locale": lang}
    actions = [task_fetch_button(a.label, {**ids, "kizuna": THANK_ATTENDEES}) for a in message.actions
               if a.kind == "thank_attendees"]
    return _card(lang, body, actions, fallback_text=render_text(message))
