"""Discord's size limits, and the truncation layer every outgoing payload passes through.

Limits are from notes/platform-facts.md B.1/B.2. Lengths are counted in code points (Python
``len``). Text is cut on a character boundary that does not split a combining sequence or an
emoji joined with ZWJ, and ends with an ellipsis, so a long thanks is shortened, never rejected.
"""

from __future__ import annotations

import unicodedata
from typing import Any

CONTENT = 2000
EMBEDS = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000
CUSTOM_ID = 100
BUTTON_LABEL = 80
ROW_COMPONENTS = 5
ACTION_ROWS = 5
MODAL_TITLE = 45
MODAL_COMPONENTS = 5
LABEL_TEXT = 45
LABEL_DESCRIPTION = 100
TEXT_INPUT_MAX = 4000
PLACEHOLDER = 100
SELECT_OPTIONS = 25
SELECT_OPTION_TEXT = 100
CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
ALLOWED_MENTION_USERS = 100

ELLIPSIS = "…"
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}


def _cut_point(text: str, limit: int) -> int:
    """An index ≤ ``limit`` that does not split a combining sequence or a ZWJ emoji."""
    cut = limit
    while cut > 0 and (unicodedata.combining(text[cut]) or text[cut] in _JOINERS or text[cut - 1] in _JOINERS
                       or 0x1F3FB <= ord(text[cut]) <= 0x1F3FF):
        cut -= 1
    return cut


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` code points, else cut safely and ended with ``…``."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = _cut_point(text, limit - len(ELLIPSIS))
    head = text[:cut].rstrip()
    # Never leave a lone markdown escape at the end.
    if head.endswith("\\") and not head.endswith("\\\\"):
        head = head[:-1]
    return head + ELLIPSIS


def embed_size(embed: dict[str, Any]) -> int:
    """The characters of an embed that count towards the 6000 total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", []):
        total += len(field.get("name", "")) + len(field.get("value", ""))
    return total


def fit_embed(embed: dict[str, Any], budget: int = EMBED_TOTAL) -> dict[str, Any]:
    """A copy of ``embed`` within every per-field limit and within ``budget`` characters in total."""
    out = dict(embed)
    if "title" in out:
        out["title"] = truncate(out["title"], EMBED_TITLE)
    if "description" in out:
        out["description"] = truncate(out["description"], EMBED_DESCRIPTION)
    if "footer" in out:
        out["footer"] = {**out["footer"], "text": truncate(out["footer"]["text"], FOOTER_TEXT)}
    if "author" in out:
        out["author"] = {**out["author"], "name": truncate(out["author"]["name"], AUTHOR_NAME)}
    if "fields" in out:
        out["fields"] = [
            {**f, "name": truncate(f["name"], FIELD_NAME) or "\u200b",
             "value": truncate(f["value"], FIELD_VALUE) or "\u200b"}
            for f in out["fields"][:EMBED_FIELDS]
        ]
    excess = embed_size(out) - budget
    if excess > 0 and out.get("fields"):
        # Drop fields from the end first: the title and the message matter most.
        while excess > 0 and out["fields"]:
            dropped = out["fields"].pop()
            excess -= len(dropped["name"]) + len(dropped["value"])
    if excess > 0 and out.get("description"):
        out["description"] = truncate(out["description"], max(1, len(out["description"]) - excess))
        excess = embed_size(out) - budget
    if excess > 0 and out.get("footer"):
        out["footer"] = {**out["footer"], "text": truncate(out["footer"]["text"],
                                                           max(0, len(out["footer"]["text"]) - excess))}
    return out


def fit_message(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a message payload (content, embeds, components) within Discord's limits."""
    out = dict(data)
    if "content" in out:
        out["content"] = truncate(out["content"], CONTENT)
    if "embeds" in out:
        budget = EMBED_TOTAL
        fitted = []
        for embed in out["embeds"][:EMBEDS]:
            one = fit_embed(embed, budget)
            budget -= embed_size(one)
            fitted.append(one)
            if budget <= 0:
                break
        out["embeds"] = fitted
    if "components" in out:
        out["components"] = [fit_component(row) for row in out["components"][:ACTION_ROWS]]
    mentions = out.get("allowed_mentions")
    if mentions and "users" in mentions:
        out["allowed_mentions"] = {**mentions, "users": list(mentions["users"])[:ALLOWED_MENTION_USERS]}
    return out


def fit_component(component: dict[str, Any]) -> dict[str, Any]:
    """A copy of a component (recursively) within the label, placeholder and option limits."""
    out = dict(component)
    if "label" in out:
        out["label"] = truncate(out["label"], LABEL_TEXT if out.get("type") == 18 else BUTTON_LABEL)
    if "description" in out and out.get("type") == 18:
        out["description"] = truncate(out["description"], LABEL_DESCRIPTION)
    if "placeholder" in out:
        out["placeholder"] = truncate(out["placeholder"], PLACEHOLDER)
    if "options" in out:
        out["options"] = [
            {**o, "label": truncate(o["label"], SELECT_OPTION_TEXT),
             **({"description": truncate(o["description"], SELECT_OPTION_TEXT)} if "description" in o else {})}
            for o in out["options"][:SELECT_OPTIONS]
        ]
    if "components" in out:
        out["components"] = [fit_component(c) for c in out["components"][:ROW_COMPONENTS]]
    if "component" in out:
        out["component"] = fit_component(out["component"])
    return out


def fit_modal(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a modal within the title (45) and component limits."""
    out = dict(data)
    out["title"] = truncate(out["title"], MODAL_TITLE)
    out["components"] = [fit_component(c) for c in out["components"][:MODAL_COMPONENTS]]
    return out


def fit_choices(choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most 25 autocomplete choices, each name within 100 characters."""
    return [{**c, "name": truncate(c["name"], CHOICE_NAME)} for c in choices[:CHOICES]]


def fit_custom_id(custom_id: str) -> str | None:
    """The custom id if it fits in 100 characters; None otherwise (never cut: it is a key)."""
    return custom_id if 0 < len(custom_id) <= CUSTOM_ID else None
