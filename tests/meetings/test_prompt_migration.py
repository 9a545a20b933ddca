"""Upgrading: meetings scheduled before after-meeting prompts existed get theirs from the upgrade on."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from core import db as database
from core.db import APP_LABEL, MIGRATIONS_MODULE, MODEL_MODULES
from core.meetings import scheduler, service
from core.meetings.models import Meeting
from core.models import Delivery
from core.services.members import ensure_member
from core.services.workspaces import ensure_workspace
from tests.test_migrations import fresh_url  # noqa: F401  (the fixture: a database of its own)

# The migration just before the one that adds prompts, whatever it is named once the chain is merged.
BEFORE_PROMPTS = importlib.import_module("core.migrations.0009_after_meeting_prompt").Migration.dependencies[0][1]


async def migrate_to(name: str | None) -> None:
    apps = {APP_LABEL: {"models": MODEL_MODULES, "default_connection": "default", "migrations": MIGRATIONS_MODULE}}
    executor = MigrationExecutor(connections.get("default"), apps)
    await executor.migrate(None if name is None else [MigrationTarget(APP_LABEL, name)])


async def test_the_due_prompts_are_found_through_an_index(fresh_url):  # noqa: F811
    async with database.database(fresh_url):
        await database.apply_migrations()
        conn = connections.get("default")
        if "sqlite" in fresh_url:
            plan = await conn.execute_query_dict(
                "EXPLAIN QUERY PLAN SELECT * FROM meeting WHERE next_prompt_at <= ? ORDER BY next_prompt_at LIMIT 200",
                ["2030-01-01"])
            assert any("USING INDEX" in str(row["detail"]) and "next_prompt_at" in str(row["detail"]) for row in plan)
        else:
            rows = await conn.execute_query_dict(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'meeting' AND indexdef LIKE '%next_prompt_at%'")
            assert len(rows) == 1


# Going back to before the prompts also undoes the migrations after them; on SQLite tortoise cannot undo one that
# added a foreign key to an existing table (0011_projects: ``thanks.project_id`` stays, and the way up fails).
@pytest.mark.postgres_only
async def test_a_meeting_from_before_the_migration_prompts_from_the_next_meeting_on(fresh_url):  # noqa: F811
    async with database.database(fresh_url):
        await database.apply_migrations()
        workspace = await ensure_workspace("console", "m")
        alice = await ensure_member(workspace, "alice")
        now = datetime(2026, 12, 1, tzinfo=UTC)
        view = await service.create_meeting(workspace, alice, title="Weekly", start="2026-12-07 10:00",
                                            timezone="Asia/Tokyo", channel="c", repeat="weekly", now=now)
        # Back to before prompts (the columns go), and up again: the row is what an upgrade finds.
        await migrate_to(BEFORE_PROMPTS)
        await migrate_to(None)
        row = await Meeting.get(id=view.id)
        assert row.thanks_prompt is True and row.next_prompt_occurrence is None
        assert row.next_prompt_at is not None and row.next_prompt_at < now

        # The upgrade happened after the first meeting ended: nothing is posted for it, the next one prompts.
        upgraded = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
        assert (await scheduler.run_due(upgraded)).prompts.sent == 0
        row = await Meeting.get(id=view.id)
        assert (row.next_prompt_at, row.next_prompt_occurrence) == (datetime(2026, 12, 14, 2, 0, tzinfo=UTC),
                                                                    "2026-12-14T10:00")
        assert (await scheduler.run_due(row.next_prompt_at + timedelta(seconds=1))).prompts.sent == 1
        assert await Delivery.filter(kind="after_meeting").count() == 1
