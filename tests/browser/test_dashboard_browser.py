"""The dashboard in headless Chromium (Playwright, Debian's chromium), against a real `kizuna serve`.

Runs in a pytest process of its own (Playwright's sync API keeps an event loop in the thread), like
tests/render. Without Chromium or Playwright it skips, except where KIZUNA_REQUIRE_BROWSER=1 or CI=1.
Screenshots go to test-artifacts/dashboard/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import chromium

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
KIZUNA = [sys.executable, "-m", "kizuna.cli"]
MONTH = "2026-11"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("dashboard")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{folder}/k.sqlite3", "KIZUNA_PORT": str(port),
           "KIZUNA_HOST": "127.0.0.1", "KIZUNA_ADAPTERS": "console", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "tests.browser.seed", env["KIZUNA_DATABASE_URL"]], env=env, check=True,
                   cwd=folder)
    process = subprocess.Popen([*KIZUNA, "--env-file", "/dev/null", "serve"], env=env, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

        def link(user: str, locale: str = "en") -> str:
            out = subprocess.run([*KIZUNA, "--env-file", "/dev/null", "dashboard", "link", "--workspace", "acme",
                                  "--user", user, "--locale", locale], env=env, cwd=folder, check=True,
                                 capture_output=True, text=True)
            return out.stdout.strip()

        yield {"base": base, "link": link, "env": env, "folder": folder}
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium.launched(chromium.missing(), "browser tests")


def _page(browser: Any, locale: str = "en-US") -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("button").first.click()
    page.wait_for_url("**/dashboard")
    page.select_option("#period", "custom")
    page.fill("#from", f"{MONTH}-01")
    page.fill("#to", f"{MONTH}-30")
    page.get_by_role("button", name=page.locator("button.primary").inner_text()).click()
    page.wait_for_selector("body[data-ready='1'] #heatmap-table")
    page.wait_for_selector("#heatmap .chart[data-drawn='1'] svg")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_admin_signs_in_and_the_heatmap_shows_the_known_numbers(server, browser):
    page = _page(browser)
    _open(page, server["link"]("root"))
    rows = page.locator("#heatmap-table tbody tr")
    cells = {rows.nth(i).locator("th").inner_text(): [td.inner_text() for td in rows.nth(i).locator("td").all()]
             for i in range(rows.count())}
    # Columns in the same order as rows: Dev, Sales (sorted by name).
    assert cells["Sales"] == ["10 (90.9%)", "1 (9.1%)"]
    assert cells["Dev"] == ["0", "1 (100.0%)"]
    assert page.locator("#bridges-table").inner_text().count("person") >= 2
    assert "Sales × Dev sync" in page.locator("#meetings-table").inner_text()
    assert "Dev person 1" in page.locator("#leaderboard-table").inner_text()
    projects = page.locator("#projects-table tbody tr")
    first = projects.nth(0)
    launch = [first.locator("th").inner_text(), *[td.inner_text() for td in first.locator("td").all()]]
    # Four thanks within the project, all across departments; Sales ⇄ Dev 10 before the close, 1 after.
    assert launch[0] == "Launch 2027 +launch" and launch[1:4] == ["Sales × Dev", "closed", "2026-10-01 – 2026-11-09"]
    assert launch[4:7] == ["4", "4", "10"] and launch[7].startswith("1")
    kaizen = [td.inner_text() for td in projects.nth(1).locator("td").all()]
    assert kaizen[1] == "open" and kaizen[3:] == ["0", "0", "—", "—"]
    page.wait_for_selector("#projects .chart[data-drawn='1'] svg")
    assert page.errors == []
    _shot(page, "admin-en")
    page.locator("#projects").screenshot(path=str(ARTIFACTS / "projects-en.png"))


def test_a_member_sees_no_names_and_hidden_small_numbers(server, browser):
    page = _page(browser)
    _open(page, server["link"]("s2"))
    text = page.locator("#app").inner_text()
    assert page.locator("#bridges").count() == 0
    assert "person" not in text.replace(page.locator("#leaderboard").inner_text(), "")  # only the chat's ranking
    assert "fewer than 3" in page.locator("#heatmap-table").inner_text()
    _shot(page, "member-en")


def test_japanese_renders(server, browser):
    page = _page(browser, "ja-JP")
    _open(page, server["link"]("s1", "ja"))
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "部署間の感謝" in page.locator("#heatmap h2").inner_text()
    assert "3人未満" in page.locator("#heatmap-table").inner_text()
    assert "部署横断プロジェクト" in page.locator("#projects h2").inner_text()
    assert "進行中" in page.locator("#projects-table").inner_text()
    _shot(page, "member-ja")
    page.locator("#projects").screenshot(path=str(ARTIFACTS / "projects-ja.png"))


def test_an_expired_or_used_link_gives_no_session(server, browser):
    page = _page(browser)
    url = server["link"]("s3")
    _open(page, url)
    other = _page(browser)
    other.goto(url)
    assert "already been used" in other.locator("main").inner_text()
    other.goto(f"{server['base']}/dashboard")
    assert "ask Kizuna for a sign-in link" in other.locator("main").inner_text()
    _shot(other, "used-link")
    expired = url.rsplit("/", 1)[0] + "/" + "x" * 43
    other.goto(expired)
    assert "not a sign-in link" in other.locator("main").inner_text()
    assert not [c for c in other.context.cookies() if c["name"] == "kizuna_dashboard"]
