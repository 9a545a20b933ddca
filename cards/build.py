"""Typed builders: core results in, localised neutral messages out."""

from __future__ import annotations

from collections.abc import Sequence

from cards.model import (
    Action,
    ErrorMessage,
    HelpLine,
    HelpMessage,
    LeaderboardMessage,
    LeaderboardRow,
    NoticeMessage,
    Person,
    ThanksMessage,
    ValueBadge,
    ValueLine,
    ValuesMessage,
    utc_instant,
)
from core.app.grammar import help_entries
from core.errors import KizunaError
from core.i18n import format_date, format_datetime, normalize_locale, translate
from core.services.stats import Leaderboard
from core.views import MemberRef, ThanksView, ValueRef

# Discord's help names its slash commands; every text surface's help comes from the grammar.
DISCORD_HELP: tuple[tuple[str, str], ...] = (
    # (message id of the command as typed, message id of its description)
    ("help.cmd.discord.thanks", "help.thanks"),
    ("help.cmd.discord.leaderboard", "help.leaderboard"),
    ("help.cmd.discord.values", "help.values"),
    ("help.cmd.discord.meeting", "help.meeting"),
    ("help.cmd.discord.help", "help.help"),
)


def _lang(locale: str) -> str:
    return normalize_locale(locale) or "ja"


def person(ref: MemberRef) -> Person:
    """A member as a message names them."""
    return Person(ref.platform_user_id, ref.display_name)


def thanks_message(view: ThanksView, locale: str, tz: str = "UTC") -> ThanksMessage:
    """A thanks as posted, with its 👏 button."""
    lang = _lang(locale)
    return ThanksMessage(
        locale=lang,
        thanks_id=view.id,
        title=translate(lang, "thanks.title", sender=view.sender.display_name),
        sender=person(view.sender),
        recipients=tuple(person(r) for r in view.recipients),
        values=tuple(ValueBadge(v.key, v.emoji, v.name(lang)) for v in view.values),
        message=view.message,
        clap_count=view.clap_count,
        clap_text=translate(lang, "thanks.claps", count=view.clap_count),
        sent_at=translate(lang, "time.in_zone", time=format_datetime(view.created_at, lang, tz), zone=tz),
        actions=(Action("clap", translate(lang, "thanks.clap_button"), {"thanks_id": str(view.id)}),),
        sent_at_utc=utc_instant(view.created_at),
        project=translate(lang, "thanks.project", key=view.project.key, name=view.project.name)
        if view.project else "",
    )


def leaderboard_message(board: Leaderboard, locale: str) -> LeaderboardMessage:
    """A leaderboard, ranked."""
    lang = _lang(locale)
    title = translate(lang, f"leaderboard.title.{board.direction.value}")
    period = translate(lang, f"period.{board.period.value}")
    subtitle = period if board.since is None else translate(lang, "leaderboard.since", period=period,
                                                            date=format_date(board.since, lang))
    if board.department:
        subtitle += " · " + board.department
    rows = tuple(
        LeaderboardRow(e.rank, Person(e.platform_user_id, e.display_name), e.count,
                       translate(lang, "leaderboard.count", count=e.count), e.department)
        for e in board.entries
    )
    return LeaderboardMessage(lang, title, subtitle, rows, translate(lang, "leaderboard.empty"))


def values_message(values: Sequence[ValueRef], locale: str) -> ValuesMessage:
    """The active values, with both names."""
    lang = _lang(locale)
    lines = tuple(
        ValueLine(v.key, v.emoji, (v.name_ja if lang == "ja" else v.name_en)
                  + ("" if v.active else " " + translate(lang, "values.archived")),
                  v.name_en if lang == "ja" else v.name_ja,
                  (v.description_ja or v.description_en) if lang == "ja" else (v.description_en or v.description_ja))
        for v in values
    )
    return ValuesMessage(lang, translate(lang, "values.title"), lines, translate(lang, "values.hint"))


def help_message(platform: str, locale: str, *, topic: str | None = None, admin: bool = False) -> HelpMessage:
    """How to use Kizuna on ``platform``: its slash commands on Discord, else the text grammar
    (``topic``: one command's family; admins also see the admin commands)."""
    lang = _lang(locale)
    if platform == "discord":
        lines = tuple(HelpLine(translate(lang, cmd), translate(lang, mid)) for cmd, mid in DISCORD_HELP)
    else:
        lines = tuple(HelpLine(e.usage, e.description) for e in help_entries(lang, topic, admin=admin))
    return HelpMessage(lang, translate(lang, "help.title"), translate(lang, "help.intro"), lines)


def error_message(error: KizunaError, locale: str) -> ErrorMessage:
    """A broken rule, explained."""
    lang = _lang(locale)
    return ErrorMessage(lang, error.localized(lang))


def notice_message(locale: str, message_id: str, **params: object) -> NoticeMessage:
    """A short localised confirmation."""
    lang = _lang(locale)
    return NoticeMessage(lang, translate(lang, message_id, **params))


def recipient_notification(view: ThanksView, locale: str, tz: str = "UTC") -> ThanksMessage:
    """The 1:1 message a recipient gets: the same thanks, titled for them."""
    lang = _lang(locale)
    base = thanks_message(view, lang, tz)
    return ThanksMessage(
        locale=lang, thanks_id=base.thanks_id,
        title=translate(lang, "thanks.notify_title", sender=view.sender.display_name),
        sender=base.sender, recipients=base.recipients, values=base.values, message=base.message,
        clap_count=base.clap_count, clap_text=base.clap_text, sent_at=base.sent_at, actions=(),
        sent_at_utc=base.sent_at_utc,
    )
