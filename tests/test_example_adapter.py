"""Proof of the plug-in contract: the example adapter package, installed from its own pyproject.toml,
is found through the entry points and serves thanks and leaderboards through a real `kizuna serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only
ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "kizuna-webchat"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example package installed into a folder of its own (not this environment)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(EXAMPLE)], check=True, capture_output=True, timeout=300)
    return target


def _environment(installed: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(ROOT)]),
            "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3", **extra}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _say(port: int, **body: str) -> dict[str, object]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/webchat/messages",
                                     data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_the_example_adapter_is_found_and_serves_thanks_and_leaderboards(installed, tmp_path):
    port = _free_port()
    environment = _environment(installed, tmp_path, KIZUNA_WEBCHAT="1", KIZUNA_ADAPTERS="webchat",
                               KIZUNA_AUTO_MIGRATE="1", KIZUNA_PORT=str(port))
    server = subprocess.Popen([sys.executable, "-m", "kizuna.cli", "serve"], env=environment, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "kizuna serve did not start"
                time.sleep(0.2)
        thanked = _say(port, workspace="acme", user="alice", name="Alice", locale="en",
                       text="thanks @bob for the demo #teamwork")
        text = str(thanked["text"])
        assert "Alice sent thanks" in text and "@bob" in text and "🙌" in text
        assert thanked["message"]["kind"] == "thanks"  # type: ignore[index]
        board = _say(port, workspace="acme", user="carol", locale="ja", text="ランキング")
        assert "1. bob" in str(board["text"]) and board["message"]["kind"] == "leaderboard"  # type: ignore[index]
        # The rules are the core's: the example has none of its own, and they hold there too.
        refused = _say(port, workspace="acme", user="bob", locale="en", text="thanks @bob me")
        assert "cannot thank yourself" in str(refused["text"])
    finally:
        server.terminate()
        server.communicate(timeout=15)


def test_the_example_adds_its_own_cli_subcommand(installed, tmp_path):
    result = subprocess.run([sys.executable, "-m", "kizuna.cli", "webchat", "route"], capture_output=True, text=True,
                            env=_environment(installed, tmp_path), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/api/webchat/messages"
