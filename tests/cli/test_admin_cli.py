"""Administration from the CLI: the same commands as in chat, run as the operator."""

from __future__ import annotations

import io

import pytest

from kizuna.cli import main

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def kizuna(tmp_path, monkeypatch):
    monkeypatch.setenv("KIZUNA_DATABASE_URL", f"sqlite://{tmp_path}/k.sqlite3")
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "") -> tuple[int, str]:
        out = io.StringIO()
        if stdin:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(args), out=out)
        return code, out.getvalue()

    run("chat", "--workspace", "acme", "--user", "alice", stdin="thanks @bob for the notes #teamwork\n")
    return run


def test_settings_show_and_change_with_words_of_either_language(kizuna, capsys):
    code, out = kizuna("settings", "set", "言語", "en", "--workspace", "acme")
    assert code == 0 and "Settings saved" in out and "Language (locale): en" in out
    code, out = kizuna("settings", "set", "daily-limit", "5", "--workspace", "acme", "--locale", "ja")
    assert code == 0 and "(daily_limit): 5" in out
    code, _ = kizuna("settings", "set", "daily_limit", "many", "--workspace", "acme")
    assert code == 1 and "daily_limit" in capsys.readouterr().err
    code, _ = kizuna("settings", "set", "colour", "red", "--workspace", "acme")
    assert code == 1 and "colour" in capsys.readouterr().err


def test_values_rename_reorder_archive_and_restore(kizuna):
    code, out = kizuna("values", "rename", "teamwork", "--name-en", "Team play", "--emoji", "🤜", "--workspace", "acme")
    assert code == 0 and "#teamwork" in out
    code, out = kizuna("values", "reorder", "growth", "チームワーク", "--workspace", "acme")
    assert code == 0 and out.index("#growth") < out.index("#teamwork") < out.index("#collaboration")
    assert "Team play" in out
    kizuna("values", "archive", "growth", "--workspace", "acme")
    code, out = kizuna("values", "list", "--workspace", "acme")
    assert "Growth (archived)" in out
    kizuna("values", "restore", "growth", "--workspace", "acme")
    assert "(archived)" not in kizuna("values", "list", "--workspace", "acme")[1]


def test_departments_and_admins_from_the_cli(kizuna, capsys):
    assert kizuna("departments", "set", "--user", "bob", "Sales", "--workspace", "acme")[0] == 0
    assert kizuna("departments", "set", "--user", "alice", "営業部", "--workspace", "acme")[0] == 0
    code, out = kizuna("departments", "list", "--workspace", "acme")
    assert "Sales: 1" in out and "営業部: 1" in out
    # A typo names nobody: refused, and nobody is created.
    code, _ = kizuna("departments", "set", "--user", "bobb", "Sales", "--workspace", "acme")
    assert code == 1 and "bobb" in capsys.readouterr().err
    code, out = kizuna("admins", "grant", "bob", "--workspace", "acme", "--locale", "ja")
    assert code == 0 and "bob さんを管理者にしました" in out
    assert "bob" in kizuna("admins", "list", "--workspace", "acme")[1]


def test_setup_shows_what_is_left_with_the_cli_command_for_each_step(kizuna):
    code, out = kizuna("setup", "--workspace", "acme")
    assert code == 0
    assert "⬜ Feed channel" in out and "kizuna settings set feed_channel CHANNEL-ID" in out
    assert "✅ Values: 5 in use" in out and "Steps left: 3 of 4" in out
    kizuna("departments", "set", "--user", "bob", "Sales", "--workspace", "acme")
    code, out = kizuna("setup", "--workspace", "acme", "--locale", "ja")
    assert code == 0 and "✅ 部署: 1件" in out and "残り 2 / 4 ステップ" in out
