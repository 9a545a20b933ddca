"""``kizuna backup`` and ``kizuna restore`` as an admin runs them: under write load, round trip, and every refusal."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from tortoise import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from core import db
from tests.cli.serving import fake_discord_api, kizuna, serving, thanks_messages

pytestmark = pytest.mark.sqlite_only
KIZUNA = [sys.executable, "-m", "kizuna.cli"]
LATEST = db.known_migrations()[-1].split(".", 1)[1]


def run(tmp_path: Path, *args: str, database: Path | None = None,
        url: str | None = None) -> subprocess.CompletedProcess[str]:
    database = database or tmp_path / "k.sqlite3"
    environment = {**os.environ, "KIZUNA_DATABASE_URL": url or f"sqlite://{database}"}
    environment.pop("KIZUNA_AUTO_MIGRATE", None)
    return subprocess.run([*KIZUNA, *args], capture_output=True, text=True, cwd=tmp_path, env=environment,
                          timeout=60)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one line of a refusal (exit 2, no traceback), which contains ``words``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kizuna: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files a command left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".part-journal")))


@pytest.fixture
def kizuna_db(tmp_path: Path) -> Path:
    """A migrated database with two thanks, made by the CLI, as an admin's would be."""
    chat = subprocess.run([*KIZUNA, "chat", "--workspace", "demo", "--user", "alice"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60,
                          input="thanks @bob for the release notes\nthanks @carol for the review\n",
                          env={**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3"})
    assert chat.returncode == 0, chat.stderr
    return tmp_path / "k.sqlite3"


@pytest.fixture
def backup_file(tmp_path: Path, kizuna_db: Path) -> Path:
    out = tmp_path / "backup.sqlite3"
    result = run(tmp_path, "backup", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


# ---- under load, and the whole round trip ------------------------------------------------------


async def test_a_backup_under_write_load_restores_every_thanks_acknowledged_before_it_began(tmp_path):
    database, backup = tmp_path / "k.sqlite3", tmp_path / "backup.sqlite3"
    acknowledged: list[tuple[float, str]] = []  # (when the answer came, the thanks)
    async with fake_discord_api() as api, serving(database, api, SigningKey.generate(),
                                                  log_path=tmp_path / "serve.log") as server:
        stop, loaded = asyncio.Event(), asyncio.Event()

        async def writer(number: int) -> None:
            for turn in range(100_000):
                if stop.is_set():
                    return
                message = f"load {number}-{turn}"
                if await server.thanks(message):
                    acknowledged.append((time.monotonic(), message))
                    if len(acknowledged) >= 100:
                        loaded.set()

        writers = [asyncio.create_task(writer(number)) for number in range(8)]
        try:
            async with asyncio.timeout(30):
                await loaded.wait()
                began = time.monotonic()
                status, out, err = await kizuna(database, "backup", "--out", str(backup), cwd=tmp_path)
                ended = time.monotonic()
                await asyncio.sleep(0.2)
                stop.set()
                await asyncio.gather(*writers)
        finally:
            for task in writers:
                task.cancel()

    assert status == 0, err
    before = [message for at, message in acknowledged if at < began]
    during = [message for at, message in acknowledged if began <= at <= ended]
    assert len(before) >= 100 and during, "the server must be writing while the backup runs"
    restored = tmp_path / "elsewhere" / "k.sqlite3"
    restored.parent.mkdir()
    status, restore_out, err = await kizuna(restored, "restore", str(backup), cwd=tmp_path)
    assert status == 0, err
    in_backup = thanks_messages(restored)
    missing = set(before) - set(in_backup)
    assert not missing, f"{len(missing)} acknowledged thanks are not in the backup, e.g. {sorted(missing)[:3]}"
    # One instant of the database: no thanks without its recipient, no dangling reference, and the summaries
    # count what is there.
    with contextlib.closing(sqlite3.connect(restored)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM thanks t WHERE NOT EXISTS "
                            "(SELECT 1 FROM thanks_recipient r WHERE r.thanks_id = t.id)").fetchone() == (0,)
    summary = re.search(r"Backed up .* to .*: ([\d,]+) bytes, ([\d,]+) thanks, schema (\S+); integrity check ok",
                        out)
    assert summary is not None, out
    assert int(summary[1].replace(",", "")) == backup.stat().st_size
    assert int(summary[2].replace(",", "")) == len(in_backup) and summary[3] == LATEST
    assert f"{len(in_backup):,} thanks" in restore_out and "kept as" not in restore_out  # there was no database


async def test_backup_then_restore_puts_the_server_back_where_the_backup_was(tmp_path):
    database, backup = tmp_path / "k.sqlite3", tmp_path / "backup.sqlite3"
    key, ids = SigningKey.generate(), itertools.count(3000000000000000001)
    async with fake_discord_api() as api:
        async with serving(database, api, key, log_path=tmp_path / "serve.log", ids=ids) as server:
            for number in range(3):
                assert await server.thanks(f"kept {number}")
            status, out, err = await kizuna(database, "backup", "--out", str(backup), cwd=tmp_path)
            assert status == 0 and "3 thanks" in out, err
            assert await server.thanks("after the backup")
            # While the server has the database open, restore refuses and changes nothing.
            status, out, err = await kizuna(database, "restore", str(backup), cwd=tmp_path)
            assert status == 2 and "is in use" in err and "Traceback" not in err, err
            assert "after the backup" in thanks_messages(database)
            await server.stop()

        status, out, err = await kizuna(database, "restore", str(backup), cwd=tmp_path)
        assert status == 0, err
        kept = Path(re.search(r"kept as (\S+)\.$", out, re.M)[1])  # type: ignore[index]
        assert kept.parent == tmp_path and kept.name.startswith("k.sqlite3.before-restore-")
        assert thanks_messages(kept)[-1] == "after the backup"  # the replaced database, whole
        # No log of the old database is left to be replayed onto the restored one.
        assert not (tmp_path / "k.sqlite3-wal").exists() and not (tmp_path / "k.sqlite3-shm").exists()
        assert leftovers(tmp_path) == []

        async with serving(database, api, key, log_path=tmp_path / "serve.log", ids=ids) as server:
            assert "— 3 thanks" in await server.leaderboard()
            assert thanks_messages(database) == ["kept 0", "kept 1", "kept 2"]
            assert await server.thanks("after the restore")
            await server.stop()


# ---- backup refusals ---------------------------------------------------------------------------


def test_backup_of_postgresql_points_to_pg_dump(tmp_path):
    line = refused(run(tmp_path, "backup", "--out", str(tmp_path / "b"), url="postgres://kizuna:secret@db:5432/k"),
                   "PostgreSQL", "pg_dump", "postgres://kizuna:***@db:5432/k")
    assert "secret" not in line
    refused(run(tmp_path, "backup", "--out", str(tmp_path / "b"), "--locale", "ja",
                url="postgres://kizuna@db:5432/k"), "pg_dump", "バックアップしてください")
    assert not (tmp_path / "b").exists()


def test_backup_refuses_to_overwrite_unless_forced(tmp_path, kizuna_db, backup_file):
    before = digest(backup_file)
    refused(run(tmp_path, "backup", "--out", str(backup_file)), str(backup_file), "already exists", "--force")
    assert digest(backup_file) == before
    subprocess.run([*KIZUNA, "chat", "--workspace", "demo", "--user", "alice"], input="thanks @dave x\n",
                   capture_output=True, text=True, cwd=tmp_path, timeout=60,
                   env={**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{kizuna_db}"})
    forced = run(tmp_path, "backup", "--out", str(backup_file), "--force")
    assert forced.returncode == 0 and "3 thanks" in forced.stdout, forced.stderr
    assert leftovers(tmp_path) == []


def test_backup_into_a_missing_folder_is_refused(tmp_path, kizuna_db):
    refused(run(tmp_path, "backup", "--out", str(tmp_path / "no/such/dir/b.sqlite3")),
            str(tmp_path / "no/such/dir"), "does not exist", "mkdir")
    assert not (tmp_path / "no").exists()


def test_backup_onto_the_database_itself_is_refused_even_forced(tmp_path, kizuna_db):
    before = digest(kizuna_db)
    refused(run(tmp_path, "backup", "--out", str(kizuna_db), "--force"), "the database itself")
    assert digest(kizuna_db) == before


def test_backup_of_a_database_that_does_not_exist_creates_nothing(tmp_path):
    refused(run(tmp_path, "backup", "--out", str(tmp_path / "b.sqlite3")), "no database", "k.sqlite3")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---- restore refusals --------------------------------------------------------------------------


@pytest.fixture
def unchanged(tmp_path, kizuna_db):
    """Asserts after the test that the database is as it was and that nothing was left behind."""
    before = digest(kizuna_db)
    yield
    assert digest(kizuna_db) == before
    assert leftovers(tmp_path) == []
    assert not [p for p in tmp_path.iterdir() if ".before-restore" in p.name]


def test_restore_of_a_missing_file(tmp_path, unchanged):
    refused(run(tmp_path, "restore", str(tmp_path / "nope.sqlite3")), "no file", "nope.sqlite3")


@pytest.mark.parametrize("content", [b"", b"platform,user_id\nconsole,alice\n", b"SQLite format 2\x00" + b"\x00" * 84])
def test_restore_of_a_file_that_is_not_sqlite(tmp_path, unchanged, content):
    (tmp_path / "thanks.csv").write_bytes(content)
    refused(run(tmp_path, "restore", str(tmp_path / "thanks.csv")), "not a SQLite database")


def test_restore_of_a_damaged_backup(tmp_path, backup_file, unchanged):
    pages = backup_file.stat().st_size // 4096
    with backup_file.open("r+b") as handle:
        for page in range(2, pages, 3):
            handle.seek(page * 4096 + 8)
            handle.write(b"\xde\xad\xbe\xef" * 16)
    refused(run(tmp_path, "restore", str(backup_file)), "is damaged", "integrity check")
    refused(run(tmp_path, "restore", str(backup_file), "--locale", "ja"), "壊れています")


def test_restore_of_another_programs_database(tmp_path, unchanged):
    other = tmp_path / "notes.sqlite3"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
        conn.commit()
    refused(run(tmp_path, "restore", str(other)), "not a Kizuna backup")


def test_restore_of_a_backup_from_a_newer_version(tmp_path, backup_file, unchanged):
    with contextlib.closing(sqlite3.connect(backup_file)) as conn:
        conn.execute(f"INSERT INTO {db.MIGRATIONS_TABLE} (app, name, applied_at) "
                     "VALUES ('models', '0999_from_the_future', '2030-01-01 00:00:00+00:00')")
        conn.commit()
    refused(run(tmp_path, "restore", str(backup_file)), "newer version", "models.0999_from_the_future", LATEST,
            "upgrade Kizuna")


def test_restore_into_postgresql_points_to_pg_restore(tmp_path, backup_file):
    refused(run(tmp_path, "restore", str(backup_file), url="postgres://kizuna@db:5432/k"), "pg_restore")


def test_restore_of_the_database_onto_itself(tmp_path, kizuna_db, unchanged):
    refused(run(tmp_path, "restore", str(kizuna_db)), "the database itself")


# ---- an older backup ---------------------------------------------------------------------------


async def test_an_older_backup_is_restored_and_the_admin_is_told_to_migrate(tmp_path):
    old = tmp_path / "old.sqlite3"
    previous = db.known_migrations()[-2].split(".", 1)[1]
    async with db.database(f"sqlite://{old}"):
        executor = MigrationExecutor(connections.get("default"), db._apps_config())
        await executor.migrate([MigrationTarget(db.APP_LABEL, previous)])
        # What an older version wrote, in its own columns (today's services would write today's columns).
        conn = connections.get("default")
        await conn.execute_query(
            "INSERT INTO workspace (platform, external_id, name, default_locale, timezone, leaderboard_enabled, "
            "daily_limit, max_message_length, value_required, created_at) VALUES ('console', 'old-team', "
            "'old-team', 'ja', 'Asia/Tokyo', 1, 20, 500, 0, '2026-01-01 00:00:00+00:00')")
        await conn.execute_query(
            "INSERT INTO member (workspace_id, platform_user_id, display_name, is_admin, platform_admin, is_bot, "
            "notifications_enabled, received_count, sent_count, created_at) SELECT id, 'alice', 'alice', 0, 0, 0, "
            "1, 0, 0, '2026-01-01 00:00:00+00:00' FROM workspace WHERE external_id = 'old-team'")
    database = tmp_path / "k.sqlite3"
    status, out, err = await kizuna(database, "restore", str(old), cwd=tmp_path)
    assert status == 0, err
    assert f"schema {previous}" in out and f"lacks {db.known_migrations()[-1]}" in out and "kizuna migrate" in out
    status, _, err = await kizuna(database, "export", "thanks", "--workspace", "old-team", cwd=tmp_path)
    assert status == 2 and "kizuna migrate" in err  # not before it is migrated
    status, _, err = await kizuna(database, "migrate", cwd=tmp_path)
    assert status == 0, err
    status, exported, err = await kizuna(database, "export", "thanks", "--workspace", "old-team", cwd=tmp_path)
    assert status == 0 and exported.startswith("time,workspace,"), err  # the old database's workspace is there
