"""Neutral messages (``cards.model``) → Discord message payloads: embeds, buttons, allowed mentions.

Every text from a neutral message is user-visible *text*, so markdown is escaped; people are
rendered as ``<@id>`` mentions, and only the thanked people may be pinged. Every payload goes
through ``limits.fit_message`` last.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from adapters.discord import limits, wire
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
from cards.text import matrix_lines
from core.i18n import translate

KIZUNA_COLOR = 0xE8A33D
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()<:#-])")
_SNOWFLAKE = re.compile(r"^\d{1,20}$")
CUSTOM_ID_PREFIX = "kizuna"


def escape(text: str) -> str:
    """Plain text shown as itself: markdown, mentions and links neutralised."""
    return _MARKDOWN.sub(r"\\\1", text).replace("@", "@\u200b")


def mention(person: Person) -> str:
    """``<@id>`` for a real Discord user id, the escaped name otherwise."""
    if _SNOWFLAKE.match(person.platform_user_id):
        return f"<@{person.platform_user_id}>"
    return escape(person.name)


def _instant(utc: str) -> datetime | None:
    """An RFC 3339 instant of a neutral message (``2026-12-05T08:43:00Z``), or None if there is none."""
    try:
        moment = datetime.fromisoformat(utc) if utc else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def reader_time(utc: str) -> str | None:
    """``<t:UNIX:F>``: Discord writes the moment in the reader's own time zone and language."""
    moment = _instant(utc)
    return f"<t:{int(moment.timestamp())}:F>" if moment is not None else None


def allowed_mentions(user_ids: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Nobody is pinged except ``user_ids`` (never @everyone, @here or a role)."""
    return {"parse": [], "users": [u for u in dict.fromkeys(user_ids) if _SNOWFLAKE.match(u)]}


def encode_action(action: Action, locale: str) -> str | None:
    """``kizuna:<kind>:<k=v&…>:<locale>`` (≤100 characters), or None if it would not fit."""
    data = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(action.data.items()))
    return limits.fit_custom_id(f"{CUSTOM_ID_PREFIX}:{action.kind}:{data}:{locale}")


def decode_action(custom_id: str) -> tuple[str, dict[str, str], str] | None:
    """The inverse of ``encode_action``: (kind, data, locale), or None for anything else."""
    parts = custom_id.split(":")
    if len(parts) != 4 or parts[0] != CUSTOM_ID_PREFIX:
        return None
    data: dict[str, str] = {}
    for pair in filter(None, parts[2].split("&")):
        key, _, value = pair.partition("=")
        data[unquote(key)] = unquote(value)
    return parts[1], data, parts[3]


def _buttons(actions: tuple[Action, ...], locale: str, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    buttons = []
    for action in actions:
        custom_id = encode_action(action, locale)
        if custom_id is None:
            continue
        label = (labels or {}).get(action.kind, action.label)
        buttons.append({"type": wire.BUTTON, "style": wire.BUTTON_SECONDARY, "label": label, "custom_id": custom_id})
    rows = [buttons[i:i + limits.ROW_COMPONENTS] for i in range(0, len(buttons), limits.ROW_COMPONENTS)]
    return [{"type": wire.ACTION_ROW, "components": row} for row in rows[:limits.ACTION_ROWS]]


def render(message: Message, *, ephemeral: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The Discord message payload for a neutral message (within limits, with allowed_mentions)."""
    data = _render(message)
    if ephemeral or isinstance(message, ErrorMessage):
        data["flags"] = wire.EPHEMERAL
    return limits.fit_message(data)


def _render(message: Message) -> dict[str, Any]:
    if isinstance(message, ThanksMessage):
        return _thanks(message)
    if isinstance(message, LeaderboardMessage):
        lines = [f"**{escape(message.subtitle)}**"]
        if not message.rows:
            lines.append(escape(message.empty_text))
        for row in message.rows:
            dept = f" · {escape(row.department)}" if row.department else ""
            lines.append(f"**{row.rank}.** {mention(row.person)}{dept} — {escape(row.count_text)}")
        embed = {"title": f"🏆 {message.title}", "description": "\n".join(lines), "color": KIZUNA_COLOR}
        # Mentions render as names, but nobody is pinged by a leaderboard.
        return {"embeds": [embed], "allowed_mentions": allowed_mentions()}
    if isinstance(message, ValuesMessage):
        fields = [
            {"name": f"{v.emoji} {escape(v.name)} / {escape(v.other_name)}".strip(),
             "value": f"`#{v.key}`" + (f" — {escape(v.description)}" if v.description else ""), "inline": False}
            for v in message.values
        ]
        embed = {"title": message.title, "fields": fields, "footer": {"text": message.hint}, "color": KIZUNA_COLOR}
        return {"embeds": [embed], "allowed_mentions": allowed_mentions()}
    if isinstance(message, HelpMessage):
        fields = [{"name": line.command, "value": escape(line.description), "inline": False} for line in message.lines]
        embed = {"title": message.title, "description": escape(message.intro), "fields": fields,
                 "color": KIZUNA_COLOR}
        return {"embeds": [embed], "allowed_mentions": allowed_mentions()}
    if isinstance(message, ErrorMessage):
        return {"content": f"⚠️ {escape(message.text)}", "allowed_mentions": allowed_mentions()}
    if isinstance(message, NoticeMessage):
        text = escape(message.text)
        content = f"**{escape(message.title)}**\n{text}" if message.title else text
        data: dict[str, Any] = {"content": content, "allowed_mentions": allowed_mentions()}
        if message.actions:
            data["components"] = _buttons(message.actions, message.locale)
        if message.link and not message.link.startswith("https://"):
            # Link buttons need https: a local http address goes in the text, unescaped (our own URL, no user
            # text), in angle brackets so that Discord links it without fetching a preview.
            data["content"] = f"{content}\n<{message.link}>"
        elif message.link:
            data["components"] = [*data.get("components", []), {"type": wire.ACTION_ROW, "components": [
                {"type": wire.BUTTON, "style": wire.BUTTON_LINK, "label": (message.link_label or "Open")[:80],
                 "url": message.link}]}]
        return data
    if isinstance(message, ReminderMessage):
        lines = [escape(message.starts_at_text)]
        yours = reader_time(message.starts_at_utc)
        if yours:  # the start in the reader's own zone first, then the meeting's own (named) zone
            lines.insert(0, f"🕒 {translate(message.locale, 'time.yours', time=yours)}")
        if message.late_note:
            lines.append(f"*{escape(message.late_note)}*")
        if message.place:
            lines.append(f"📍 {escape(message.place)}")
        if message.departments:
            lines.append(" × ".join(escape(d) for d in message.departments))
        if message.project:
            lines.append(escape(message.project))
        if message.agenda:
            lines.append(escape(message.agenda))
        embed = {"title": f"📅 {message.title}", "description": "\n".join(lines),
                 "footer": {"text": message.rsvp_summary}, "color": KIZUNA_COLOR}
        return {"embeds": [embed], "components": _buttons(message.actions, message.locale),
                "allowed_mentions": allowed_mentions()}
    if isinstance(message, DigestMessage):
        # Names are plain (escaped) text, never <@id>, and allowed_mentions pings nobody.
        description = [f"*{escape(message.note)}*"] if message.note else []
        description += [escape(line) for line in message.summary]
        fields = [{"name": section.heading, "value": "\n".join(f"• {escape(line)}" for line in section.lines),
                   "inline": False} for section in message.sections if section.lines]
        embed = {"title": message.title, "description": "\n".join(description), "fields": fields,
                 "color": KIZUNA_COLOR}
        return {"embeds": [embed], "allowed_mentions": allowed_mentions()}
    if isinstance(message, AfterMeetingMessage):
        # Who came, by name as plain text (escaped, no ``<@id>``): a prompt pings nobody.
        lines = [escape(message.when_text)]
        if message.late_note:
            lines.append(f"*{escape(message.late_note)}*")
        lines += [escape(message.attendees_text), escape(message.prompt)]
        embed = {"title": f"🙌 {message.title}", "description": "\n".join(lines), "color": KIZUNA_COLOR}
        return {"embeds": [embed], "components": _buttons(message.actions, message.locale),
                "allowed_mentions": allowed_mentions()}
    if isinstance(message, ProjectMessage):
        return _project(message)
    raise TypeError(f"no Discord rendering for {type(message).__name__}")


def _project(message: ProjectMessage) -> dict[str, Any]:
    """A project as an embed; the department matrix is a code block (aligned; markdown has no effect
    inside one, and a backtick in a department name cannot end it early)."""
    fields: list[dict[str, Any]] = []
    if message.rows:
        table = "\n".join(matrix_lines(message)[1:]).replace("`", "ˋ")
        fields.append({"name": message.matrix_caption, "value": f"```\n{table}\n```", "inline": False})
    if message.values_text:
        fields.append({"name": "\u200b", "value": escape(message.values_text), "inline": False})
    lines = [escape(line) for line in message.details]
    lines.append(f"**{escape(message.summary)}**")
    embed: dict[str, Any] = {"title": f"📁 {message.title}", "description": "\n".join(lines), "fields": fields,
                             "color": KIZUNA_COLOR}
    if message.hint:
        embed["footer"] = {"text": message.hint}
    data: dict[str, Any] = {"embeds": [embed], "components": _buttons(message.actions, message.locale),
                            "allowed_mentions": allowed_mentions([p.platform_user_id for p in message.people])}
    if message.people or message.invitation:
        # A closing card pings the members (and only them), inviting them to thank each other.
        data["content"] = " ".join([*(mention(p) for p in message.people), escape(message.invitation)]).strip()
    return data


def _thanks(message: ThanksMessage) -> dict[str, Any]:
    to = ", ".join(mention(p) for p in message.recipients)
    fields = [{"name": translate(message.locale, "thanks.to"), "value": to, "inline": False}]
    if message.values:
        fields.append({"name": translate(message.locale, "thanks.values"),
                       "value": "  ".join(f"{v.emoji} {escape(v.name)}".strip() for v in message.values),
                       "inline": False})
    if message.project:
        fields.append({"name": "\u200b", "value": escape(message.project), "inline": False})
    embed: dict[str, Any] = {
        "title": f"🎉 {message.title}",
        "description": escape(message.message),
        "fields": fields,
        "footer": {"text": f"👏 {message.clap_text} · {message.sent_at}"},
        "color": KIZUNA_COLOR,
    }
    sent = _instant(message.sent_at_utc)
    if sent is not None:
        # Discord shows the embed's timestamp next to the footer, in each reader's own zone.
        embed["footer"] = {"text": f"👏 {message.clap_text}"}
        embed["timestamp"] = sent.isoformat()
    labels: dict[str, str] = {action.kind: f"{action.label} · {message.clap_count}"
              for action in message.actions if action.kind == "clap"}
    recipients = [p.platform_user_id for p in message.recipients]
    # The content pings the thanked people (and only them); the embed says who sent what.
    content = " ".join(mention(p) for p in message.recipients)
    return {"content": content, "embeds": [embed], "components": _buttons(message.actions, message.locale, labels),
            "allowed_mentions": allowed_mentions(recipients)}
