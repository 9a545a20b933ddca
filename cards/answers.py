"""The replies every text adapter (Teams, console) gives alike to the informational commands."""

from __future__ import annotations

from cards.build import help_message, leaderboard_message, notice_message, values_message
from cards.model import Message
from core.commands import CommandKind, ParsedCommand, parse_leaderboard_options, parse_switch
from core.models import Member, Workspace
from core.services.members import get_department, set_notifications
from core.services.stats import leaderboard
from core.services.values import list_values


async def answer_info_command(workspace: Workspace, member: Member, command: ParsedCommand, locale: str,
                              platform: str) -> Message | None:
    """``leaderboard``, ``values``, ``notifications on|off`` and ``help``; None for any other command."""
    if command.kind is CommandKind.LEADERBOARD:
        options = parse_leaderboard_options(command.rest)
        department = await get_department(workspace, options.department) if options.department else None
        board = await leaderboard(workspace, options.period, options.direction, department=department)
        return leaderboard_message(board, locale)
    if command.kind is CommandKind.VALUES:
        return values_message(await list_values(workspace), locale)
    if command.kind is CommandKind.NOTIFICATIONS:
        switch = parse_switch(command.rest)
        if switch is None:
            return help_message(platform, locale)
        await set_notifications(member, switch)
        return notice_message(locale, "notice.notifications_on" if switch else "notice.notifications_off")
    if command.kind in (CommandKind.HELP, CommandKind.EMPTY):
        return help_message(platform, locale)
    return None
