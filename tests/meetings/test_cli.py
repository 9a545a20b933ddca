"""``kizuna meeting …``, ``kizuna reminders run-due`` and ``kizuna outbox …`` on a real SQLite file."""

from __future__ import annotations

import io

import pytest

from kizuna.cli import main


@pytest.fixture
def kizuna(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIZUNA_DATABASE_URL", f"sqlite://{tmp_path}/k.sqlite3")
    # No chat platform configured: console workspaces are delivered by printing.
    monkeypatch.setenv("KIZUNA_ADAPTERS", "discord")
    monkeypatch.delenv("DISCORD_PUBLIC_KEY", raising=False)

    def run(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = main(list(argv), out)
        return code, out.getvalue()

    return run


@pytest.mark.sqlite_only
def test_run_due_twice_posts_the_reminder_once(kizuna):
    code, text = kizuna("meeting", "create", "Sales x Eng sync", "--start", "2030-12-02 10:00",
                        "--repeat", "monthly-nth-weekday", "--timezone", "Asia/Tokyo", "--locale", "en")
    assert code == 0 and "Monthly on the first Monday" in text and "2031-01-06T10:00" in text
    code, first = kizuna("reminders", "run-due", "--now", "2030-12-01T01:00:00Z", "--force")
    assert code == 0
    assert first.count("Reminder: Sales x Eng sync") == 1 or first.count("リマインダー: Sales x Eng sync") == 1
    assert "--- channel:console" in first and "1 enqueued" in first and "delivered 1" in first
    code, second = kizuna("reminders", "run-due", "--now", "2030-12-01T01:00:00Z", "--force")
    assert code == 0 and "0 enqueued" in second and "channel:console" not in second
    code, listing = kizuna("outbox", "list")
    assert code == 0 and "\tdelivered\tconsole\treminder\tchannel:console" in listing
    assert kizuna("outbox", "list", "--failed")[1].strip() == "no failed deliveries"
    assert kizuna("outbox", "retry", "1")[0] == 1


@pytest.mark.sqlite_only
def test_meeting_commands_for_a_console_workspace(kizuna):
    kizuna("meeting", "create", "Weekly", "--start", "2030-12-02 10:00", "--repeat", "weekly", "--locale", "en")
    code, text = kizuna("meeting", "skip", "1", "2030-12-09", "--locale", "en")
    assert code == 0 and "2030-12-09T10:00" not in text and "2030-12-16T10:00" in text
    code, text = kizuna("meeting", "edit", "1", "--title", "Weekly sync", "--remind", "2h", "--locale", "en")
    assert code == 0 and "Weekly sync" in text and "Reminders 2 hours before" in text
    code, text = kizuna("meeting", "move", "1", "2030-12-16", "2030-12-17 11:00", "--locale", "en")
    assert code == 0 and "moved from 2030-12-16 10:00" in text
    assert "#1 Weekly sync" in kizuna("meeting", "list", "--locale", "en")[1]
    code, text = kizuna("meeting", "cancel", "1", "--locale", "ja")
    assert code == 0 and "終了しました" in text
    assert "No meetings yet" in kizuna("meeting", "list", "--locale", "en")[1]
    assert kizuna("meeting", "skip", "9", "2030-12-09")[0] == 1


@pytest.mark.sqlite_only
def test_meeting_commands_run_as_the_operator_and_explain_bad_input(kizuna, capsys):
    kizuna("meeting", "create", "Weekly", "--start", "2030-12-02 10:00", "--repeat", "weekly", "--locale", "en")
    code, text = kizuna("meeting", "pause", "1", "--locale", "en")
    assert code == 0 and "paused" in text.lower() and "#1 Weekly" in text
    code, text = kizuna("meeting", "resume", "1", "--locale", "ja")
    assert code == 0 and "Weekly" in text
    code, text = kizuna("meeting", "show", "1", "--locale", "en")
    assert code == 0 and "2030-12-02T10:00" in text
    assert kizuna("meeting", "edit", "1", "--until", "someday", "--locale", "en")[0] == 2
    assert "--until must be a date" in capsys.readouterr().err
    assert kizuna("meeting", "edit", "1", "--locale", "en")[0] == 1


def test_meeting_errors_follow_the_locale(kizuna, capsys):
    kizuna("meeting", "create", "Weekly", "--start", "2030-12-02 10:00", "--repeat", "weekly", "--locale", "en")
    capsys.readouterr()
    assert kizuna("meeting", "skip", "9", "2030-12-09", "--locale", "ja")[0] == 1
    japanese = capsys.readouterr().err
    assert kizuna("meeting", "skip", "9", "2030-12-09", "--locale", "en")[0] == 1
    english = capsys.readouterr().err
    assert english == "kizuna: There is no meeting #9. “meeting list” shows them all.\n"
    assert japanese.startswith("kizuna: ") and any("\u3040" <= c <= "\u30ff" for c in japanese)
    assert kizuna("meeting", "edit", "1", "--until", "someday", "--locale", "ja")[0] == 2
    assert capsys.readouterr().err.strip() == (
        "kizuna: --until には 2026-12-31 のような日付を指定してください (「someday」は使えません)。")
    assert kizuna("meeting", "create", "X", "--start", "tomorrow", "--locale", "ja")[0] == 1
    assert "Traceback" not in capsys.readouterr().err
    # Without --locale, errors speak the workspace's language, as the meeting cards do (a console workspace: ja).
    assert kizuna("meeting", "edit", "1", "--until", "someday")[0] == 2
    assert "--until には" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_a_future_now_is_a_dry_run_that_loses_no_reminder(kizuna):
    kizuna("meeting", "create", "Weekly", "--start", "2030-12-02 10:00", "--repeat", "weekly", "--locale", "en")
    # A week later the first meeting's reminders are past their lead time: a real pass would drop them for good.
    code, text = kizuna("reminders", "run-due", "--now", "2030-12-09T09:50:00+09:00")
    assert code == 0 and "dry run" in text and "--force" in text
    assert "would drop: meeting #1 “Weekly” 2030-12-02T10:00 (1d before) to channel:console" in text
    assert "would send late: meeting #1 “Weekly” 2030-12-09T10:00 (15m before) to channel:console" in text
    assert "2 would be sent (2 late), 2 dropped; nothing was changed" in text
    assert "--- channel:console" not in text  # nothing was delivered
    assert kizuna("outbox", "list")[1].strip() == "the outbox is empty"
    # The real reminders are all still there: the day-before one goes out on time.
    code, text = kizuna("reminders", "run-due", "--now", "2030-12-01T10:00:00+09:00", "--force")
    assert code == 0 and "1 enqueued (0 late), 0 dropped; delivered 1" in text


@pytest.mark.sqlite_only
def test_a_now_without_a_zone_is_the_workspaces_wall_clock(kizuna):
    kizuna("meeting", "create", "Weekly", "--start", "2030-12-02 10:00", "--repeat", "weekly", "--locale", "en")
    # 10:00 in Tokyo (the workspace's zone) is exactly the day-before reminder; 10:00 UTC would be 9 h late.
    code, text = kizuna("reminders", "run-due", "--now", "2030-12-01T10:00")
    assert "would send: meeting #1 “Weekly” 2030-12-02T10:00 (1d before)" in text
    assert "dry run at 2030-12-01T10:00:00+09:00" in text
    code, text = kizuna("reminders", "run-due", "--now", "2030-12-01T10:00", "--force")
    assert code == 0 and "reminders at 2030-12-01T10:00:00+09:00: 1 enqueued (0 late)" in text


@pytest.mark.sqlite_only
def test_a_meeting_of_a_project_on_the_command_line(kizuna, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO('project create launch "Launch 2027"\n'))
    assert kizuna("chat", "--workspace", "demo", "--user", "alice", "--locale", "en")[0] == 0
    code, text = kizuna("meeting", "create", "Kick-off", "--start", "2030-12-02 10:00", "--project", "LAUNCH",
                        "--locale", "en")
    assert code == 0 and "📁 Launch 2027 +launch" in text
    assert "Its 1 meeting met 0 times: #1 Kick-off" in kizuna("project", "show", "launch", "--locale", "en")[1]
    code, text = kizuna("meeting", "edit", "1", "--project", "none", "--locale", "en")
    assert code == 0 and "📁" not in text
    capsys.readouterr()
    assert kizuna("meeting", "edit", "1", "--project", "nope", "--locale", "en")[0] == 1
    assert "There is no project “nope”" in capsys.readouterr().err
