"""Seed a database file with the known company of tests/dashboard/kit.py (run as a script by the browser tests)."""

from __future__ import annotations

import asyncio
import sys

from core import db
from tests.dashboard.kit import company


async def main(url: str) -> None:
    async with db.database(url):
        await db.apply_migrations()
        await company()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
