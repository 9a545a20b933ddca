"""Project fixtures: console sessions of one workspace with people in two departments."""

from __future__ import annotations

import pytest_asyncio

from adapters.console import ConsoleSession
from cards.text import render_text
from core.models import Member


class People:
    """The console sessions of one workspace: alice is an admin; bob (Sales) and carol (Engineering) are not."""

    def __init__(self, sessions: dict[str, ConsoleSession]) -> None:
        self.sessions = sessions

    async def say(self, who: str, line: str) -> str:
        return render_text(await self.sessions[who].handle(line))


@pytest_asyncio.fixture
async def people(db) -> People:
    sessions = {who: await ConsoleSession.open("demo", who, lang)
                for who, lang in (("alice", "en"), ("bob", "ja"), ("carol", "en"), ("dave", "en"))}
    await Member.filter(platform_user_id="alice").update(is_admin=True)
    sessions["alice"] = await ConsoleSession.open("demo", "alice", "en")
    for line in ("department @bob Sales", "department @carol Engineering", "department @dave Engineering"):
        await sessions["alice"].handle(line)
    # Everyone's session reads their department as it is now.
    return People({who: await ConsoleSession.open("demo", who, s.locale) for who, s in sessions.items()})
