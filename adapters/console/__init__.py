"""The console adapter: Kizuna in a terminal, with the Teams words and ``@name`` for a person."""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.console.adapter import create_adapter as create_adapter
from cards.answers import answer_info_command
from cards.build import error_message, notice_message, thanks_message
from cards.model import Message
from core.commands import CommandKind, parse_command, split_tags
from core.errors import KizunaError
from core.i18n import resolve_locale
from core.models import Member, Workspace
from core.services.members import Person, ensure_member, ensure_members
from core.services.thanks import clap, give_thanks, unclap
from core.services.workspaces import ensure_workspace

PLATFORM = "console"
_MENTION = re.compile(r"(?:(?<=\s)|^)[@＠]([^\s@＠#＃,、。!！?？]+)")


@dataclass
class ConsoleSession:
    """One person typing in one console workspace."""

    workspace: Workspace
    member: Member
    locale: str

    @classmethod
    async def open(cls, workspace_name: str, user: str, locale: str | None = None) -> ConsoleSession:
        """The session for ``user`` in workspace ``workspace_name`` (both created on first use)."""
        workspace = await ensure_workspace(PLATFORM, workspace_name)
        member = await ensure_member(workspace, user, display_name=user, locale=locale)
        return cls(workspace, member, resolve_locale(locale or member.locale, workspace.default_locale))

    async def handle(self, line: str) -> Message | None:
        """The reply to one line (None for an empty line)."""
        try:
            return await self._handle(line)
        except KizunaError as error:
            return error_message(error, self.locale)

    async def _handle(self, line: str) -> Message | None:
        command = parse_command(line)
        if command.kind is CommandKind.EMPTY:
            return None
        if command.kind is CommandKind.THANKS:
            return await self._thanks(command.rest)
        if command.kind in (CommandKind.CLAP, CommandKind.UNCLAP):
            return await self._clap(command.kind is CommandKind.CLAP, command.rest)
        answer = await answer_info_command(self.workspace, self.member, command, self.locale, PLATFORM)
        if answer is not None:
            return answer
        if command.kind is CommandKind.MEETING:
            handler = _meeting_handler()
            if handler is not None:
                reply: Message = await handler(self.workspace, self.member, command.rest, self.locale)
                return reply
        return notice_message(self.locale, "error.unknown_command", command=line.strip()[:50])

    async def _clap(self, add: bool, rest: str) -> Message:
        """``clap 12`` / ``unclap 12`` (``拍手 12``): the thanks number shown after ``#`` on a thanks."""
        number = rest.strip().lstrip("#＃")
        if not number.isdecimal():
            return notice_message(self.locale, "error.unknown_command", command=f"{rest.strip()[:40]}")
        result = await (clap if add else unclap)(self.workspace, int(number), self.member)
        if add and not result.changed:
            return notice_message(self.locale, "notice.already_clapped")
        return thanks_message(result.view, self.locale, self.workspace.timezone)

    async def _thanks(self, rest: str) -> Message:
        names = list(dict.fromkeys(_MENTION.findall(rest)))
        recipients = await ensure_members(self.workspace, [Person(name, name) for name in names])
        text, tags = split_tags(_MENTION.sub("", rest))
        result = await give_thanks(self.workspace, self.member, recipients, text, tags)
        return thanks_message(result.view, self.locale, self.workspace.timezone)


MeetingHandler = Callable[[Workspace, Member, str, str], Awaitable[Message]]


def _meeting_handler() -> MeetingHandler | None:
    """The meetings feature's console handler, when it is installed."""
    try:
        module = importlib.import_module("adapters.console.meetings")
    except ModuleNotFoundError:
        return None
    handler: MeetingHandler | None = getattr(module, "handle_meeting_command", None)
    return handler

