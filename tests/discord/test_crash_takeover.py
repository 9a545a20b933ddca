"""Fault test: two ``kizuna reminders run-due`` processes on one PostgreSQL database, one killed with SIGKILL while
its Discord creates are in flight. The survivor takes its claims over when their lease ends and sends them again
with the same nonces: the fake Discord API, de-duplicating as Discord does, sees every message exactly once.

Loopback only, bounded in time: the lease is shortened for the test (``KIZUNA_OUTBOX_LEASE_SECONDS``) instead of
waiting out the real one, and the scheduler's clock is set with ``--now``.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey
from tortoise import connections

from core import outbox
from core.db import apply_migrations
from core.meetings import service
from core.models import Delivery
from core.services.members import ensure_member
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace
from tests.discord.kit import APP_ID, FEED, GUILD, FakeDiscord

ROOT = Path(__file__).resolve().parents[2]
MEETINGS = 40
THANKS = 2
LEASE = 6.0  # seconds; a delivery attempt gets half of it
CREATED = datetime(2026, 12, 1, tzinfo=UTC)
NOW = "2026-12-06T01:00:30+00:00"  # the 1-day reminders of meetings on 2026-12-07 10:00 Tokyo are due


def _channel(n: int) -> str:
    return f"{556000000000000000 + n}"


async def _wait_until(condition: Any, what: str, within: float = 30.0) -> None:
    end = time.monotonic() + within
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.005)


@pytest.mark.postgres_only
async def test_a_process_killed_mid_delivery_is_taken_over_and_discord_sees_each_message_once(
        db: Any, threaded_fake_discord: FakeDiscord, tmp_path: Path) -> None:
    fake = threaded_fake_discord
    # Every create is made at once and answered 2 s later: the killed process's stay in flight, and the work
    # lasts long enough (6 batches of 8) for the second process to start sending on a loaded machine too.
    fake.delay = 2.0
    # The CLI needs a migrated database (the fixture's schema is generated): build it the way `kizuna migrate` does.
    client = connections.get("default")
    await client.execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await apply_migrations()
    workspace = await ensure_workspace("discord", GUILD)
    workspace.feed_channel = FEED
    await workspace.save()
    alice = await ensure_member(workspace, "1001", display_name="Alice")
    bob = await ensure_member(workspace, "1002", display_name="Bob")
    for n in range(MEETINGS):
        await service.create_meeting(workspace, alice, title=f"M{n}", start="2026-12-07 10:00", timezone="Asia/Tokyo",
                                     channel=_channel(n), remind="1d", now=CREATED)
    for n in range(THANKS):
        await give_thanks(workspace, alice, [bob], f"thanks #{n}")

    url = f"postgres://{client.user}:{client.password or ''}@{client.host}:{client.port}/{client.database}"
    base = fake.url.removesuffix("/api/v10")
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "KIZUNA_DATABASE_URL": url, "KIZUNA_ADAPTERS": "discord",
                   "DISCORD_APPLICATION_ID": APP_ID, "DISCORD_BOT_TOKEN": "test-bot-token",
                   "DISCORD_PUBLIC_KEY": SigningKey.generate().verify_key.encode().hex(),
                   "KIZUNA_OUTBOX_LEASE_SECONDS": str(LEASE), "KIZUNA_LOG_LEVEL": "WARNING"}

    async def run_due(name: str) -> asyncio.subprocess.Process:
        # Each process reaches the fake through its own path prefix, so the fake can tell them apart.
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kizuna.cli", "reminders", "run-due", "--now", NOW, "--force", cwd=tmp_path,
            env={**environment, "DISCORD_API_BASE": f"{base}/{name}/api/v10"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    started = time.monotonic()
    doomed, survivor = await run_due("a"), await run_due("b")
    try:
        await _wait_until(lambda: fake.in_flight["a"] > 0 and fake.in_flight["b"] > 0, "both processes sending")
        doomed.send_signal(signal.SIGKILL)
        killed_in_flight = fake.in_flight["a"]
        await doomed.wait()
        _, err = await asyncio.wait_for(survivor.communicate(), 60)
    finally:
        for process in (doomed, survivor):
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert doomed.returncode == -signal.SIGKILL
    assert survivor.returncode == 0, err.decode()
    assert time.monotonic() - started < 70

    rows = await Delivery.all()
    assert len(rows) == MEETINGS + THANKS
    assert {r.status for r in rows} == {outbox.DELIVERED}, [(r.id, r.status, r.last_error) for r in rows]
    assert killed_in_flight > 0 and fake.deduplicated >= 1  # the killed process's creates were sent again…
    made = fake.made()
    nonces = collections.Counter(m["nonce"] for m in made)
    assert sorted(nonces) == sorted(outbox.idempotency_key(r) for r in rows)  # …and each made one message
    assert set(nonces.values()) == {1}
    assert all(len(fake.made(_channel(n))) == 1 for n in range(MEETINGS))
    assert len(fake.made(FEED)) == THANKS
    assert {c.client for c in fake.calls("POST", "/messages")} == {"a", "b"}
    assert fake.problems == []
    assert "the claim of" in err.decode() and "ran out" in err.decode()
