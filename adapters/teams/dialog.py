"""The "Send thanks" dialog of the message extension: the form card, its answer, and message pre-fill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from adapters.teams.render import CARD_SCHEMA, CARD_VERSION, attachment, check_size, rich, run
from core.i18n import translate
from core.views import ValueRef

COMMAND_ID = "sendThanks"
SUBMIT_MARKER = "send_thanks"
# What Teams documents for a people picker in an Adaptive Card dialog (Input.ChoiceSet + Data.Query).
PEOPLE_DATASET = "graph.microsoft.com/users"


@dataclass(frozen=True)
class ThanksSubmission:
    """What the dialog sent back."""

    recipient_ids: tuple[str, ...]
    value_keys: tuple[str, ...]
    message: str
    # The project key chosen ("none": no project, not even the channel's); "" when none was chosen.
    project: str = ""

    @property
    def recipients_text(self) -> str:
        return ",".join(self.recipient_ids)

    @property
    def values_text(self) -> str:
        return ",".join(self.value_keys)


def _split(raw: Any) -> tuple[str, ...]:
    items = [str(x) for x in raw] if isinstance(raw, list) else str(raw or "").split(",")
    seen: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in seen:
            seen.append(item)
    return tuple(seen)


def parse_submission(data: Mapping[str, Any] | None) -> ThanksSubmission:
    """The dialog's ``data``: comma-separated people and values, and the message (all untrusted)."""
    data = data or {}
    message = data.get("message")
    project = data.get("project")
    return ThanksSubmission(_split(data.get("recipients")), _split(data.get("values")),
                            message if isinstance(message, str) else "",
                            project.strip()[:100] if isinstance(project, str) else "")


def thanks_form(locale: str, values: Sequence[ValueRef], *, max_length: int, message: str = "",
                submission: ThanksSubmission | None = None, error: str | None = None,
                people: Sequence[tuple[str, str]] = (), submit_data: Mapping[str, str] | None = None,
                projects: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The dialog card: people picker, value choices, message; an error (if any) on top.

    ``people`` are ``(id, name)`` choices shown besides the directory search (e.g. a meeting's
    attendees); ``submit_data`` travels back with the submit (e.g. which meeting it came from).
    ``projects`` are ``(key, name)`` of the open projects: a thanks may belong to one.
    """
    lang = locale
    body: list[dict[str, Any]] = []
    if error:
        body.append(rich(run("⚠️ "), run(error, color="Attention", weight="Bolder")))
    body.append({
        "type": "Input.ChoiceSet",
        "id": "recipients",
        "label": translate(lang, "teams.form.recipients"),
        "isMultiSelect": True,
        "isRequired": True,
        "errorMessage": translate(lang, "teams.form.recipients_required"),
        "choices": [{"title": name, "value": person} for person, name in people],
        "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET},
        **({"value": submission.recipients_text} if submission and submission.recipient_ids else {}),
    })
    if values:
        body.append({
            "type": "Input.ChoiceSet",
            "id": "values",
            "label": translate(lang, "teams.form.values"),
            "isMultiSelect": True,
            "style": "expanded",
            "choices": [{"title": f"{v.emoji} {v.name_ja if lang == 'ja' else v.name_en}".strip(), "value": v.key}
                        for v in values],
            **({"value": submission.values_text} if submission and submission.value_keys else {}),
        })
    if projects:
        chosen = submission.project if submission is not None else ""
        body.append({
            "type": "Input.ChoiceSet",
            "id": "project",
            "label": translate(lang, "teams.form.project"),
            "style": "compact",
            "placeholder": translate(lang, "teams.form.project_placeholder"),
            "choices": [*({"title": f"{name} +{key}", "value": key} for key, name in projects),
                        {"title": translate(lang, "teams.form.no_project"), "value": "none"}],
            **({"value": chosen} if chosen else {}),
        })
    text = submission.message if submission is not None else message
    body.append({
        "type": "Input.Text",
        "id": "message",
        "label": translate(lang, "teams.form.message"),
        "placeholder": translate(lang, "teams.form.message_placeholder"),
        "isMultiline": True,
        "isRequired": True,
        "errorMessage": translate(lang, "teams.form.message_required"),
        "maxLength": max_length,
        **({"value": text[:max_length]} if text else {}),
    })
    card: dict[str, Any] = {
        "type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION, "lang": lang,
        "body": body,
        "actions": [{"type": "Action.Submit", "title": translate(lang, "teams.form.submit"),
                     "style": "positive", "data": {**(submit_data or {}), "kizuna": SUBMIT_MARKER}}],
    }
    check_size(card)
    return card


def task_continue(locale: str, card: dict[str, Any]) -> dict[str, Any]:
    """The invoke answer that shows (or re-shows) the dialog."""
    return {"task": {"type": "continue", "value": {
        "title": translate(locale, "teams.form.title"), "height": "medium", "width": "medium",
        "card": attachment(card),
    }}}


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def message_text(payload: Any) -> str:
    """The plain text of the message the action was started from (``messagePayload.body``; untrusted)."""
    if not isinstance(payload, Mapping):
        return ""
    body = payload.get("body") or {}
    content = body.get("content") if isinstance(body, Mapping) else None
    if not isinstance(content, str):
        return ""
    if str(body.get("contentType", "html")).lower() == "text":
        return content.strip()
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(line for line in lines if line)
    return text.strip()
