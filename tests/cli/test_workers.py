"""``kizuna serve --workers N``: several processes on one port (PostgreSQL), refused with SQLite, drained on SIGTERM."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest
from nacl.signing import SigningKey

from tests.cli.serving import KIZUNA, environment, fake_discord_api, kizuna, serving
from tests.postgres import fresh_database


def children(pid: int) -> set[int]:
    """The processes ``pid`` forked (Linux)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: it serves nothing.
    return "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1].split()[0]


async def test_several_workers_on_sqlite_are_refused_with_what_to_do(tmp_path):
    status, out, err = await kizuna(tmp_path / "kizuna.sqlite3", "serve", "--workers", "2", cwd=tmp_path)
    assert status == 2, (out, err)
    assert "KIZUNA_WORKERS=2 needs PostgreSQL" in err
    assert "Traceback" not in err
    assert not (tmp_path / "kizuna.sqlite3").exists()  # refused before anything was opened


@pytest.mark.parametrize(("value", "says"), [("lots", "must be a number or 'auto'"),
                                               ("0", "must be between 1 and 64")])
async def test_a_wrong_number_of_workers_is_refused(tmp_path, value, says):
    status, _out, err = await kizuna(tmp_path / "kizuna.sqlite3", "serve", "--workers", value, cwd=tmp_path)
    assert status == 2
    assert says in err and "Traceback" not in err


async def test_a_connection_budget_too_small_for_the_workers_is_refused(tmp_path):
    env = {**environment(tmp_path / "unused.sqlite3"), "KIZUNA_DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
           "KIZUNA_WORKERS": "4", "KIZUNA_DB_CONNECTIONS": "6"}
    process = await asyncio.create_subprocess_exec(*KIZUNA, "serve", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "KIZUNA_DB_CONNECTIONS=6 is too few for 4 workers" in err.decode()


@pytest.mark.postgres_only
async def test_two_workers_share_the_port_and_the_load_and_stop_together(tmp_path):
    key = SigningKey.generate()
    async with fresh_database("kizuna_workers") as url, fake_discord_api() as api:
        async with serving(tmp_path / "unused.sqlite3", api, key, log_path=tmp_path / "serve.log",
                           database_url=url, serve_args=("--workers", "2")) as server:
            workers = children(server.process.pid)
            assert len(workers) == 2, server.logs()
            answered = await asyncio.gather(*(server.thanks(f"thanks number {n}") for n in range(40)))
            assert all(answered), server.logs()
            connection = await asyncpg.connect(url)
            try:
                stored = await connection.fetch("SELECT message FROM thanks")
                connected = await connection.fetch(
                    "SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")
            finally:
                await connection.close()
            assert sorted(row["message"] for row in stored) == sorted(f"thanks number {n}" for n in range(40))
            # Each worker opened its own pool (after the fork), named after its process.
            assert {row["application_name"] for row in connected} == {f"kizuna {pid}" for pid in workers}
            await server.stop()  # SIGTERM to the manager: exit status 0
            assert not any(alive(pid) for pid in workers)
        assert "Traceback" not in server.logs()
