"""Plain-text rendering of neutral messages: the console adapter and text fallbacks use it."""

from __future__ import annotations

import unicodedata

from cards.model import (
    AfterMeetingMessage,
    DigestMessage,
    ErrorMessage,
    HelpMessage,
    LeaderboardMessage,
    Message,
    NoticeMessage,
    ProjectMessage,
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
        if message.project:
            lines.append(message.project)
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
        if message.project:
            lines.append(message.project)
        if message.agenda:
            lines.append(message.agenda)
        lines.append(message.rsvp_summary)
        return "\n".join(lines)
    if isinstance(message, DigestMessage):
        lines = [message.title, *([message.note] if message.note else []), *message.summary]
        for section in message.sections:
            lines.append(section.heading)
            lines += [f"・{line}" for line in section.lines]
        return "\n".join(lines)
    if isinstance(message, AfterMeetingMessage):
        lines = [f"🙌 {message.title}", message.when_text]
        if message.late_note:
            lines.append(message.late_note)
        lines += [message.attendees_text, message.prompt]
        if message.command_hint:
            lines.append(message.command_hint)
        return "\n".join(lines)
    if isinstance(message, ProjectMessage):
        return "\n".join(line for line in (f"📁 {message.title}", *message.details, message.summary,
                                             *matrix_lines(message), message.values_text,
                                             ", ".join(f"@{p.name}" for p in message.people),
                                             message.invitation, message.hint) if line)
    raise TypeError(f"unknown message {type(message).__name__}")


def _width(text: str) -> int:
    """Columns a terminal gives ``text`` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def matrix_lines(message: ProjectMessage) -> list[str]:
    """The department matrix as aligned lines of text (a caption, a header, one line per row)."""
    if not message.rows:
        return []
    first = max(_width(message.corner), *(_width(r.label) for r in message.rows))
    widths = [max(_width(c), *(_width(r.cells[i]) for r in message.rows)) for i, c in enumerate(message.columns)]
    header = " │ ".join([_pad(message.corner, first), *(_pad(c, w) for c, w in zip(message.columns, widths,
                                                                                   strict=True))])
    lines = [message.matrix_caption, header.rstrip()]
    for row in message.rows:
        cells = [_pad(row.label, first), *(" " * (w - _width(v)) + v for v, w in zip(row.cells, widths, strict=True))]
        lines.append(" │ ".join(cells).rstrip())
    return lines
