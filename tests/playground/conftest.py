"""``kizuna serve`` (Teams in local emulator mode) driven through Microsoft 365 Agents Playground, Microsoft's own
local Teams client and connector, in headless Chromium.

Without Node.js, the playground's node_modules, Playwright or Chromium the tests skip with the reason — except in CI
(CI=1 or KIZUNA_REQUIRE_BROWSER=1), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import chromium
from tests.faults import free_port
from tests.playground.client import Playground, config_yaml

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "playground"
CLI = HERE / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
NODE = shutil.which("node")


def _missing() -> str | None:
    reason = chromium.missing()
    if reason:
        return reason
    if not NODE:
        return "Node.js is not installed (apt-get install nodejs npm)"
    if not CLI.exists():
        return "Microsoft 365 Agents Playground is not installed (cd tests/playground && npm ci)"
    return None


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    yield from chromium.launched(_missing(), "the Agents Playground tests")


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{log.read_text(encoding='utf-8')}")
        with contextlib.suppress(OSError, urllib.error.URLError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"{what} did not answer {url} within a minute:\n{log.read_text(encoding='utf-8')}")


@contextlib.contextmanager
def _running(args: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def playground(browser: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Playground]:
    """A fresh ``kizuna serve`` (new SQLite file, Teams in emulator mode on loopback), the Agents Playground
    connected to it with five users, a group chat and a team, and its web UI open in Chromium."""
    kizuna_port, playground_port = free_port(), free_port()
    kizuna_log, playground_log = tmp_path / "kizuna.log", tmp_path / "playground.log"
    (tmp_path / ".m365agentsplayground.yml").write_text(config_yaml(), encoding="utf-8")
    kizuna_env = {**os.environ, "PYTHONPATH": str(ROOT), "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path / 'k.sqlite3'}",
                  "KIZUNA_AUTO_MIGRATE": "1", "KIZUNA_ADAPTERS": "teams", "KIZUNA_HOST": "127.0.0.1",
                  "KIZUNA_PORT": str(kizuna_port), "MICROSOFT_APP_ID": "", "KIZUNA_LOG_LEVEL": "INFO"}
    playground_env = {**os.environ, "TEAMSAPPTESTER_BROWSER": "none",
                      "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(tmp_path / ".m365agentsplayground.yml"),
                      "M365_AGENTS_PLAYGROUND_LOGFILE": str(tmp_path / "playground-server.log")}
    endpoint = f"http://127.0.0.1:{kizuna_port}/api/messages"
    with _running([sys.executable, "-m", "kizuna.cli", "serve"], cwd=tmp_path, env=kizuna_env,
                  log=kizuna_log) as kizuna:
        _wait_for(f"http://127.0.0.1:{kizuna_port}/readyz", kizuna, kizuna_log, "kizuna serve")
        with _running([str(NODE), str(CLI), "-e", endpoint, "-c", "msteams", "-p", str(playground_port),
                       "--disable-telemetry"], cwd=tmp_path, env=playground_env, log=playground_log) as node:
            _wait_for(f"http://127.0.0.1:{playground_port}/", node, playground_log, "the Agents Playground")
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US",
                                          timezone_id="Asia/Tokyo")
            page = context.new_page()
            artifacts = ARTIFACTS / request.node.name
            shutil.rmtree(artifacts, ignore_errors=True)
            client = Playground(page, f"http://127.0.0.1:{playground_port}", artifacts, kizuna_log=kizuna_log,
                                playground_log=tmp_path / "playground-server.log")
            try:
                yield client
            finally:
                with contextlib.suppress(Exception):
                    client.shoot("last")
                context.close()

