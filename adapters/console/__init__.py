"""The console adapter: Kizuna in a terminal. It only translates: a typed line → the text grammar →
``execute`` → the outcome's message. ``@name`` names a person (console ids are case-insensitive)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.console.adapter import create_adapter as create_adapter
from cards.build import error_message
from cards.model import Message
from cards.outcomes import Audience, render_outcome
from core.app.execute import Context, execute
from core.app.grammar import mention_token, parse, without_markers
from core.errors import KizunaError
from core.i18n import resolve_locale
from core.models import Member, Workspace
from core.services.members import Person, ensure_member
from core.services.workspaces import ensure_workspace

PLATFORM = "console"
# The channel console meetings remind in, and the console's own name (it cannot be thanked).
CONSOLE_CHANNEL = "console"
BOT_NAME = "kizuna"
_MENTION = re.compile(r"(?:(?<=\s)|^)[@＠]([^\s@＠#＃,、。!！?？]+)")


def console_id(name: str) -> str:
    """A console person's id: what they are called, case-insensitively (``@Carol`` is ``carol``)."""
    return name.strip().casefold()


def read_mentions(line: str) -> tuple[str, list[Person]]:
    """``thanks @Bob @carol …`` → the line with each mention replaced by its grammar token, and the people."""
    people: list[Person] = []

    def token(match: re.Match[str]) -> str:
        name = console_id(match.group(1))
        people.append(Person(name, is_bot=name == BOT_NAME))
        return mention_token(len(people) - 1)

    return _MENTION.sub(token, without_markers(line)), people


@dataclass
class ConsoleSession:
    """One person typing in one console workspace."""

    workspace: Workspace
    member: Member
    locale: str
    # Where people reach Kizuna (dashboard sign-in links start with it).
    public_url: str = ""

    @classmethod
    async def open(cls, workspace_name: str, user: str, locale: str | None = None, *,
                   public_url: str = "") -> ConsoleSession:
        """The session for ``user`` in workspace ``workspace_name`` (both created on first use)."""
        workspace = await ensure_workspace(PLATFORM, workspace_name)
        # No display name: a name set by an admin or an import is kept.
        member = await ensure_member(workspace, console_id(user), locale=locale)
        return cls(workspace, member, resolve_locale(locale or member.locale, workspace.default_locale), public_url)

    async def handle(self, line: str) -> Message | None:
        """The reply to one line (None for an empty line)."""
        if not line.strip():
            return None
        text, people = read_mentions(line)
        try:
            command = parse(text, people)
            if command.reads_fresh():
                self.member = await ensure_member(self.workspace, self.member.platform_user_id)
            context = Context(self.workspace, self.member, self.locale, PLATFORM, channel=CONSOLE_CHANNEL,
                              public_url=self.public_url)
            outcome = await execute(context, command)
        except KizunaError as error:
            return error_message(error, self.locale)
        return render_outcome(outcome, Audience(self.locale, self.workspace.timezone, PLATFORM))
