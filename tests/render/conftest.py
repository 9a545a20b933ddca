"""A headless Chromium for the screenshot tests. Without Chromium, Playwright or the renderer's node_modules the
tests skip with the reason — except in CI (CI=1 or KIZUNA_REQUIRE_BROWSER=1), where they fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import chromium

HERE = Path(__file__).parent
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "cards"


def _missing() -> str | None:
    if not (HERE / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js").exists():
        return chromium.missing() or "the card renderer is not installed (cd tests/render && npm ci)"
    return chromium.missing()


# Package scope, not session: the sync API keeps an event loop running in this thread until it stops,
# and the asyncio tests that run after these need the thread free.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    yield from chromium.launched(_missing(), "browser tests")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(device_scale_factor=2, locale="en-US", timezone_id="Asia/Tokyo")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type in ("error", "warning") else None)
    page.errors = errors
    try:
        yield page
    finally:
        context.close()
