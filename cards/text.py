"""Plain-text rendering of neutral messages: the console adapter and text fallbacks use it."""

from __future__ import annotations

from cards.model import (
    ErrorMessage,
    HelpMessage,
    LeaderboardMessage,
    Message,
    NoticeMessage,
    ReminderMessage,
    ThanksMessage,
    ValuesMessage,
)


def render_text(message: Message) -> str:
    """The message as lines of text."""
    if isinstance(message, ThanksMessage):
        to = ", ".join(f"@{p.name}" for p in message.recipients)
        lines = [f"🎉 {message.title}", f"→ {to}", message.message]
        if message.values:
            lines.append(" ".join(f"{v.emoji} {v.name}".strip() for v in message.values))
        lines.append(f"👏 {message.clap_text} · {message.sent_at} · #{message.thanks_id}")
        return "\n".join(lines)
    if isinstance(message, LeaderboardMessage):
        lines = [f"🏆 {message.title} — {message.subtitle}"]
        if not message.rows:
            lines.append(message.empty_text)
        for row in message.rows:
            dept = f" [{row.department}]" if row.department else ""
            lines.append(f"{row.rank}. {row.person.name}{dept} — {row.count_text}")
        return "\n".join(lines)
    if isinstance(message, ValuesMessage):
        lines = [message.title]
        for v in message.values:
            lines.append(f"{v.emoji} #{v.key} {v.name} / {v.other_name} — {v.description}".rstrip(" —"))
        lines.append(message.hint)
        return "\n".join(lines)
    if isinstance(message, HelpMessage):
        return "\n".join([message.title, message.intro, *(f"  {h.command}  {h.description}" for h in message.lines)])
    if isinstance(message, ErrorMessage):
        return f"⚠️ {message.text}"
    if isinstance(message, NoticeMessage):
        text = f"{message.title}\n{message.text}" if message.title else message.text
        return f"{text}\n{message.link}" if message.link else text
    if isinstance(message, ReminderMessage):
        lines = [f"📅 {message.title}", message.starts_at_text]
        if message.late_note:
            lines.append(message.late_note)
        if message.place:
            lines.append(message.place)
        if message.departments:
            lines.append(" × ".join(message.departments))
        if message.agenda:
            lines.append(message.agenda)
        lines.append(message.rsvp_summary)
        return "\n".join(lines)
    raise TypeError(f"unknown message {type(message).__name__}")
