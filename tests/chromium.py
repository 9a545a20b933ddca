"""Debian's Chromium through Playwright's sync API, for the tests that look at pages (tests/render, tests/browser,
tests/playground). Without what they need they skip with the reason — except in CI (CI=1 or
KIZUNA_REQUIRE_BROWSER=1), where they fail. Playwright's sync API keeps an event loop running in its thread while it
is open, so each of those folders runs in a pytest process of its own (see the Makefile)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("KIZUNA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def required() -> bool:
    """True in CI: a browser test that cannot run fails instead of skipping."""
    return any(os.environ.get(name, "") not in ("", "0") for name in ("CI", "KIZUNA_REQUIRE_BROWSER"))


def missing() -> str | None:
    """Why Playwright and Chromium cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM or not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji)"
    return None


def launched(reason: str | None, what: str) -> Iterator[Any]:
    """A headless Chromium for a fixture to yield from; ``reason`` says why it cannot run (skip, or fail in CI)."""
    if reason:
        if required():
            pytest.fail(f"{what} are required here but cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
