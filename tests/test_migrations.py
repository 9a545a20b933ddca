"""The committed migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from core import db as database
from core.db import APP_LABEL, MIGRATIONS_MODULE, MODEL_MODULES
from core.services.members import ensure_member
from core.services.stats import Period, department_matrix, leaderboard
from core.services.thanks import give_thanks
from core.services.workspaces import ensure_workspace
from tests.conftest import BACKEND


async def test_committed_migrations_match_the_models(db):
    from tortoise.migrations.autodetector import MigrationAutodetector

    apps = {APP_LABEL: {"models": MODEL_MODULES, "default_connection": "default", "migrations": MIGRATIONS_MODULE}}
    writers = await MigrationAutodetector(db.apps, apps).changes()
    assert not writers, "models changed without a migration: run `make migrations` and commit it"


@pytest.fixture
async def fresh_url(tmp_path):
    if BACKEND != "postgres":
        yield f"sqlite://{tmp_path}/migrated.sqlite3"
        return
    import os

    base = os.environ["KIZUNA_TEST_POSTGRES_URL"]
    name = f"kizuna_mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_apply_to_a_fresh_database_that_then_works(fresh_url):
    async with database.database(fresh_url):
        assert await database.applied_migrations() == []
        applied = await database.apply_migrations()
        assert applied and await database.pending_migrations() == []
        workspace = await ensure_workspace("console", "m")
        alice, bob = await ensure_member(workspace, "alice"), await ensure_member(workspace, "bob")
        now = datetime(2026, 11, 27, tzinfo=UTC)
        await give_thanks(workspace, alice, [bob], "works", ["teamwork"], idempotency_key="e1", now=now)
        await give_thanks(workspace, alice, [bob], "works", ["teamwork"], idempotency_key="e1", now=now)
        board = await leaderboard(workspace, Period.MONTH, now=now)
        assert [(e.platform_user_id, e.count) for e in board.entries] == [("bob", 1)]
        assert (await department_matrix(workspace, Period.ALL, now=now)).cells == {(0, 0): 1}
        assert await database.apply_migrations() == []
