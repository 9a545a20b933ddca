"""The `kizuna` command as a user runs it: a real process on a real SQLite file."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.sqlite_only
KIZUNA = [sys.executable, "-m", "kizuna.cli"]


def run(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3", **(env or {})}
    environment.pop("KIZUNA_AUTO_MIGRATE", None)
    return subprocess.run([*KIZUNA, *args], input=stdin, capture_output=True, text=True, cwd=tmp_path,
                          env=environment, timeout=timeout)


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
    assert "Line 3: admin must be true or false" in result.stderr and "Nothing was imported" in result.stderr
    good = tmp_path / "ok.csv"
    good.write_text("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,true\n", encoding="utf-8")
    imported = run(tmp_path, "members", "import", str(good), "--workspace", "demo")
    assert imported.returncode == 0 and "Imported members — new: 1" in imported.stdout


def test_members_import_speaks_japanese_with_locale_ja(tmp_path):
    run(tmp_path, "chat", "--workspace", "demo", "--user", "alice", stdin="help\n")
    bad = tmp_path / "people.csv"
    bad.write_text("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,maybe\n", encoding="utf-8")
    refused = run(tmp_path, "members", "import", str(bad), "--workspace", "demo", "--locale", "ja")
    assert refused.returncode == 1
    assert "2行目: admin は true か false にしてください" in refused.stderr
    assert "何も取り込んでいません" in refused.stderr
    good = tmp_path / "ok.csv"
    good.write_text("platform,user_id,display_name,department,admin\nconsole,u1,A,Sales,true\n", encoding="utf-8")
    imported = run(tmp_path, "members", "import", str(good), "--workspace", "demo", "--locale", "ja")
    assert imported.stdout.strip() == "メンバーを取り込みました: 新規 1 人、更新 0 人、新しい部署 1 件。"
    missing = run(tmp_path, "members", "import", str(good), "--workspace", "nowhere", "--locale", "ja")
    assert_one_clear_line(missing, "--workspace nowhere に当てはまるワークスペースがありません")
    unreadable = run(tmp_path, "members", "import", str(tmp_path / "nope.csv"), "--locale", "ja")
    assert_one_clear_line(unreadable, "nope.csv を読めません")


SHIFT_JIS_PEOPLE = ("platform,user_id,display_name,department,admin\r\n"
                    "console,taro,山田 太郎,営業部,はい\r\n"
                    "console,hanako,佐藤 花子,技術開発部,\r\n"
                    "console,jiro,髙橋 次郎,㈱本社 総務課①,いいえ\r\n")  # 髙, ㈱ and ① exist in cp932 only


@pytest.mark.parametrize("encoding", [None, "cp932", "shift_jis"])
def test_members_import_reads_what_japanese_excel_saves(tmp_path, encoding):
    people = tmp_path / "people.csv"
    people.write_bytes(SHIFT_JIS_PEOPLE.encode("cp932"))
    run(tmp_path, "chat", "--workspace", "demo", "--user", "alice", stdin="help\n")
    options = ["--encoding", encoding] if encoding else []
    imported = run(tmp_path, "members", "import", str(people), "--workspace", "demo", *options)
    if encoding == "shift_jis":  # plain Shift-JIS lacks Windows' ㈱ and ①: a clear refusal, nothing imported
        assert_one_clear_line(imported, "shift_jis", "cp932")
        assert "Imported" not in imported.stdout
        return
    assert imported.returncode == 0, imported.stderr
    assert "Imported members — new: 3, updated: 0; new departments: 3" in imported.stdout
    stats = run(tmp_path, "stats", "departments", "--workspace", "demo", "--locale", "ja")
    assert "営業部" in stats.stdout and "技術開発部" in stats.stdout and "㈱本社 総務課①" in stats.stdout
    run(tmp_path, "chat", "--workspace", "demo", "--user", "alice", stdin="thanks @taro @jiro x\n")
    exported = run(tmp_path, "export", "thanks", "--workspace", "demo")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["recipient_id"], r["recipient_department"]) for r in rows] == [
        ("taro", "営業部"), ("jiro", "㈱本社 総務課①")]


def test_members_import_refuses_an_unknown_encoding_or_one_that_does_not_fit(tmp_path):
    people = tmp_path / "people.csv"
    people.write_bytes(SHIFT_JIS_PEOPLE.encode("cp932"))
    unknown = run(tmp_path, "members", "import", str(people), "--encoding", "klingon")
    assert_one_clear_line(unknown, "klingon")
    wrong = run(tmp_path, "members", "import", str(people), "--encoding", "utf-8", "--locale", "ja")
    assert_one_clear_line(wrong, "utf-8 として読めませんでした")


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


def test_serve_refuses_a_database_a_newer_kizuna_migrated(tmp_path):
    assert run(tmp_path, "migrate").returncode == 0
    with sqlite3.connect(tmp_path / "k.sqlite3") as connection:
        connection.execute("INSERT INTO tortoise_migrations (app, name, applied_at) "
                           "VALUES ('models', '0999_from_the_future', CURRENT_TIMESTAMP)")
    result = run(tmp_path, "serve", env={"KIZUNA_PORT": str(free_port())})
    assert result.returncode == 2
    assert "newer version of Kizuna" in result.stderr and "0999_from_the_future" in result.stderr
    assert "Traceback" not in result.stderr


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
        assert "adapters on" in logs and f"serving on http://127.0.0.1:{port}" in logs
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


# ---- what a new user trips on: one clear line, a non-zero exit, never a hang or a traceback ----------------


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kizuna: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("argv", [["migrate"], ["serve"], ["chat", "--user", "alice"]])
def test_a_sqlite_file_in_a_missing_folder_fails_at_once(tmp_path, argv):
    started = time.monotonic()
    result = run(tmp_path, *argv, env={"KIZUNA_DATABASE_URL": "sqlite://some/missing/dir/x.sqlite3",
                                       "KIZUNA_PORT": str(free_port())}, timeout=30)
    assert_one_clear_line(result, str(tmp_path / "some/missing/dir"), "mkdir")
    assert time.monotonic() - started < 20


def test_a_database_that_cannot_be_opened_is_one_line_not_a_hang(tmp_path):
    (tmp_path / "k.sqlite3").mkdir()  # a folder where the database file should be
    assert_one_clear_line(run(tmp_path, "migrate", timeout=30), "Cannot open the database", "k.sqlite3")


def test_an_unreachable_postgres_server_is_one_line(tmp_path):
    result = run(tmp_path, "migrate", env={"KIZUNA_DATABASE_URL": "postgres://postgres:secret@127.0.0.1:1/x"},
                 timeout=40)
    assert_one_clear_line(result, "Cannot open the database postgres://postgres:***@127.0.0.1:1/x")
    assert "secret" not in result.stderr


def test_an_unsupported_database_url_says_which_schemes_work(tmp_path):
    result = run(tmp_path, "migrate", env={"KIZUNA_DATABASE_URL": "mysql://kizuna@localhost/kizuna"})
    assert_one_clear_line(result, "mysql://kizuna@localhost/kizuna", "sqlite://", "postgres://")


def test_a_busy_port_is_named_with_the_way_out_and_serving_is_never_claimed(tmp_path):
    assert run(tmp_path, "migrate").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "serve", env={"KIZUNA_PORT": str(port)}, timeout=30)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "KIZUNA_PORT=" in result.stderr
    assert "serving on" not in result.stderr


def test_export_to_a_missing_folder_is_one_line_and_leaves_nothing(tmp_path):
    run(tmp_path, "chat", "--user", "alice", stdin="thanks @bob x\n")
    result = run(tmp_path, "export", "thanks", "--out", str(tmp_path / "missing/dir/x.csv"))
    assert_one_clear_line(result, "Cannot write", "missing/dir/x.csv")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("limit", ["-5", "0"])
def test_outbox_list_refuses_a_limit_below_one(tmp_path, limit):
    result = run(tmp_path, "outbox", "list", "--limit", limit)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--limit: must be a whole number of at least 1" in result.stderr


def test_chat_into_a_closed_pipe_stops_quietly(tmp_path):
    run(tmp_path, "chat", "--user", "alice", stdin="help\n")
    errors = tmp_path / "errors.txt"
    lines = "leaderboard\n" * 200
    env = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3"}
    pipeline = subprocess.run(
        f"{' '.join(KIZUNA)} chat --user alice 2>{errors} | head -n 1", shell=True, input=lines,
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert pipeline.stdout.count("\n") == 1
    assert errors.read_text() == ""


def test_export_writes_would_be_formulas_as_text(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("platform,user_id,display_name,department,admin\n"
                      "console,alice,@Alice,+Sales,true\nconsole,bob,-Bob,=Ops,\n", encoding="utf-8")
    run(tmp_path, "chat", "--user", "alice", stdin="help\n")
    assert run(tmp_path, "members", "import", str(people), "--workspace", "demo").returncode == 0
    run(tmp_path, "chat", "--user", "alice", stdin='thanks @bob =HYPERLINK("http://evil.example","x")\n')
    exported = run(tmp_path, "export", "thanks", "--workspace", "demo")
    row = next(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["message"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert (row["sender_department"], row["recipient_department"]) == ("'+Sales", "'=Ops")
    assert row["time"][0].isdigit() and row["claps"] == "0"  # ordinary cells are untouched


def test_every_formula_start_is_neutralised_and_nothing_else():
    from core.services.export import neutralize

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralize(f"{start}1+1") == f"'{start}1+1"
    assert [neutralize(c) for c in ("", "Sales", "2026-11-01T10:00:00+09:00", "a=b", "'quoted")] == [
        "", "Sales", "2026-11-01T10:00:00+09:00", "a=b", "'quoted"]


def test_digest_preview_prints_the_period_ending_now_in_either_language(tmp_path):
    run(tmp_path, "chat", "--user", "alice", stdin="thanks @bob great demo #collaboration\n")
    en = run(tmp_path, "digest", "preview", "--workspace", "demo", "--locale", "en")
    assert en.returncode == 0, en.stderr
    assert en.stdout.startswith("📬 Weekly thanks digest")
    # The last 7 days, today included: today's thanks is in it.
    assert "1 thank-you, 2 people took part" in en.stdout and "🤝 Collaboration (1 thank-you)" in en.stdout
    assert en.stdout.rstrip().endswith("/dashboard")  # a line to the dashboard, at KIZUNA_PUBLIC_URL
    ja = run(tmp_path, "digest", "preview", "--workspace", "demo", "--locale", "ja")
    assert "感謝 1 件・参加 2 人" in ja.stdout and "ダッシュボード" in ja.stdout
    month = run(tmp_path, "digest", "preview", "--workspace", "demo", "--period", "month", "--locale", "en")
    assert month.stdout.startswith("📬 Monthly thanks digest") and "1 thank-you" in month.stdout
    in_8_days = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M")
    later = run(tmp_path, "digest", "preview", "--workspace", "demo", "--now", in_8_days, "--locale", "en")
    assert "0 thanks, 0 people took part (period before: 1 thank-you, 2 people)" in later.stdout
    # --complete: the last complete week, as the scheduled digest posts it (this week is not complete yet).
    this_week = run(tmp_path, "digest", "preview", "--workspace", "demo", "--complete", "--locale", "en")
    assert "0 thanks, 0 people" in this_week.stdout.splitlines()[1]
    next_week = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    complete = run(tmp_path, "digest", "preview", "--workspace", "demo", "--complete", "--now", next_week,
                   "--locale", "en")
    assert "1 thank-you, 2 people took part" in complete.stdout
    assert_one_clear_line(run(tmp_path, "digest", "preview", "--workspace", "demo", "--now", "soon"), "--now")


def test_digest_schedule_and_run_due_post_a_due_digest_once(tmp_path):
    run(tmp_path, "chat", "--user", "alice", stdin="thanks @bob great demo #collaboration\n")
    assert run(tmp_path, "settings", "set", "feed_channel", "feed", "--workspace", "demo").returncode == 0
    monthly = run(tmp_path, "digest", "schedule", "monthly", "--workspace", "demo")
    assert monthly.returncode == 0 and "1st of every month" in monthly.stdout, monthly.stderr
    bad = run(tmp_path, "digest", "schedule", "sometimes", "--workspace", "demo")
    assert bad.returncode == 1 and "weekly, monthly, off" in bad.stderr
    weekly = run(tmp_path, "digest", "schedule", "weekly", "--workspace", "demo", "--locale", "ja")
    assert "毎週月曜 9:00" in weekly.stdout
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    monday = today + timedelta(days=7 - today.weekday())
    due = f"{monday.isoformat()}T09:01"  # the workspace's zone
    refused = run(tmp_path, "digest", "run-due", "--now", due)
    assert refused.returncode != 0 and "--force" in refused.stderr
    posted = run(tmp_path, "digest", "run-due", "--now", due, "--force")
    assert posted.returncode == 0, posted.stderr
    assert "--- channel:feed" in posted.stdout and "📬 週間感謝ダイジェスト" in posted.stdout
    assert "1 digests and 0 recaps enqueued (0 late), 0 skipped; delivered 1" in posted.stdout
    again = run(tmp_path, "digest", "run-due", "--now", due, "--force")
    assert "0 digests and 0 recaps enqueued" in again.stdout and "週間感謝ダイジェスト" not in again.stdout


def test_projects_on_the_command_line_and_the_export_s_project_column(tmp_path):
    chat = run(tmp_path, "chat", "--workspace", "demo", "--user", "alice", "--locale", "en", stdin=(
        "project create launch \"Launch 2027\" channel=here start=2026-11-01 end=2026-11-30 @bob\n"
        "thanks @bob for the plan +launch #teamwork\n"
        "thanks @bob for lunch +none\n"))
    assert chat.returncode == 0, chat.stderr
    assert "Project +launch created" in chat.stdout and "📁 Launch 2027 +launch" in chat.stdout
    rows = list(csv.DictReader(io.StringIO(run(tmp_path, "export", "thanks", "--workspace", "demo").stdout)))
    assert [(r["message"], r["project"]) for r in rows] == [("for the plan", "launch"), ("for lunch", "")]
    listed = run(tmp_path, "project", "list", "--locale", "ja")
    assert listed.returncode == 0 and "+launch Launch 2027" in listed.stdout and "進行中" in listed.stdout
    # The day after its last day, the pass closes it and the console is sent its closing card, once.
    closed = run(tmp_path, "project", "run-due", "--now", "2026-12-01T09:00:00+09:00")
    assert closed.returncode == 0, closed.stderr
    assert "1 closed at their end, 1 closing cards queued" in closed.stdout
    # The workspace speaks Japanese (its default).
    assert "Launch 2027" in closed.stdout and "プロジェクト内の感謝 1件" in closed.stdout
    again = run(tmp_path, "project", "run-due", "--now", "2026-12-02T09:00:00+09:00")
    assert "0 closed at their end, 0 closing cards queued" in again.stdout and "Launch 2027" not in again.stdout
    shown = run(tmp_path, "project", "show", "launch", "--locale", "en")
    assert "closed" in shown.stdout
    assert run(tmp_path, "project", "show", "nope").returncode == 1
