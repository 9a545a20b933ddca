"""End to end on loopback: ``/meeting create`` as a signed interaction, then ``kizuna reminders run-due`` twice.

The fake Discord API runs in its own thread (the CLI runs its own event loop), the database is a
SQLite file shared by the interaction step and the CLI, exactly as in a cron deployment.
"""

from __future__ import annotations

import asyncio
import io
import os
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from nacl.signing import SigningKey

from adapters.discord import DiscordAdapter, validate, wire
from core import db
from core.config import Settings
from kizuna.cli import main, open_database
from kizuna.server import build_app
from tests.discord.kit import APP_ID, CHANNEL, GUILD, Discord, FakeDiscord


# A SQLite file on purpose (a cron-style deployment); tests/conftest.py does not skip ``sqlite_only`` on
# PostgreSQL, and re-initialising Tortoise on SQLite mid-run would leave models bound to the SQLite dialect.
@pytest.mark.sqlite_only
@pytest.mark.skipif(os.environ.get("KIZUNA_TEST_DATABASE") == "postgres", reason="runs on a SQLite file")
def test_a_meeting_created_on_discord_is_reminded_exactly_once(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                               threaded_fake_discord: FakeDiscord) -> None:
    fake = threaded_fake_discord
    key = SigningKey.generate()
    monkeypatch.chdir(tmp_path)
    env = {"KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3", "KIZUNA_ADAPTERS": "discord",
           "DISCORD_APPLICATION_ID": APP_ID, "DISCORD_PUBLIC_KEY": key.verify_key.encode().hex(),
           "DISCORD_BOT_TOKEN": "test-bot-token", "DISCORD_API_BASE": fake.url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()

    async def create_through_discord() -> dict[str, Any]:
        await open_database(settings)
        adapter = DiscordAdapter(settings)
        app = build_app(settings, adapters=[adapter], manage_database=False, run_workers=False)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            discord = Discord(client, key, adapter)
            options = [{"name": k, "type": wire.OPT_STRING, "value": v} for k, v in {
                "title": "Sales x Eng", "start": "2030-12-02 10:00", "repeat": "monthly-nth-weekday",
                "timezone": "Asia/Tokyo", "remind": "1d"}.items()]
            command = discord.command("meeting", [{"name": "create", "type": wire.OPT_SUB_COMMAND,
                                                   "options": options}], locale="en")
            answer = await discord.send(command)
            await adapter.endpoint.drain()
            return answer
        finally:
            await client.close()
            await db.close_db()

    answer = asyncio.run(create_through_discord())
    assert "Sales x Eng" in answer["data"]["content"]
    [event] = fake.calls("POST", "/scheduled-events")
    assert event.body["recurrence_rule"]["by_n_weekday"] == [{"n": 1, "day": 0}]

    out = io.StringIO()
    assert main(["reminders", "run-due", "--now", "2030-12-01T01:00:00Z", "--force"], out) == 0, out.getvalue()
    assert "1 enqueued" in out.getvalue() and "delivered 1" in out.getvalue()
    [post] = fake.calls("POST", f"/channels/{CHANNEL}/messages")
    body = post.body
    assert validate.check_message(body) == [] and fake.problems == []
    assert body["embeds"][0]["title"] in ("📅 Reminder: Sales x Eng", "📅 リマインダー: Sales x Eng")
    labels = [b.get("label") for row in body["components"] for b in row["components"]]
    assert len(labels) == 5  # going, maybe, can't go, who's coming, the event link
    ids = [b["custom_id"] for row in body["components"] for b in row["components"] if "custom_id" in b]
    assert sum(1 for i in ids if i.startswith("kizuna:rsvp:")) == 3
    assert body["components"][0]["components"][-1]["url"].startswith(f"https://discord.com/events/{GUILD}/")
    assert body["allowed_mentions"] == {"parse": [], "users": []}

    out = io.StringIO()
    assert main(["reminders", "run-due", "--now", "2030-12-01T01:00:00Z", "--force"], out) == 0
    assert "0 enqueued" in out.getvalue()
    assert len(fake.calls("POST", f"/channels/{CHANNEL}/messages")) == 1
