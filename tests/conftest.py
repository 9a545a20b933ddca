"""Shared fixtures: a real database per test (in-memory SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext
from tortoise.contrib.test import tortoise_test_context

from core.db import MODEL_MODULES
from core.models import Member, Workspace
from core.services.members import ensure_member
from core.services.workspaces import ensure_workspace

BACKEND = os.environ.get("KIZUNA_TEST_DATABASE", "sqlite")


def test_database_url() -> str:
    """In-memory SQLite, or a fresh database per test on the PostgreSQL server of KIZUNA_TEST_POSTGRES_URL."""
    if BACKEND != "postgres":
        return "sqlite://:memory:"
    base = os.environ.get("KIZUNA_TEST_POSTGRES_URL")
    if not base:
        raise RuntimeError("KIZUNA_TEST_DATABASE=postgres needs KIZUNA_TEST_POSTGRES_URL")
    parts = urlsplit(base)
    # tortoise's test context creates the database, but only closes its connections after: ``db`` drops it.
    return urlunsplit(parts._replace(path=f"/kizuna_test_{uuid.uuid4().hex}"))


async def _drop_database(url: str) -> None:
    """Drop a test's PostgreSQL database (each left behind is about 9 MB: a suite run is 900 of them)."""
    import asyncpg

    parts = urlsplit(url)
    admin = await asyncpg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                                  password=parts.password, database="postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite only (SQLite-specific behaviour)")
    config.addinivalue_line("markers", "postgres_only: runs on PostgreSQL only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="PostgreSQL only; run with KIZUNA_TEST_DATABASE=postgres")
    skip_sqlite = pytest.mark.skip(reason="SQLite only (runs in the SQLite half)")
    for item in items:
        if BACKEND != "postgres" and "postgres_only" in item.keywords:
            item.add_marker(skip_pg)
        if BACKEND == "postgres" and "sqlite_only" in item.keywords:
            item.add_marker(skip_sqlite)


def pytest_report_header(config: pytest.Config) -> str:
    return f"kizuna test database: {BACKEND}"


@pytest_asyncio.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    """A fresh, empty, real database with every table, for one test."""
    url = test_database_url()
    try:
        async with tortoise_test_context(MODEL_MODULES, db_url=url) as ctx:
            yield ctx
    finally:
        if BACKEND == "postgres":
            await _drop_database(url)


@pytest_asyncio.fixture
async def workspace(db: TortoiseContext) -> Workspace:
    """A console workspace with the default values, English by default."""
    return await ensure_workspace("console", "demo", default_locale="en")


@pytest_asyncio.fixture
async def alice(workspace: Workspace) -> Member:
    return await ensure_member(workspace, "alice", display_name="Alice")


@pytest_asyncio.fixture
async def bob(workspace: Workspace) -> Member:
    return await ensure_member(workspace, "bob", display_name="Bob")


@pytest_asyncio.fixture
async def carol(workspace: Workspace) -> Member:
    return await ensure_member(workspace, "carol", display_name="Carol")


@pytest_asyncio.fixture
async def admin(workspace: Workspace) -> Member:
    member = await ensure_member(workspace, "root", display_name="Admin")
    member.is_admin = True
    await member.save()
    return member
