"""Every surface answers the same command the same way.

One table of steps; each step is said in the console, typed in Teams (a Bot Framework activity into
the real app) and sent from Discord (a signed interaction into the same app). After each step the
three workspaces must hold the same state, and each surface must have told the person the same
thing. Nothing here knows how a surface parses: it speaks each platform's own protocol.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from nacl.signing import SigningKey

from adapters.console import ConsoleSession
from adapters.discord import DiscordAdapter, wire
from adapters.teams.botframework import testing as t
from adapters.teams.botframework.adapter import TeamsAdapter
from cards.model import Message
from cards.text import render_text
from core.config import Settings
from core.meetings.models import Meeting, Rsvp
from core.mixers.models import Mixer, MixerParticipant
from core.models import Clap, Department, Member, Thanks, Value, Workspace
from core.projects.models import Project
from kizuna.server import build_app
from tests.discord.kit import APP_ID, Discord, FakeDiscord
from tests.teams.cards import no_sleep_policy

# The same three people on every surface.
TEAMS = {"alice": t.ALICE, "bob": t.BOB, "carol": t.CAROL, "dave": t.User("29:dave", "Dave", "aad-dave")}
DISCORD = {"alice": "1001", "bob": "1002", "carol": "1003", "dave": "1004"}


@dataclass
class Step:
    """One thing a person does, as each surface expresses it, and what they must be told."""

    name: str
    text: str  # the console and Teams line; ``@bob`` is a person
    discord: Callable[[Discord, str], dict[str, Any]]  # (the kit, who) → the interaction
    says: str  # what every surface's answer contains
    who: str = "alice"
    refused: bool = False


def slash(name: str, *options: tuple[str, int, Any], sub: str | None = None,
          people: tuple[str, ...] = ()) -> Callable[[Discord, str], dict[str, Any]]:
    """A Discord slash command (optionally a sub-command) with options; ``people`` are resolved users."""

    def build(kit: Discord, who: str) -> dict[str, Any]:
        opts = [{"name": n, "type": k, "value": v} for n, k, v in options]
        if sub is not None:
            opts = [{"name": sub, "type": wire.OPT_SUB_COMMAND, "options": opts}]
        resolved = kit.resolved(*(DISCORD[p] for p in people)) if people else None
        return kit.command(name, opts, resolved=resolved, user=DISCORD[who], admin=who == "alice")

    return build


def clap_button(kit: Discord, who: str) -> dict[str, Any]:
    """Pressing 👏 under the workspace's latest thanks (``{thanks}``)."""
    return kit.click("kizuna:clap:thanks_id={thanks}:en", user=DISCORD[who])


def user(name: str) -> str:
    return DISCORD[name]


STEPS = [
    Step("thanks", "thanks @bob @carol for the release notes #teamwork",
         slash("thanks", ("user", wire.OPT_USER, user("bob")), ("message", wire.OPT_STRING, "for the release notes"),
               ("value", wire.OPT_STRING, "teamwork"), ("user2", wire.OPT_USER, user("carol")),
               people=("bob", "carol")),
         "for the release notes"),
    Step("self-thanks is refused", "thanks @bob me",
         slash("thanks", ("user", wire.OPT_USER, user("bob")), ("message", wire.OPT_STRING, "me"), people=("bob",)),
         "cannot thank yourself", who="bob", refused=True),
    Step("clap", "clap {thanks}", clap_button, "1 clap", who="dave"),
    Step("clap again", "clap {thanks}", clap_button, "already clapped", who="dave", refused=True),
    Step("leaderboard", "leaderboard all",
         slash("leaderboard", ("period", wire.OPT_STRING, "all")), "1. bob"),
    Step("values", "values", slash("values"), "Teamwork"),
    Step("a member cannot change settings", "settings daily_limit 3",
         slash("kizuna", ("setting", wire.OPT_STRING, "daily_limit"), ("new-value", wire.OPT_STRING, "3"),
               sub="settings"), "Only an admin", who="bob", refused=True),
    Step("change a setting", "settings daily_limit 7",
         slash("kizuna", ("setting", wire.OPT_STRING, "daily_limit"), ("new-value", wire.OPT_STRING, "7"),
               sub="settings"), "Settings saved"),
    Step("add a value", "values add kaizen Kaizen 改善 🔧",
         slash("kizuna", ("key", wire.OPT_STRING, "kaizen"), ("name-en", wire.OPT_STRING, "Kaizen"),
               ("name-ja", wire.OPT_STRING, "改善"), ("emoji", wire.OPT_STRING, "🔧"), sub="values-add"),
         "#kaizen"),
    Step("rename a value", 'values rename kaizen en="Continuous improvement"',
         slash("kizuna", ("value", wire.OPT_STRING, "kaizen"), ("name-en", wire.OPT_STRING, "Continuous improvement"),
               sub="values-rename"), "#kaizen"),
    Step("reorder values", "values reorder kaizen growth",
         slash("kizuna", ("order", wire.OPT_STRING, "kaizen growth"), sub="values-reorder"), "Continuous improvement"),
    Step("archive a value", "values archive kaizen",
         slash("kizuna", ("value", wire.OPT_STRING, "kaizen"), sub="values-archive"), "#kaizen"),
    Step("put someone in a department", "department @bob Sales",
         slash("kizuna", ("member", wire.OPT_USER, user("bob")), ("department", wire.OPT_STRING, "Sales"),
               sub="department-set", people=("bob",)), "Sales"),
    Step("put someone else in another", "department @carol Engineering",
         slash("kizuna", ("member", wire.OPT_USER, user("carol")), ("department", wire.OPT_STRING, "Engineering"),
               sub="department-set", people=("carol",)), "Engineering"),
    Step("rename a department", "department rename Sales Field Sales",
         slash("kizuna", ("department", wire.OPT_STRING, "Sales"), ("new-name", wire.OPT_STRING, "Field Sales"),
               sub="department-rename"), "Field Sales"),
    Step("merge departments", "department merge Engineering Field Sales",
         slash("kizuna", ("from", wire.OPT_STRING, "Engineering"), ("into", wire.OPT_STRING, "Field Sales"),
               sub="department-merge"), "merged"),
    Step("grant admin", "admin grant @bob",
         slash("kizuna", ("member", wire.OPT_USER, user("bob")), sub="admin-grant", people=("bob",)), "now an admin"),
    Step("revoke admin", "admin revoke @bob",
         slash("kizuna", ("member", wire.OPT_USER, user("bob")), sub="admin-revoke", people=("bob",)),
         "no longer an admin"),
    Step("schedule a meeting",
         'meeting create "Sales x Eng" start=2030-12-02 10:00 repeat=weekly remind=1d departments=Field Sales',
         slash("meeting", ("title", wire.OPT_STRING, "Sales x Eng"), ("start", wire.OPT_STRING, "2030-12-02 10:00"),
               ("repeat", wire.OPT_STRING, "weekly"), ("remind", wire.OPT_STRING, "1d"),
               ("departments", wire.OPT_STRING, "Field Sales"), ("event", wire.OPT_BOOLEAN, False), sub="create"),
         "Sales x Eng"),
    Step("skip a date", "meeting skip {meeting} 2030-12-09",
         slash("meeting", ("meeting", wire.OPT_STRING, "{meeting}"), ("date", wire.OPT_STRING, "2030-12-09"),
               sub="skip"),
         "Sales x Eng"),
    Step("a member cannot change the digest", "digest monthly",
         slash("kizuna", ("schedule", wire.OPT_STRING, "monthly"), sub="digest"), "Only an admin", who="bob",
         refused=True),
    Step("post the digest monthly", "digest monthly",
         slash("kizuna", ("schedule", wire.OPT_STRING, "monthly"), sub="digest"), "1st of every month"),
    Step("a personal monthly recap", "recap on", slash("recap", ("switch", wire.OPT_STRING, "on")),
         "personal recap", who="carol"),
    Step("no thanks prompt after this meeting", "meeting edit {meeting} thanks-prompt=off",
         slash("meeting", ("meeting", wire.OPT_STRING, "{meeting}"), ("thanks-prompt", wire.OPT_BOOLEAN, False),
               sub="edit"),
         "no thanks prompt"),
    Step("the setup checklist", "setup", slash("kizuna", sub="setup"), "Steps left: 1 of 4"),
    Step("a member cannot cancel someone else's meeting", "meeting cancel {meeting}",
         slash("meeting", ("meeting", wire.OPT_STRING, "{meeting}"), sub="cancel"), "organiser", who="carol",
         refused=True),
    Step("a group size out of range is refused", "mixer create Lunch start=2030-12-04 12:00 size=7",
         slash("mixer", ("name", wire.OPT_STRING, "Lunch"), ("start", wire.OPT_STRING, "2030-12-04 12:00"),
               ("size", wire.OPT_STRING, "7"), sub="create"), "from 2 to 6", refused=True),
    Step("create a mixer", "mixer create Lunch start=2030-12-04 12:00 size=3 place=Tokyo",
         slash("mixer", ("name", wire.OPT_STRING, "Lunch"), ("start", wire.OPT_STRING, "2030-12-04 12:00"),
               ("size", wire.OPT_INTEGER, 3), ("place", wire.OPT_STRING, "Tokyo"), sub="create"), "groups of 3"),
    Step("join a mixer", "mixer join {mixer}", slash("mixer", ("mixer", wire.OPT_STRING, "{mixer}"), sub="join"),
         "You joined", who="bob"),
    Step("joining twice is refused", "mixer join {mixer}",
         slash("mixer", ("mixer", wire.OPT_STRING, "{mixer}"), sub="join"), "already joined", who="bob", refused=True),
    Step("pausing to a past date is refused", "mixer pause {mixer} 2020-01-01",
         slash("mixer", ("mixer", wire.OPT_STRING, "{mixer}"), ("until", wire.OPT_STRING, "2020-01-01"), sub="pause"),
         "in the past", who="bob", refused=True),
    Step("skip the next round", "mixer skip {mixer}",
         slash("mixer", ("mixer", wire.OPT_STRING, "{mixer}"), sub="skip"), "skip the next round", who="bob"),
    Step("a member cannot invite a department", "mixer invite {mixer} Field Sales",
         slash("mixer", ("mixer", wire.OPT_STRING, "{mixer}"), ("department", wire.OPT_STRING, "Field Sales"),
               sub="invite"), "Only an admin", who="carol", refused=True),
    Step("an admin invites a department", "mixer invite {mixer} Field Sales",
         slash("mixer", ("mixer", wire.OPT_STRING, "{mixer}"), ("department", wire.OPT_STRING, "Field Sales"),
               sub="invite"), "sent to Field Sales: 1"),
    Step("list the mixers", "mixer list", slash("mixer", sub="list"), "#"),
    Step("start a project", 'project create launch "Launch 2027" departments=Field Sales @bob',
         slash("project", ("key", wire.OPT_STRING, "launch"), ("name", wire.OPT_STRING, "Launch 2027"),
               ("departments", wire.OPT_STRING, "Field Sales"), ("member", wire.OPT_USER, user("bob")),
               sub="create", people=("bob",)), "Project +launch created"),
    Step("thank within a project", "thanks @carol for the plan +Launch",
         slash("thanks", ("user", wire.OPT_USER, user("carol")), ("message", wire.OPT_STRING, "for the plan"),
               ("project", wire.OPT_STRING, "Launch"), people=("carol",)), "+launch", who="bob"),
    Step("join a project", "project join launch", slash("project", ("project", wire.OPT_STRING, "launch"),
                                                        sub="join"), "3 members", who="carol"),
    Step("a member cannot close the owner's project", "project close launch",
         slash("project", ("project", wire.OPT_STRING, "launch"), sub="close"), "Only the owner", who="carol",
         refused=True),
    Step("close a project", "project close launch",
         slash("project", ("project", wire.OPT_STRING, "launch"), sub="close"), "1 thank-you within the project"),
    Step("a closed project takes no thanks", "thanks @carol late +launch",
         slash("thanks", ("user", wire.OPT_USER, user("carol")), ("message", wire.OPT_STRING, "late"),
               ("project", wire.OPT_STRING, "launch"), people=("carol",)), "is closed", who="bob", refused=True),
]


async def state(workspace: Workspace) -> dict[str, Any]:
    """What a workspace holds, in words every platform shares (names, not ids)."""
    members = {m.id: m for m in await Member.filter(workspace_id=workspace.id)}
    departments = {d.id: d.name for d in await Department.filter(workspace_id=workspace.id)}

    def name(member_id: int) -> str:
        return members[member_id].display_name.casefold()

    thanks = []
    for row in await Thanks.filter(workspace_id=workspace.id).order_by("id").prefetch_related(
            "recipients", "value_links__value", "project"):
        thanks.append((name(row.sender_id), sorted(name(r.recipient_id) for r in row.recipients), row.message,
                       [v.value.key for v in sorted(row.value_links, key=lambda link: link.position)],
                       row.project.key if row.project else None))
    projects = [(p.key, p.name, p.status, name(p.owner_id) if p.owner_id else None,
                 sorted(name(m.member_id) for m in p.memberships))
                for p in await Project.filter(workspace_id=workspace.id).order_by("id").prefetch_related(
                    "memberships")]
    thanks_ids = {row.id for row in await Thanks.filter(workspace_id=workspace.id)}
    meetings = [(m.title, m.status, m.rrule, sorted(departments.get(d, "?") for d in m.department_ids or []),
                 m.thanks_prompt, m.next_prompt_at)
                for m in await Meeting.filter(workspace_id=workspace.id).order_by("id")]
    return {
        "settings": (workspace.daily_limit, workspace.max_message_length, workspace.leaderboard_enabled,
                     workspace.value_required, workspace.default_locale),
        "values": [(v.key, v.name_en, v.name_ja, v.emoji, v.active)
                   for v in await Value.filter(workspace_id=workspace.id).order_by("position", "id")],
        "departments": sorted((departments[m.department_id], name(m.id)) for m in members.values()
                              if m.department_id in departments),
        "admins": sorted(name(m.id) for m in members.values() if m.is_admin),
        "digest": workspace.digest_schedule,
        "recaps": sorted(name(m.id) for m in members.values() if m.recap_enabled),
        "thanks": thanks,
        "meetings": meetings,
        "projects": projects,
        "rsvps": await Rsvp.filter(meeting__workspace_id=workspace.id).count(),
        "mixers": [(x.name, x.group_size, x.place, x.rrule, x.next_round_occurrence,
                    sorted((name(p.member_id), p.paused_until, p.skip_occurrence)
                           for p in await MixerParticipant.filter(mixer_id=x.id)))
                   for x in await Mixer.filter(workspace_id=workspace.id).order_by("id")],
        "claps": [(name(c.member_id), c.thanks_id in thanks_ids)
                  for c in await Clap.filter(thanks__workspace_id=workspace.id).order_by("id")],
    }


def _texts(node: Any) -> list[str]:
    """Every string in a card or a Discord payload."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _texts(v)]
    if isinstance(node, list):
        return [s for v in node for s in _texts(v)]
    return []


@dataclass
class Surfaces:
    console: dict[str, ConsoleSession]
    client: TestClient
    connector: t.FakeBotConnector
    discord: Discord
    told: dict[str, list[str]] = field(default_factory=dict)

    @staticmethod
    async def ids(platform: str, text: str) -> str:
        """``{meeting}`` and ``{thanks}`` become the workspace's latest (ids are numbered across workspaces)."""
        meeting = await Meeting.filter(workspace__platform=platform).order_by("-id").first()
        thanks = await Thanks.filter(workspace__platform=platform).order_by("-id").first()
        mixer = await Mixer.filter(workspace__platform=platform).order_by("-id").first()
        text = text.replace("{mixer}", str(mixer.id if mixer else 0))
        return text.replace("{meeting}", str(meeting.id if meeting else 0)).replace(
            "{thanks}", str(thanks.id if thanks else 0))

    async def run(self, step: Step) -> dict[str, str]:
        """The step on every surface; what each answered, as one text. ``{meeting}`` in a step is the
        workspace's latest meeting."""
        answers: dict[str, str] = {}
        reply: Message | None = await self.console[step.who].handle(await self.ids("console", step.text))
        answers["console"] = render_text(reply) if reply is not None else ""
        self.connector.clear()
        mentioned = [TEAMS[word[1:]] for word in step.text.split() if word.startswith("@")]
        text = await self.ids("teams", step.text)
        for person in mentioned:
            text = text.replace(f"@{person.name.casefold()}", person.tag)
        response = await self.client.post("/api/messages", json=t.message(self.connector.url, TEAMS[step.who], text,
                                                                          mentioned, locale="en-US"))
        assert response.status == 201, await response.text()
        answers["teams"] = "\n".join(s for a in self.connector.activities() for s in _texts(a.card()))
        interaction = await self.ids("discord", json.dumps(step.discord(self.discord, step.who)))
        answered = await self.discord.send(json.loads(interaction))
        discord_text = "\n".join(_texts(answered.get("data", {})))
        for name, user_id in DISCORD.items():
            discord_text = discord_text.replace(f"<@{user_id}>", name)
        answers["discord"] = discord_text.replace("**", "").replace("\\", "")
        answers["teams"] = re.sub(r"</?at>", "", answers["teams"])
        return answers


@pytest_asyncio.fixture
async def surfaces(db: Any) -> AsyncIterator[Surfaces]:
    fake = FakeDiscord()
    fake_app = web.Application()
    fake_app.router.add_route("*", "/{tail:.*}", fake.handle)
    fake_server = TestServer(fake_app, host="127.0.0.1")
    await fake_server.start_server()
    fake.url = str(fake_server.make_url("/api/v10"))
    key = SigningKey.generate()
    settings = Settings(database_url="sqlite://:memory:", environ={
        "DISCORD_APPLICATION_ID": APP_ID, "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
        "DISCORD_BOT_TOKEN": "test-bot-token", "DISCORD_API_BASE": fake.url})
    connector = t.FakeBotConnector().start()
    teams = TeamsAdapter(settings, retry=no_sleep_policy())
    discord_adapter = DiscordAdapter(settings)
    app = build_app(settings, adapters=[teams, discord_adapter], manage_database=False, run_workers=False)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    kit = Discord(client, key, discord_adapter)
    console = {name: await ConsoleSession.open("demo", name, "en") for name in DISCORD}
    # Everyone is known on every surface (names compare case-insensitively: the console knows people by
    # their id, the platforms by their display names), and Alice administers each workspace.
    for person in TEAMS.values():
        await client.post("/api/messages", json=t.message(connector.url, person, "help", locale="en-US"))
    for name in DISCORD:
        await kit.send(kit.command("help", user=DISCORD[name]))
    for workspace in await Workspace.all():
        workspace.default_locale = "en"
        await workspace.save()
        await Member.filter(workspace_id=workspace.id).update(is_admin=False)
        members = await Member.filter(workspace_id=workspace.id)
        for member in members:
            member.is_admin = member.display_name.casefold() == "alice"
            await member.save()
    for session in console.values():
        session.member = await Member.get(id=session.member.id)
    try:
        yield Surfaces(console, client, connector, kit)
    finally:
        await client.close()
        connector.stop()
        await fake_server.close()


async def test_every_surface_answers_every_command_the_same_way(surfaces):
    workspaces = {w.platform: w for w in await Workspace.all()}
    assert set(workspaces) == {"console", "teams", "discord"}
    for step in STEPS:
        answers = await surfaces.run(step)
        for surface, answer in answers.items():
            assert step.says.casefold() in answer.casefold(), f"{step.name}: {surface} answered {answer!r}"
            assert "⚠️" not in answer or step.refused, f"{step.name}: {surface} refused: {answer!r}"
        states = {platform: await state(await Workspace.get(id=w.id)) for platform, w in workspaces.items()}
        assert states["teams"] == states["console"], f"after {step.name!r}: Teams differs from the console"
        assert states["discord"] == states["console"], f"after {step.name!r}: Discord differs from the console"
    final = states["console"]
    assert final["thanks"] == [("alice", ["bob", "carol"], "for the release notes", ["teamwork"], None),
                               ("bob", ["carol"], "for the plan", [], "launch")]
    assert final["projects"] == [("launch", "Launch 2027", "closed", "alice", ["alice", "bob", "carol"])]
    assert final["departments"] == [("Field Sales", "bob"), ("Field Sales", "carol")]
    assert final["admins"] == ["alice"]
    assert final["settings"][0] == 7
    assert final["values"][0] == ("kaizen", "Continuous improvement", "改善", "🔧", False)
    assert final["meetings"] == [("Sales x Eng", "active", final["meetings"][0][2], ["Field Sales"], False, None)]
    assert final["mixers"] == [("Lunch", 3, "Tokyo", final["mixers"][0][3], "2030-12-04T12:00",
                                [("bob", None, "2030-12-04T12:00")])]
    assert json.dumps(final, ensure_ascii=False, default=str)  # plain data
