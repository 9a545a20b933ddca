"""Fault test: ``kizuna serve`` on a SQLite file, killed with SIGKILL while a burst of thanks is being group-committed,
keeps every thanks it acknowledged.

A thanks is answered only after the ``COMMIT`` of its group (``core.sql._GroupCommit``); SQLite in WAL mode keeps a
commit once ``COMMIT`` returns, whatever happens to the process afterwards (``synchronous=NORMAL`` can lose the last
commits on power loss, not on a crash). Here 200 thanks arrive at once, from 200 new members; the server is killed
the moment the 40th answer is in, with the others still queued or being written, then started again on the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sqlite3
import time

import aiohttp
import pytest
from nacl.signing import SigningKey

from tests.cli.serving import fake_discord_api, serving, thanks_messages

pytestmark = pytest.mark.sqlite_only
BURST = 200
KILL_AFTER = 40  # acknowledgements


async def test_sigkill_during_group_commit_loses_no_acknowledged_thanks(tmp_path):
    database = tmp_path / "k.sqlite3"
    key, ids = SigningKey.generate(), itertools.count(3000000000000000001)
    acknowledged: list[str] = []
    failed = 0
    async with fake_discord_api() as api:
        async with serving(database, api, key, log_path=tmp_path / "serve.log", ids=ids) as server:
            assert await server.thanks("before the burst")  # the workspace, Bob and the values exist
            started = time.monotonic()

            async def one(number: int) -> None:
                nonlocal failed
                message = f"burst {number}"
                try:
                    answered = await server.thanks(message)
                except (aiohttp.ClientError, TimeoutError):
                    answered = False
                if not answered:
                    failed += 1
                    return
                acknowledged.append(message)
                if len(acknowledged) == KILL_AFTER:
                    server.kill()

            async with asyncio.timeout(30):
                await asyncio.gather(*(one(number) for number in range(BURST)))
                assert await server.process.wait() == -signal.SIGKILL
            burst_seconds = time.monotonic() - started

        # The kill came mid-burst: some thanks were answered, many were not.
        assert KILL_AFTER <= len(acknowledged) < BURST and failed > 0, (len(acknowledged), failed)
        assert (tmp_path / "k.sqlite3-wal").exists()  # killed without closing: the log was not folded back

        async with serving(database, api, key, log_path=tmp_path / "serve.log", ids=ids) as restarted:
            stored = thanks_messages(database)
            lost = [message for message in ["before the burst", *acknowledged] if message not in stored]
            assert not lost, f"{len(lost)} acknowledged thanks lost: {lost[:5]}"
            assert len(stored) == len(set(stored))
            with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                # No thanks half-written: each has its recipient.
                assert conn.execute("SELECT count(*) FROM thanks t WHERE NOT EXISTS "
                                    "(SELECT 1 FROM thanks_recipient r WHERE r.thanks_id = t.id)").fetchone() == (0,)
            # The restarted server serves on from there.
            assert await restarted.thanks("after the restart")
            assert f"— {len(stored) + 1} thanks" in await restarted.leaderboard()
            await restarted.stop()
    committed_unanswered = len(stored) - 1 - len(acknowledged)
    print(f"\n{BURST} thanks at once: {len(acknowledged)} acknowledged before the kill, {committed_unanswered} "
          f"more committed but unanswered, {BURST - len(stored) + 1} never written; burst {burst_seconds:.2f} s")
