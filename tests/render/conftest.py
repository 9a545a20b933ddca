"""A headless Chromium for the screenshot tests. Without Chromium, Playwright or the renderer's node_modules the
tests skip with the reason — except in CI (CI=1 or KIZUNA_REQUIRE_BROWSER=1), where they fail."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "cards"
CHROMIUM = os.environ.get("KIZUNA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _required() -> bool:
    return any(os.environ.get(name, "") not in ("", "0") for name in ("CI", "KIZUNA_REQUIRE_BROWSER"))


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM or not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji)"
    if not (HERE / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js").exists():
        return "the card renderer is not installed (cd tests/render && npm ci)"
    return None


# Package scope, not session: the sync API keeps an event loop running in this thread until it stops,
# and the asyncio tests that run after these need the thread free.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if _required():
            pytest.fail(f"browser tests are required here but cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


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
