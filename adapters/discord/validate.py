"""A checker of Discord's limits and Kizuna's mention rules, for every payload the tests see.

``check_response`` (interaction callbacks), ``check_message`` (channel messages, webhook edits and
follow-ups) and ``check_commands`` (command registration) return a list of problems; an empty list
means Discord would accept the payload and nobody can be pinged by accident.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.discord import limits, wire

_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _len(problems: list[str], where: str, text: Any, limit: int, *, minimum: int = 0) -> None:
    if not isinstance(text, str):
        problems.append(f"{where}: not a string")
    elif not minimum <= len(text) <= limit:
        problems.append(f"{where}: {len(text)} characters, allowed {minimum}-{limit}")


def check_mentions(data: dict[str, Any], problems: list[str], where: str) -> None:
    """Every message must say ``parse: []`` and may only list users explicitly."""
    mentions = data.get("allowed_mentions")
    if not isinstance(mentions, dict):
        problems.append(f"{where}: allowed_mentions missing")
        return
    if mentions.get("parse") != []:
        problems.append(f"{where}: allowed_mentions.parse must be [] (got {mentions.get('parse')!r})")
    if mentions.get("roles"):
        problems.append(f"{where}: allowed_mentions.roles must be empty")
    users = mentions.get("users", [])
    if not isinstance(users, list) or len(users) > limits.ALLOWED_MENTION_USERS:
        problems.append(f"{where}: allowed_mentions.users must be a list of at most 100")


def check_components(components: Any, problems: list[str], where: str, *, modal: bool = False) -> None:
    """Rows, buttons, selects, labels and text inputs."""
    if not isinstance(components, list):
        problems.append(f"{where}: components must be a list")
        return
    top_limit = limits.MODAL_COMPONENTS if modal else limits.ACTION_ROWS
    if len(components) > top_limit:
        problems.append(f"{where}: {len(components)} top-level components, at most {top_limit}")
    seen: set[str] = set()

    def one(c: dict[str, Any], path: str) -> None:
        kind = c.get("type")
        if "custom_id" in c:
            _len(problems, f"{path}.custom_id", c["custom_id"], limits.CUSTOM_ID, minimum=1)
            if c["custom_id"] in seen:
                problems.append(f"{path}.custom_id {c['custom_id']!r} repeats")
            seen.add(c["custom_id"])
        if kind == wire.ACTION_ROW:
            inner = c.get("components", [])
            if not 1 <= len(inner) <= limits.ROW_COMPONENTS:
                problems.append(f"{path}: an action row holds 1-5 components")
            for i, x in enumerate(inner):
                one(x, f"{path}.components[{i}]")
        elif kind == wire.BUTTON:
            if "label" in c:
                _len(problems, f"{path}.label", c["label"], limits.BUTTON_LABEL)
            if "custom_id" not in c and "url" not in c:
                problems.append(f"{path}: a button needs custom_id or url")
            if c.get("style") == wire.BUTTON_LINK:
                if "custom_id" in c or not str(c.get("url", "")).startswith("https://"):
                    problems.append(f"{path}: a link button has an https url and no custom_id")
                else:
                    _len(problems, f"{path}.url", c["url"], 512)
        elif kind == wire.STRING_SELECT:
            options = c.get("options", [])
            if not 1 <= len(options) <= limits.SELECT_OPTIONS:
                problems.append(f"{path}: a select has 1-25 options")
            for i, o in enumerate(options):
                _len(problems, f"{path}.options[{i}].label", o.get("label"), limits.SELECT_OPTION_TEXT, minimum=1)
                _len(problems, f"{path}.options[{i}].value", o.get("value"), limits.SELECT_OPTION_TEXT, minimum=1)
            if "placeholder" in c:
                _len(problems, f"{path}.placeholder", c["placeholder"], 150)
        elif kind == wire.USER_SELECT:
            low, high = c.get("min_values", 1), c.get("max_values", 1)
            if not (0 <= low <= high <= limits.SELECT_OPTIONS):
                problems.append(f"{path}: min_values/max_values must satisfy 0 <= min <= max <= 25")
            if modal and c.get("required", True) and low < 1:
                problems.append(f"{path}: a required select needs min_values >= 1")
            defaults = c.get("default_values", [])
            if defaults and not low <= len(defaults) <= high:
                problems.append(f"{path}: {len(defaults)} default values, allowed {low}-{high}")
            for i, d in enumerate(defaults):
                if d.get("type") != "user" or not str(d.get("id", "")).isdigit():
                    problems.append(f"{path}.default_values[{i}]: must be {{id: snowflake, type: 'user'}}")
            if "placeholder" in c:
                _len(problems, f"{path}.placeholder", c["placeholder"], 150)
            if "disabled" in c and modal:
                problems.append(f"{path}: modals cannot hold disabled components")
        elif kind == wire.TEXT_INPUT:
            if not modal:
                problems.append(f"{path}: text inputs only belong in modals")
            if c.get("max_length", 1) > limits.TEXT_INPUT_MAX or c.get("max_length", 1) < 1:
                problems.append(f"{path}: max_length must be 1-4000")
            if "placeholder" in c:
                _len(problems, f"{path}.placeholder", c["placeholder"], limits.PLACEHOLDER)
        elif kind == wire.LABEL:
            if not modal:
                problems.append(f"{path}: labels only belong in modals here")
            _len(problems, f"{path}.label", c.get("label"), limits.LABEL_TEXT, minimum=1)
            if "description" in c:
                _len(problems, f"{path}.description", c["description"], limits.LABEL_DESCRIPTION)
            if not isinstance(c.get("component"), dict):
                problems.append(f"{path}: a label wraps exactly one component")
            else:
                one(c["component"], f"{path}.component")
        else:
            problems.append(f"{path}: unexpected component type {kind!r}")

    for i, component in enumerate(components):
        if modal and component.get("type") not in (wire.LABEL, wire.ACTION_ROW):
            problems.append(f"{where}[{i}]: modal children are labels (or legacy rows)")
        if not modal and component.get("type") != wire.ACTION_ROW:
            problems.append(f"{where}[{i}]: top-level message components are action rows")
        one(component, f"{where}[{i}]")


def check_message(data: dict[str, Any], where: str = "message") -> list[str]:
    """Problems with one message payload (create, edit, follow-up or a callback's ``data``)."""
    problems: list[str] = []
    if "content" in data:
        _len(problems, f"{where}.content", data["content"], limits.CONTENT)
    embeds = data.get("embeds", [])
    if len(embeds) > limits.EMBEDS:
        problems.append(f"{where}: {len(embeds)} embeds, at most 10")
    total = 0
    for i, embed in enumerate(embeds):
        path = f"{where}.embeds[{i}]"
        if "title" in embed:
            _len(problems, f"{path}.title", embed["title"], limits.EMBED_TITLE)
        if "description" in embed:
            _len(problems, f"{path}.description", embed["description"], limits.EMBED_DESCRIPTION)
        fields = embed.get("fields", [])
        if len(fields) > limits.EMBED_FIELDS:
            problems.append(f"{path}: {len(fields)} fields, at most 25")
        for j, field in enumerate(fields):
            _len(problems, f"{path}.fields[{j}].name", field.get("name"), limits.FIELD_NAME, minimum=1)
            _len(problems, f"{path}.fields[{j}].value", field.get("value"), limits.FIELD_VALUE, minimum=1)
        if "footer" in embed:
            _len(problems, f"{path}.footer.text", embed["footer"].get("text"), limits.FOOTER_TEXT)
        if "author" in embed:
            _len(problems, f"{path}.author.name", embed["author"].get("name"), limits.AUTHOR_NAME)
        total += limits.embed_size(embed)
    if total > limits.EMBED_TOTAL:
        problems.append(f"{where}: embeds hold {total} characters, at most 6000")
    if "components" in data:
        check_components(data["components"], problems, f"{where}.components")
    if not data.get("content") and not embeds and "components" not in data:
        problems.append(f"{where}: a message needs content, embeds or components")
    check_mentions(data, problems, where)
    if "nonce" in data:
        nonce = data["nonce"]
        if not isinstance(nonce, str | int) or isinstance(nonce, bool) or not 0 < len(str(nonce)) <= 25:
            problems.append(f"{where}.nonce: an integer or a string of at most 25 characters, not {nonce!r}")
    if "enforce_nonce" in data and (not isinstance(data["enforce_nonce"], bool) or "nonce" not in data):
        problems.append(f"{where}.enforce_nonce: a boolean, and only with a nonce")
    flags = data.get("flags", 0)
    if flags & ~wire.EPHEMERAL:
        problems.append(f"{where}: unexpected flags {flags}")
    return problems


def check_response(response: dict[str, Any]) -> list[str]:
    """Problems with one interaction response (the body Kizuna answers a POST with)."""
    kind = response.get("type")
    data = response.get("data", {})
    if kind == wire.PONG:
        return [] if set(response) == {"type"} else ["PONG carries nothing but its type"]
    if kind in (wire.CHANNEL_MESSAGE_WITH_SOURCE, wire.UPDATE_MESSAGE):
        return check_message(data, f"response(type {kind}).data")
    if kind == wire.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
        return [] if data.get("flags", 0) in (0, wire.EPHEMERAL) else ["type 5 allows only the ephemeral flag"]
    if kind == wire.DEFERRED_UPDATE_MESSAGE:
        return []
    if kind == wire.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
        problems: list[str] = []
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) > limits.CHOICES:
            return ["autocomplete: choices must be a list of at most 25"]
        for i, c in enumerate(choices):
            _len(problems, f"choices[{i}].name", c.get("name"), limits.CHOICE_NAME, minimum=1)
            if isinstance(c.get("value"), str):
                _len(problems, f"choices[{i}].value", c["value"], limits.CHOICE_VALUE, minimum=1)
        return problems
    if kind == wire.MODAL:
        problems = []
        _len(problems, "modal.title", data.get("title"), limits.MODAL_TITLE, minimum=1)
        _len(problems, "modal.custom_id", data.get("custom_id"), limits.CUSTOM_ID, minimum=1)
        components = data.get("components", [])
        if not 1 <= len(components) <= limits.MODAL_COMPONENTS:
            problems.append("modal: 1-5 components")
        check_components(components, problems, "modal.components", modal=True)
        return problems
    return [f"unknown response type {kind!r}"]


COMMAND_SIZE = 8000


def command_size(obj: dict[str, Any]) -> int:
    """Characters Discord counts towards a slash command's 8000: name, description and value, each at its
    longest localisation, over the command, its options and choices (application-commands.mdx)."""
    total = 0
    for key in ("name", "description"):
        if key in obj:
            texts = [str(obj[key]), *[str(t) for t in (obj.get(f"{key}_localizations") or {}).values()]]
            total += max(len(t) for t in texts)
    if "value" in obj:
        total += len(str(obj["value"]))
    for child in [*obj.get("options", []), *obj.get("choices", [])]:
        total += command_size(child)
    return total


def check_commands(commands: list[dict[str, Any]]) -> list[str]:
    """Problems with a bulk-overwrite command list (names, descriptions, options, localisations)."""
    problems: list[str] = []
    counts: dict[int, int] = {}

    def names(obj: dict[str, Any], path: str, *, chat_input: bool) -> None:
        all_names = [obj.get("name", ""), *list(obj.get("name_localizations", {}).values())]
        for name in all_names:
            if chat_input and (not _COMMAND_NAME.match(name) or name != name.lower()):
                problems.append(f"{path}: bad name {name!r}")
            if not 1 <= len(name) <= 32:
                problems.append(f"{path}: name {name!r} must be 1-32 characters")
        if chat_input:
            for text in [obj.get("description", ""), *list(obj.get("description_localizations", {}).values())]:
                _len(problems, f"{path}.description", text, 100, minimum=1)

    def options(opts: list[dict[str, Any]], path: str) -> None:
        if len(opts) > 25:
            problems.append(f"{path}: more than 25 options")
        seen_optional = False
        for i, o in enumerate(opts):
            names(o, f"{path}[{i}]", chat_input=True)
            if o.get("type") not in (wire.OPT_SUB_COMMAND, 2):
                if o.get("required"):
                    if seen_optional:
                        problems.append(f"{path}[{i}]: required options come first")
                else:
                    seen_optional = True
            if o.get("autocomplete") and o.get("choices"):
                problems.append(f"{path}[{i}]: autocomplete and choices exclude each other")
            for j, c in enumerate(o.get("choices", [])[:100]):
                for text in [c.get("name", ""), *list(c.get("name_localizations", {}).values())]:
                    _len(problems, f"{path}[{i}].choices[{j}].name", text, limits.CHOICE_NAME, minimum=1)
            if len(o.get("choices", [])) > limits.CHOICES:
                problems.append(f"{path}[{i}]: more than 25 choices")
            options(o.get("options", []), f"{path}[{i}].options")

    for i, command in enumerate(commands):
        kind = command.get("type", wire.CHAT_INPUT)
        if kind == wire.CHAT_INPUT and (size := command_size(command)) > COMMAND_SIZE:
            problems.append(f"commands[{i}]: {size} characters of names, descriptions and values, at most 8000")
        counts[kind] = counts.get(kind, 0) + 1
        names(command, f"commands[{i}]", chat_input=kind == wire.CHAT_INPUT)
        if kind != wire.CHAT_INPUT and command.get("description"):
            problems.append(f"commands[{i}]: context menus have no description")
        options(command.get("options", []), f"commands[{i}].options")
    if counts.get(wire.CHAT_INPUT, 0) > 100 or counts.get(wire.USER_COMMAND, 0) > 15:
        problems.append("too many commands")
    return problems
