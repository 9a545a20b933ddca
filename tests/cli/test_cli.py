"""The `kizuna` command as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only
KIZUNA = [sys.executable, "-m", "kizuna.cli"]


def run(tmp_path: Path, *args: str, stdin: str = "",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3", **(env or {})}
    environment.pop("KIZUNA_AUTO_MIGRATE", None)
    return subprocess.run([*KIZUNA, *args], input=stdin, capture_output=True, text=True, cwd=tmp_path,
                          env=environment, timeout=60)


def test_chat_thanks_then_leaderboard_then_self_thanks(tmp_path):
    first = run(tmp_path, "chat", "--workspace", "demo", "--user", "alice",
                stdin="thanks @bob great demo #teamwork\nleaderboard\n")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "alice" in lines[0] and "@bob" in lines[1] and "great demo" in lines[2] and "🙌" in lines[3]
    assert "1. bob" in first.stdout
    second = run(tmp_path, "chat", "--workspace", "demo", "--user", "bob", "--locale", "en", stdin="thanks @bob\n")
    assert second.returncode == 0
    assert "You cannot thank yourself" in second.stdout
    # It is in the same database as everything else: the export sees the first thanks.
    exported = run(tmp_path, "export", "thanks", "--workspace", "demo")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["sender_id"], r["recipient_id"], r["values"], r["message"]) for r in rows] == [
        ("alice", "bob", "teamwork", "great demo")]


def test_export_to_a_file_with_a_bom(tmp_path):
    run(tmp_path, "chat", "--user", "alice", stdin="ありがとう @ボブ 助かりました ＃チームワーク\n")
    out = tmp_path / "thanks.csv"
    result = run(tmp_path, "export", "thanks", "--out", str(out), "--bom")
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "助かりました" in data.decode("utf-8-sig")


def test_members_import_reports_the_bad_line_and_imports_nothing(tmp_path):
    run(tmp_path, "chat", "--workspace", "demo", "--user", "alice", stdin="help\n")
    bad = tmp_path / "people.csv"
    bad.write_text("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,true\nconsole,u2,B,Sales,maybe\n",
                   encoding="utf-8")
    result = run(tmp_path, "members", "import", str(bad), "--workspace", "demo")
    assert result.returncode == 1
    assert "Line 3" in result.stderr and "nothing was imported" in result.stderr
    good = tmp_path / "ok.csv"
    good.write_text("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,true\n", encoding="utf-8")
    imported = run(tmp_path, "members", "import", str(good), "--workspace", "demo")
    assert imported.returncode == 0 and "imported 1 new" in imported.stdout


def test_values_add_and_archive(tmp_path):
    run(tmp_path, "chat", "--user", "alice", stdin="help\n")
    added = run(tmp_path, "values", "add", "kaizen", "Kaizen", "改善", "--emoji", "🔧", "--workspace", "demo")
    assert "#kaizen" in added.stdout
    archived = run(tmp_path, "values", "archive", "kaizen", "--workspace", "demo")
    assert "Archived the value #kaizen" in archived.stdout
    assert "🔧 #kaizen Kaizen (archived) / 改善" in run(tmp_path, "values", "list", "--workspace", "demo").stdout
    refused = run(tmp_path, "values", "add", "bad key", "X", "--workspace", "demo")
    assert refused.returncode == 1 and "key" in refused.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_an_unmigrated_database_and_says_what_to_run(tmp_path):
    result = run(tmp_path, "serve", env={"KIZUNA_PORT": str(free_port())})
    assert result.returncode == 2
    assert "kizuna migrate" in result.stderr


def test_serve_refuses_emulator_mode_off_loopback(tmp_path):
    result = run(tmp_path, "serve", env={"KIZUNA_HOST": "0.0.0.0", "MICROSOFT_APP_ID": ""})
    assert result.returncode == 2
    assert "loopback" in result.stderr


def test_serve_answers_health_and_exits_cleanly_on_sigterm(tmp_path):
    assert run(tmp_path, "migrate").returncode == 0
    port = free_port()
    env = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3", "KIZUNA_PORT": str(port)}
    server = subprocess.Popen([*KIZUNA, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            assert b'"database": "ok"' in response.read()
        server.send_signal(signal.SIGTERM)
        _, logs = server.communicate(timeout=10)
        assert server.returncode == 0
        assert "adapters on" in logs
    finally:
        if server.poll() is None:
            server.kill()


def test_stats_departments_shows_the_matrix_and_shares(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("platform,user_id,display_name,department,admin\nconsole,alice,Alice,Sales,true\n"
                      "console,bob,Bob,Engineering,\nconsole,carol,Carol,Sales,\n", encoding="utf-8")
    run(tmp_path, "chat", "--user", "alice", stdin="help\n")
    assert run(tmp_path, "members", "import", str(people), "--workspace", "demo").returncode == 0
    run(tmp_path, "chat", "--user", "alice", stdin="thanks @bob @carol great\n")
    run(tmp_path, "chat", "--user", "bob", stdin="thanks @alice x\n")
    result = run(tmp_path, "stats", "departments", "--workspace", "demo")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["from \\ to\tSales\tEngineering", "Sales\t1\t1", "Engineering\t1\t0"]
    assert "Sales\t2\t50%\t2\t50%" in lines and "Engineering\t1\t100%\t1\t100%" in lines
