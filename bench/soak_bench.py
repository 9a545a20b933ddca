"""Soak: mixed Teams and Discord traffic at a steady rate for minutes; errors, memory growth, latency drift.

Three processes. The fakes: a Bot Connector and a Discord REST API on loopback, which also tell the
load generator what Kizuna posted to them. The real ``kizuna serve`` (Teams in emulator mode and
Discord, a fresh SQLite file or PostgreSQL database, its reminder scheduler and outbox running).
And this process, an open-loop load generator: requests start at a fixed rate whether or not earlier
ones have been answered, and each one's latency counts from when it was due to start, so a stall
shows up as latency instead of quietly lowering the rate.

The mix, by weight: Teams thanks 25, Discord /thanks 25, 👏 on an earlier thanks 12 on each
platform (a Teams ``adaptiveCard/action`` invoke, a Discord button), leaderboards 8 on each
platform (week, month, all time; received and sent). Besides that, every ``--meeting-every``
seconds a one-off meeting is scheduled, alternately on Teams and on Discord, starting two to three
minutes later with reminders 2 and 1 minute before it: they come due during the run, the server's
scheduler and outbox send them, and the fakes count them.

An error is: an HTTP status other than 2xx, no answer within 10 s, an answer that is not what the
request asks for (a refusal instead of a thanks, a leaderboard or clap that did not come back), a
Teams reply that never reached the connector, a reminder due but not delivered or delivered twice,
a message the Discord fake's validator rejects, or an ``error`` line in the server's log.

Verdict, exit status 1 if one fails: no errors; resident memory (VmRSS of the server process) at
its highest after warm-up less than 10 % above its value at the end of warm-up; the last minute's
p99 latency at most 20 % above the first minute's.

    .venv/bin/python -m bench soak        # part of `make bench`: 30 s warm-up + 5 minutes, ~6 minutes in all
    .venv/bin/python -m bench.soak_bench [--minutes 5] [--warmup 30] [--rate 40] [--meeting-every 10]
        [--postgres postgres://postgres@127.0.0.1:5432/test]   # a fresh PostgreSQL database instead of SQLite

``KIZUNA_BENCH_SOAK_MINUTES``, ``KIZUNA_BENCH_SOAK_WARMUP`` and ``KIZUNA_BENCH_SOAK_RATE`` change the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
from nacl.signing import SigningKey

from bench.harness import (
    ROOT,
    cpu_seconds,
    free_port,
    fresh_database,
    is_posted_thanks,
    percentile,
    rss_bytes,
    signed,
    stop,
)

APP_ID = "777000000000000001"
GUILD = "900000000000000001"
DISCORD_CHANNEL = "555000000000000001"
DISCORD_MEETINGS = "555000000000000009"  # reminders of the Discord meetings go here, and nothing else
TEAMS_CHANNEL = "19:soak@thread.tacv2"
TEAMS_MEETINGS = "19:soak-meetings@thread.tacv2"
PEOPLE = 1000  # per platform: the daily limit (20) is per sender, so spread the thanks like a real workspace
TIMEOUT = 10.0
REMINDERS = (2, 1)  # minutes before the start
# A meeting starts on the first whole minute at least this long after it is scheduled: its first
# reminder comes due 5 to 64 s later, its second a minute after that.
MEETING_LEAD = 60 * max(REMINDERS) + 5
TITLE = re.compile(r"Soak meeting ([td]\d+)")
MIX = (("teams thanks", 25), ("discord thanks", 25), ("teams clap", 12), ("discord clap", 12),
       ("teams leaderboard", 8), ("discord leaderboard", 8))
LEADERBOARDS = (("month", "received"), ("week", "received"), ("all", "received"), ("month", "sent"))


# ---- the fakes (their own process) ------------------------------------------------------------------

class Watcher:
    """Reads what Kizuna posted to the fakes, for ``GET /soak/news`` (what is new since the last call)."""

    def __init__(self, connector: Any, discord: Any) -> None:
        self.connector = connector
        self.discord = discord
        self.seen_teams = 0
        self.seen_discord = 0
        self.problems = 0

    def news(self) -> dict[str, Any]:
        from adapters.teams.botframework.testing import adaptive_cards

        replies: list[list[Any]] = []
        reminders: list[str] = []
        posted = self.connector.requests[self.seen_teams:]
        self.seen_teams += len(posted)
        for request in posted:
            parts = request.path.split("/")
            if request.method != "POST" or len(parts) < 5 or parts[4] != "activities":
                continue
            conversation, reply_to = unquote(parts[3]), (parts[5] if len(parts) > 5 else None)
            text = json.dumps(request.body, ensure_ascii=False)
            if conversation == TEAMS_MEETINGS and reply_to is None:
                reminders += [f"teams:{m}" for m in set(TITLE.findall(text))]
            elif reply_to is not None:
                thanks_id = next((str(a["data"]["thanks_id"]) for card in adaptive_cards(request.body)
                                  for a in card.get("actions", []) if a.get("verb") == "clap"), None)
                replies.append([reply_to, thanks_id, text])
        made = self.discord.messages[self.seen_discord:]
        self.seen_discord += len(made)
        for message in made:
            if message["channel_id"] == DISCORD_MEETINGS:
                reminders += [f"discord:{m}" for m in set(TITLE.findall(json.dumps(message)))]
        problems = self.discord.problems[self.problems:] + self.connector.violations
        self.problems = len(self.discord.problems)
        return {"replies": replies, "reminders": reminders, "problems": problems,
                "discord_duplicates": self.discord.deduplicated}


async def serve_fakes() -> None:
    """Run both fakes until interrupted; print their URLs as one JSON line once they listen."""
    from aiohttp import web

    from adapters.teams.botframework.testing import FakeBotConnector
    from tests.discord.kit import FakeDiscord

    connector = FakeBotConnector().start()
    discord = FakeDiscord()
    watcher = Watcher(connector, discord)

    async def news(request: web.Request) -> web.Response:
        return web.json_response(watcher.news())

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/soak/news", news)
    app.router.add_route("*", "/{tail:.*}", discord.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"connector": connector.url, "discord": f"http://127.0.0.1:{port}"}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        connector.stop()


# ---- the load ---------------------------------------------------------------------------------------

@dataclass
class Sample:
    """One request: when it was due, how long it took, and what went wrong, if anything."""

    kind: str
    due: float  # seconds since the start of the run
    latency_ms: float = math.nan
    error: str | None = None


@dataclass
class Meeting:
    """A meeting the load scheduled, and the reminders it should bring."""

    name: str  # "t3": Teams, "d4": Discord
    due: list[float]  # wall-clock (time.time()) moments its reminders come due
    delivered: int = 0

    def due_by(self, moment: float) -> int:
        """How many of its reminders are due at ``moment`` (wall clock)."""
        return sum(d <= moment for d in self.due)


@dataclass
class Run:
    """Everything measured in one soak."""

    samples: list[Sample] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, CPU seconds)
    loadavg: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, 1-minute load)
    database_cpu: list[tuple[float, float]] = field(default_factory=list)  # PostgreSQL's backends, like ``cpu``
    meetings: dict[str, Meeting] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # errors not tied to one request
    discord_duplicates: int = 0
    late_starts: int = 0  # requests this generator started more than 100 ms after they were due
    wall_start: float = 0.0  # time.time() when the run started
    wall_end: float = 0.0  # … and when its last request was answered
    load_cpu: float = math.nan  # CPU seconds this process (the load generator) used meanwhile
    fakes_cpu: float = math.nan  # … and the fakes
    delivered: list[float] = field(default_factory=list)  # seconds since the start: a reminder reached a fake
    log_errors: list[str] = field(default_factory=list)


class Load:
    """Builds and sends the requests of the mix; keeps what later requests need (thanks to clap on)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, connector_url: str, key: SigningKey,
                 run: Run, seed: int = 7) -> None:
        self.session = session
        self.base = base
        self.connector_url = connector_url
        self.key = key
        self.run = run
        self.rng = random.Random(seed)
        self.serial = itertools.count(1)
        self.stamp = time.time_ns() // 1_000_000
        # Teams messages waiting for their reply at the connector: activity id → (sample, expected, people).
        self.pending: dict[str, tuple[Sample, str, tuple[int, int]]] = {}
        self.teams_thanks: list[tuple[str, int, int]] = []  # (thanks id, sender, recipient)
        self.discord_thanks: list[tuple[str, dict[str, Any], int, int]] = []  # (custom id, message, sender, rcpt)
        self.clapped: set[tuple[str, str, int]] = set()

    # -- people and payloads

    def pair(self) -> tuple[int, int]:
        sender = self.rng.randrange(PEOPLE)
        recipient = (sender + 1 + self.rng.randrange(PEOPLE - 1)) % PEOPLE
        return sender, recipient

    @staticmethod
    def teams_user(n: int) -> Any:
        from adapters.teams.botframework import testing as t

        return t.User(f"29:soak-{n}", f"Soak {n}", f"aad-soak-{n}")

    def activity_id(self) -> str:
        return f"soak-{self.stamp}-{next(self.serial)}"

    def interaction(self, kind: int, data: dict[str, Any], user: int, *, channel: str = DISCORD_CHANNEL,
                    message: dict[str, Any] | None = None) -> dict[str, Any]:
        uid = str(10_000 + user)
        payload: dict[str, Any] = {
            "id": str(1_400_000_000_000_000_000 + self.stamp % 10**9 * 10**6 + next(self.serial)),
            "application_id": APP_ID, "type": kind, "token": f"soak-{next(self.serial)}", "version": 1,
            "guild_id": GUILD, "guild_locale": "ja", "channel_id": channel, "channel": {"id": channel, "type": 0},
            "locale": "ja" if user % 2 else "en", "app_permissions": "0", "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD}, "context": 0, "data": data,
            "member": {"user": {"id": uid, "username": f"soak{uid}", "global_name": f"Soak {uid}"}, "roles": [],
                       "permissions": "1024", "nick": None, "joined_at": "2026-01-01T00:00:00+00:00"},
        }
        if message is not None:
            payload["message"] = message
        return payload

    # -- sending

    async def post(self, sample: Sample, path: str, started: float, check: Callable[[int, bytes], str | None],
                   **kwargs: Any) -> bytes | None:
        """POST, time it from ``started`` (when it was due), and record an error if there is one."""
        try:
            async with self.session.post(self.base + path, **kwargs) as response:
                body = await response.read()
                status = response.status
        except TimeoutError:
            sample.latency_ms = (time.monotonic() - started) * 1000
            sample.error = "timeout"
            return None
        except aiohttp.ClientError as error:
            sample.latency_ms = (time.monotonic() - started) * 1000
            sample.error = f"connection: {type(error).__name__}"
            return None
        sample.latency_ms = (time.monotonic() - started) * 1000
        if not 200 <= status < 300:
            sample.error = f"HTTP {status}"
            return None
        if path.endswith("/interactions") and _deferred(body):
            # Kizuna works on and completes it later, as Discord allows: too slow to count as answered.
            sample.error = "deferred (not answered within 2 s)"
            return None
        sample.error = check(status, body)
        return body if sample.error is None else None

    async def teams_message(self, sample: Sample, started: float, text: str, expected: str,
                            people: tuple[int, int], mentioned: tuple[int, ...] = (),
                            conversation: str = TEAMS_CHANNEL) -> None:
        from adapters.teams.botframework import testing as t

        activity_id = self.activity_id()
        sender = self.teams_user(people[0])
        activity = t.message(self.connector_url, sender, text, [self.teams_user(n) for n in mentioned],
                             activity_id=activity_id, conversation=conversation)
        self.pending[activity_id] = (sample, expected, people)
        body = await self.post(sample, "/api/messages", started, lambda status, body: None, json=activity)
        if body is None:
            self.pending.pop(activity_id, None)

    async def send(self, kind: str, sample: Sample, started: float) -> None:
        if kind == "teams thanks":
            sender, recipient = self.pair()
            await self.teams_message(sample, started, f"thanks {self.teams_user(recipient).tag} for the soak "
                                     f"test {next(self.serial)} #teamwork", "thanks", (sender, recipient),
                                     (recipient,))
        elif kind == "teams leaderboard":
            period, direction = self.rng.choice(LEADERBOARDS)
            await self.teams_message(sample, started, f"leaderboard {period} {direction}", "leaderboard",
                                     (self.rng.randrange(PEOPLE), -1))
        elif kind == "teams clap":
            await self.teams_clap(sample, started)
        elif kind == "discord thanks":
            await self.discord_thanks_(sample, started)
        elif kind == "discord leaderboard":
            period, direction = self.rng.choice(LEADERBOARDS)
            data = {"id": "1", "name": "leaderboard", "type": 1,
                    "options": [{"name": "period", "type": 3, "value": period},
                                {"name": "direction", "type": 3, "value": direction}]}
            body, headers = signed(self.key, self.interaction(2, data, self.rng.randrange(PEOPLE)))
            await self.post(sample, "/api/discord/interactions", started, _discord_answer(4, "🏆"),
                            data=body, headers=headers)
        elif kind == "discord clap":
            await self.discord_clap(sample, started)
        else:
            raise ValueError(kind)

    def clapper(self, platform: str, thanks: str, sender: int, recipient: int) -> int | None:
        for _ in range(10):
            who = self.rng.randrange(PEOPLE)
            if who not in (sender, recipient) and (platform, thanks, who) not in self.clapped:
                self.clapped.add((platform, thanks, who))
                return who
        return None

    async def teams_clap(self, sample: Sample, started: float) -> None:
        from adapters.teams.botframework import testing as t

        if not self.teams_thanks:  # nothing to clap on yet: thank instead
            sample.kind = "teams thanks"
            await self.send("teams thanks", sample, started)
            return
        thanks_id, sender, recipient = self.rng.choice(self.teams_thanks[-200:])
        who = self.clapper("teams", thanks_id, sender, recipient)
        if who is None:
            sample.kind = "teams thanks"
            await self.send("teams thanks", sample, started)
            return
        activity = t.clap_invoke(self.connector_url, self.teams_user(who), thanks_id, reply_to=f"card-{thanks_id}",
                                 conversation=TEAMS_CHANNEL, activity_id=self.activity_id())
        await self.post(sample, "/api/messages", started, _teams_clap_answer, json=activity)

    async def discord_thanks_(self, sample: Sample, started: float) -> None:
        sender, recipient = self.pair()
        rid = str(10_000 + recipient)
        data = {"id": "1", "name": "thanks", "type": 1,
                "options": [{"name": "user", "type": 6, "value": rid},
                            {"name": "message", "type": 3, "value": f"thanks for the soak test {next(self.serial)}"},
                            {"name": "value", "type": 3, "value": "teamwork"}],
                "resolved": {"users": {rid: {"id": rid, "username": f"soak{rid}", "global_name": f"Soak {rid}"}},
                             "members": {rid: {"roles": [], "nick": None}}}}
        body, headers = signed(self.key, self.interaction(2, data, sender))
        answer = await self.post(sample, "/api/discord/interactions", started,
                                 lambda status, body: None if is_posted_thanks(body) else "not a posted thanks",
                                 data=body, headers=headers)
        if answer is not None:
            posted = json.loads(answer)["data"]
            custom_id = posted["components"][0]["components"][0]["custom_id"]
            message = {"id": str(1_500_000_000_000_000_000 + next(self.serial)), "channel_id": DISCORD_CHANNEL,
                       **posted}
            self.discord_thanks.append((custom_id, message, sender, recipient))

    async def discord_clap(self, sample: Sample, started: float) -> None:
        if not self.discord_thanks:
            sample.kind = "discord thanks"
            await self.discord_thanks_(sample, started)
            return
        custom_id, message, sender, recipient = self.rng.choice(self.discord_thanks[-200:])
        who = self.clapper("discord", custom_id, sender, recipient)
        if who is None:
            sample.kind = "discord thanks"
            await self.discord_thanks_(sample, started)
            return
        payload = self.interaction(3, {"custom_id": custom_id, "component_type": 2}, who, message=message)
        body, headers = signed(self.key, payload)
        await self.post(sample, "/api/discord/interactions", started, _discord_answer(7, "👏"),
                        data=body, headers=headers)

    # -- meetings

    async def schedule_meeting(self, sample: Sample, started: float, platform: str, number: int,
                               lead: float = MEETING_LEAD) -> None:
        """Schedule a meeting starting on the first whole minute ``lead`` seconds from now, with the
        reminders of ``REMINDERS`` that come due at least 5 s from now."""
        name = f"{platform[0]}{number}"
        title = f"Soak meeting {name}"
        start, offsets = plan_meeting(lead)
        if not offsets:  # the minute turned since the caller planned it: nothing would come due
            return
        self.run.meetings[name] = Meeting(name, [(start - timedelta(minutes=m)).timestamp() for m in offsets])
        when = start.strftime("%Y-%m-%d %H:%M")
        remind = ",".join(f"{m}m" for m in offsets)
        if platform == "teams":
            organiser = self.rng.randrange(PEOPLE)
            await self.teams_message(sample, started, f"meeting create {title} start={when} tz=UTC remind={remind}",
                                     f"meeting:{title}", (organiser, -1), conversation=TEAMS_MEETINGS)
            return
        options = [{"name": "title", "type": 3, "value": title}, {"name": "start", "type": 3, "value": when},
                   {"name": "timezone", "type": 3, "value": "UTC"}, {"name": "remind", "type": 3, "value": remind}]
        data = {"id": "1", "name": "meeting", "type": 1,
                "options": [{"name": "create", "type": 1, "options": options}]}
        body, headers = signed(self.key, self.interaction(2, data, self.rng.randrange(PEOPLE),
                                                          channel=DISCORD_MEETINGS))
        await self.post(sample, "/api/discord/interactions", started, _discord_answer(4, title),
                        data=body, headers=headers)

    # -- what the fakes saw

    def take_news(self, news: dict[str, Any]) -> None:
        for reply_to, thanks_id, text in news["replies"]:
            waiting = self.pending.pop(reply_to, None)
            if waiting is None:
                continue  # the reply to a clap's card update, or to a request that already failed
            sample, expected, (sender, recipient) = waiting
            if expected == "thanks":
                if thanks_id is None:
                    sample.error = "Teams reply is not a thanks card"
                else:
                    self.teams_thanks.append((thanks_id, sender, recipient))
            elif expected == "leaderboard" and "🏆" not in text:
                sample.error = "Teams reply is not a leaderboard"
            elif expected.startswith("meeting:") and expected.removeprefix("meeting:") not in text:
                sample.error = "Teams reply does not show the meeting"
        for reminder in news["reminders"]:
            meeting = self.run.meetings.get(reminder.split(":", 1)[1])
            if meeting is None:
                self.run.problems.append(f"a reminder of a meeting never scheduled: {reminder}")
            else:
                meeting.delivered += 1
                self.run.delivered.append(time.time() - self.run.wall_start)
        self.run.problems += [f"fake upstream rejected a message: {p}" for p in news["problems"]]
        self.run.discord_duplicates = news["discord_duplicates"]


def plan_meeting(lead: float) -> tuple[datetime, list[int]]:
    """The start of a meeting scheduled now: the first whole minute ``lead`` seconds from now; and its
    reminders, those of ``REMINDERS`` that come due at least 5 s from now."""
    now = datetime.now(UTC)
    start = (now + timedelta(seconds=lead + 59.999)).replace(second=0, microsecond=0)
    return start, [m for m in REMINDERS if start - timedelta(minutes=m) >= now + timedelta(seconds=5)]


def _deferred(body: bytes) -> bool:
    """Whether a Discord answer is a deferral (type 5 or 6): the real answer follows later."""
    try:
        return json.loads(body).get("type") in (5, 6)
    except (ValueError, AttributeError):
        return False


def _discord_answer(kind: int, needle: str) -> Callable[[int, bytes], str | None]:
    """A check: the answer is a public message of ``kind`` (4: new, 7: update) that contains ``needle``."""

    def check(status: int, body: bytes) -> str | None:
        try:
            answer = json.loads(body)
        except ValueError:
            return "answer is not JSON"
        data = answer.get("data") or {}
        if answer.get("type") != kind or data.get("flags", 0) & 64:
            return f"answer of type {answer.get('type')} (flags {data.get('flags', 0)}), not {kind}"
        if needle not in json.dumps(data, ensure_ascii=False):
            return f"answer does not contain {needle!r}"
        return None

    return check


def _teams_clap_answer(status: int, body: bytes) -> str | None:
    """The invoke answer to 👏 is the thanks card again, with one more clap."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "answer is not JSON"
    if answer.get("statusCode") != 200 or answer.get("type") != "application/vnd.microsoft.card.adaptive":
        return f"clap answered {str(answer)[:120]}"
    return None


class DatabaseCpu:
    """CPU seconds PostgreSQL's backends serving the server's database used since they were first seen
    (``/proc``; the server's own CPU time does not include them). None on SQLite, whose work is the server's."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url if database_url.startswith("postgres") else None
        self.connection: Any = None
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    async def open(self) -> None:
        if self.url is not None:
            import asyncpg

            self.connection = await asyncpg.connect(self.url)

    async def seconds(self) -> float | None:
        if self.connection is None:
            return None
        rows = await self.connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid()")
        for row in rows:
            used = cpu_seconds(row["pid"])
            if used is not None:
                self.first.setdefault(row["pid"], used)
                self.last[row["pid"]] = used
        return sum(self.last[p] - self.first[p] for p in self.last)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


# ---- the run ----------------------------------------------------------------------------------------

async def soak(base: str, connector_url: str, fakes_url: str, key: SigningKey, pid: int, fakes_pid: int, *,
               database_url: str, rate: float,
               warmup: float, minutes: float, meeting_every: float) -> Run:
    run = Run()
    duration = warmup + minutes * 60
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256), timeout=timeout) as session, \
            aiohttp.ClientSession(timeout=timeout) as watch:
        load = Load(session, base, connector_url, key, run)
        kinds, weights = zip(*MIX, strict=True)
        tasks: set[asyncio.Task[None]] = set()
        meetings = itertools.count(1)
        # The meetings the stream below would have scheduled in the last MEETING_LEAD seconds had it
        # been running, so that reminders come due at the same pace from the first minute on.
        backlog = 1
        while meeting_every and backlog * meeting_every < MEETING_LEAD:
            if not plan_meeting(MEETING_LEAD - backlog * meeting_every)[1]:
                break  # its reminders would all be due already
            number = next(meetings)
            sample = Sample("meeting before the run", -1.0)
            run.samples.append(sample)
            await load.schedule_meeting(sample, loop.time(), "teams" if number % 2 else "discord", number,
                                        lead=MEETING_LEAD - backlog * meeting_every)
            backlog += 1
        t0 = loop.time()  # time.monotonic(), which the latencies are measured with too
        run.wall_start = time.time()
        cpu_before = (time.process_time(), cpu_seconds(fakes_pid) or 0.0)

        async def fire(kind: str, due: float, meeting: tuple[str, int] | None = None) -> None:
            sample = Sample(kind, due - t0)
            run.samples.append(sample)
            if loop.time() - due > 0.1:
                run.late_starts += 1
            if meeting is not None:
                await load.schedule_meeting(sample, due, *meeting)
            else:
                await load.send(kind, sample, due)

        database = DatabaseCpu(database_url)
        await database.open()

        async def sample_process() -> None:
            while True:
                now = loop.time() - t0
                rss, cpu = rss_bytes(pid), cpu_seconds(pid)
                if rss is not None:
                    run.rss.append((now, rss))
                if cpu is not None:
                    run.cpu.append((now, cpu))
                run.loadavg.append((now, os.getloadavg()[0]))
                database_cpu = await database.seconds()
                if database_cpu is not None:
                    run.database_cpu.append((now, database_cpu))
                await asyncio.sleep(1.0)

        async def read_news() -> None:
            async with watch.get(f"{fakes_url}/soak/news") as response:
                load.take_news(await response.json())

        async def watch_fakes() -> None:
            while True:
                await asyncio.sleep(1.0)
                await read_news()

        background = [asyncio.create_task(sample_process()), asyncio.create_task(watch_fakes())]
        next_meeting = 0.0
        for i in itertools.count():
            due = t0 + i / rate
            if due - t0 >= duration:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = load.rng.choices(kinds, weights)[0]
            task = asyncio.create_task(fire(kind, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            # A meeting now and then, all through the run (the last ones' reminders come due after it).
            if meeting_every and due - t0 >= next_meeting:
                number = next(meetings)
                platform = "teams" if number % 2 else "discord"
                task = asyncio.create_task(fire(f"{platform} meeting", due, (platform, number)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_meeting += meeting_every
        await asyncio.gather(*tasks)
        run.wall_end = time.time()
        run.load_cpu = time.process_time() - cpu_before[0]
        run.fakes_cpu = (cpu_seconds(fakes_pid) or math.nan) - cpu_before[1]
        # Reminders due near the end: the scheduler passes every 15 s; give it two passes to send them.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            await read_news()
            waiting = [m for m in run.meetings.values() if m.delivered < m.due_by(run.wall_end)]
            if not waiting and not load.pending:
                break
            await asyncio.sleep(1.0)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await database.close()
        await read_news()
        for sample, _, _ in load.pending.values():
            sample.error = "no Teams reply reached the connector"
    return run


def _start_fakes(tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    process = subprocess.Popen([sys.executable, "-m", "bench.soak_bench", "fakes"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=(tmp / "fakes.log").open("wb"))
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"the fakes did not start: {(tmp / 'fakes.log').read_text()[-2000:]}")
    return process, json.loads(line)


def _start_server(tmp: Path, database_url: str, port: int, key: SigningKey,
                  discord_url: str) -> subprocess.Popen[bytes]:
    kizuna = Path(sys.executable).with_name("kizuna")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIZUNA_", "MICROSOFT_", "DISCORD_"))}
    env.update({
        "KIZUNA_DATABASE_URL": database_url, "KIZUNA_HOST": "127.0.0.1", "KIZUNA_PORT": str(port),
        "KIZUNA_AUTO_MIGRATE": "1", "KIZUNA_ADAPTERS": "teams,discord",
        "DISCORD_APPLICATION_ID": APP_ID, "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
        "DISCORD_BOT_TOKEN": "soak-bot-token", "DISCORD_API_BASE": f"{discord_url}/api/v10",
    })
    # The working directory is the temporary one, so no .env file is read.
    log = (tmp / "server.log").open("wb")
    return subprocess.Popen([str(kizuna), "serve"], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)


async def _ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"kizuna serve exited with status {process.returncode}")
            try:
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("kizuna serve did not become ready in 60 s")


def _log_errors(path: Path) -> list[str]:
    errors = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level")
        except ValueError:
            level = "error" if "Traceback" in line else None
        if level in ("error", "critical"):
            errors.append(line[:300])
    return errors


# ---- the report -------------------------------------------------------------------------------------

@dataclass
class Verdict:
    errors: int
    rss_growth: float
    p99_first: float
    p99_last: float

    @property
    def p99_drift(self) -> float:
        return self.p99_last / self.p99_first - 1

    @property
    def passed(self) -> dict[str, bool]:
        return {"errors": self.errors == 0, "memory": self.rss_growth < 0.10, "p99": self.p99_drift <= 0.20}


def report(run: Run, *, rate: float, warmup: float, minutes: float, database: str) -> Verdict:
    mb = 1024 * 1024
    windows = [("warm-up", 0.0, warmup)] + [(f"minute {m + 1}", warmup + 60 * m, warmup + 60 * (m + 1))
                                            for m in range(math.ceil(minutes))]
    print(f"{rate:g} requests/s, open loop, {warmup:g} s warm-up + {minutes:g} min, {database}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs shared by the load, the fakes and the server")
    print(f"mix: {', '.join(f'{k} {w}' for k, w in MIX)}; plus a meeting scheduled every few seconds "
          f"({len(run.meetings)} in all, reminders {' and '.join(f'{m} min' for m in REMINDERS)} before)")
    header = (f"{'window':<10} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
              f"{'RSS MB':>7} {'CPU ms/req':>10}{' DB ms/req' if run.database_cpu else ''} {'load':>5} "
              f"{'reminders due/sent':>18}")
    print(header)
    p99s: list[float] = []
    cpu_per_minute: list[float] = []
    for name, start, end in windows:
        inside = [s for s in run.samples if start <= s.due < end]
        latencies = [s.latency_ms for s in inside if not math.isnan(s.latency_ms)]
        errors = sum(s.error is not None for s in inside)
        rss = [b for t, b in run.rss if start <= t < end]
        cpu = [c for t, c in run.cpu if start <= t < end]
        cpu_per_request = (cpu[-1] - cpu[0]) * 1000 / len(inside) if len(cpu) > 1 and inside else math.nan
        database_cpu = [c for t, c in run.database_cpu if start <= t < end]
        database_column = (f" {(database_cpu[-1] - database_cpu[0]) * 1000 / max(1, len(inside)):>9.2f}"
                           if len(database_cpu) > 1 else "")
        load = [a for t, a in run.loadavg if start <= t < end]
        due = sum(start <= d - run.wall_start < end for m in run.meetings.values() for d in m.due)
        sent = sum(start <= t < end for t in run.delivered)
        p99 = percentile(latencies, 99)
        if name != "warm-up":
            p99s.append(p99)
            cpu_per_minute.append(cpu_per_request)
        print(f"{name:<10} {len(inside):>8} {errors:>6} {percentile(latencies, 50):>7.1f} {p99:>7.1f} "
              f"{max(latencies, default=math.nan):>7.1f} {(rss[-1] / mb if rss else math.nan):>7.1f} "
              f"{cpu_per_request:>10.2f}{database_column} {(load[-1] if load else math.nan):>5.2f} {due:>9}/{sent:<8}")
    first, last = windows[1], windows[-1]
    print("by kind, after warm-up (p99 in the first and in the last minute):")
    for kind in sorted({s.kind for s in run.samples if s.due >= warmup}):
        def latencies_of(start: float, end: float, kind: str = kind) -> list[float]:
            return [s.latency_ms for s in run.samples
                    if s.kind == kind and start <= s.due < end and not math.isnan(s.latency_ms)]
        every = latencies_of(warmup, math.inf)
        print(f"  {kind:<20} {len(every):>6}  p50 {percentile(every, 50):6.1f}  p99 {percentile(every, 99):6.1f}  "
              f"max {max(every, default=math.nan):6.1f} ms   p99 {percentile(latencies_of(*first[1:]), 99):6.1f} → "
              f"{percentile(latencies_of(*last[1:]), 99):6.1f} ms")
    failures = Counter(f"{s.kind}: {s.error}" for s in run.samples if s.error is not None)
    missing = [m for m in run.meetings.values() if m.delivered < m.due_by(run.wall_end)]
    doubled = [m for m in run.meetings.values() if m.delivered > len(m.due)]
    for m in missing:
        failures[f"reminders of meeting {m.name}: {m.delivered} delivered, {m.due_by(run.wall_end)} due"] += 1
    for m in doubled:
        failures[f"reminders of meeting {m.name}: {m.delivered} delivered, {len(m.due)} due"] += 1
    for problem in run.problems:
        failures[problem] += 1
    for line in run.log_errors:
        failures[f"server log: {line}"] += 1
    total_errors = sum(failures.values())
    by_kind = Counter(s.kind for s in run.samples)
    print(f"requests by kind: {', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}")
    print(f"reminders: {sum(m.due_by(run.wall_end) for m in run.meetings.values())} due during the run, "
          f"{sum(m.delivered for m in run.meetings.values())} delivered (counting those that came due while the "
          f"last ones were awaited); Discord creates answered from a nonce "
          f"(sent twice): {run.discord_duplicates}; requests the generator started >100 ms late: {run.late_starts}")
    requests = max(1, sum(s.due >= 0 for s in run.samples))
    print(f"CPU per request, whole run: load generator {run.load_cpu * 1000 / requests:.2f} ms, "
          f"fakes {run.fakes_cpu * 1000 / requests:.2f} ms (the server's is in the table)")
    for what, n in failures.most_common(20):
        print(f"  ERROR {n}× {what}")
    after = [b for t, b in run.rss if t >= warmup]
    baseline = after[0] if after else math.nan
    growth = (max(after) / baseline - 1) if after else math.nan
    print(f"RSS: {baseline / mb:.1f} MB at the end of warm-up, highest after it {max(after, default=0) / mb:.1f} MB, "
          f"at the end {after[-1] / mb if after else math.nan:.1f} MB")
    verdict = Verdict(total_errors, growth, p99s[0] if p99s else math.nan, p99s[-1] if p99s else math.nan)
    if len(cpu_per_minute) > 1:
        # What a real server problem would change (more work per request), unlike the other load on the machine.
        print(f"server CPU per request: first minute {cpu_per_minute[0]:.2f} ms, last {cpu_per_minute[-1]:.2f} ms "
              f"({cpu_per_minute[-1] / cpu_per_minute[0] - 1:+.0%}); 1-minute load average "
              f"{min(a for _, a in run.loadavg):.2f} to {max(a for _, a in run.loadavg):.2f} over the run")
    ok = verdict.passed
    print(f"verdict: errors {total_errors} (target 0) {'PASS' if ok['errors'] else 'FAIL'}; "
          f"RSS growth after warm-up {growth:+.1%} (target < 10 %) {'PASS' if ok['memory'] else 'FAIL'}; "
          f"p99 last minute {verdict.p99_last:.1f} ms vs first {verdict.p99_first:.1f} ms, {verdict.p99_drift:+.0%} "
          f"(target at most +20 %) {'PASS' if ok['p99'] else 'FAIL'}")
    return verdict


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the report; 1 if a criterion failed."""
    parser = argparse.ArgumentParser(prog="soak_bench")
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("KIZUNA_BENCH_SOAK_MINUTES", "5")))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("KIZUNA_BENCH_SOAK_WARMUP", "30")),
                        help="seconds of the same load before measuring starts")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("KIZUNA_BENCH_SOAK_RATE", "40")),
                        help="requests per second, all kinds together")
    parser.add_argument("--meeting-every", type=float, default=5.0, help="seconds between two meetings")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="a fresh database on this PostgreSQL server instead of a SQLite file")
    args = parser.parse_args([] if argv is None else argv)
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as tmp_name, fresh_database(args.postgres) as database_url:
        tmp = Path(tmp_name)
        fakes, urls = _start_fakes(tmp)
        try:
            port = free_port()
            server = _start_server(tmp, database_url, port, key, urls["discord"])
            try:
                base = f"http://127.0.0.1:{port}"
                asyncio.run(_ready(base, server))
                run = asyncio.run(soak(base, urls["connector"], urls["discord"], key, server.pid, fakes.pid,
                                       database_url=database_url, rate=args.rate,
                                       warmup=args.warmup, minutes=args.minutes, meeting_every=args.meeting_every))
            finally:
                stop(server)
            run.log_errors = _log_errors(tmp / "server.log")
        finally:
            stop(fakes)
    verdict = report(run, rate=args.rate, warmup=args.warmup, minutes=args.minutes,
                     database="PostgreSQL" if args.postgres else "SQLite file")
    return 0 if all(verdict.passed.values()) else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["fakes"]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_fakes())
    else:
        raise SystemExit(main(sys.argv[1:]))
