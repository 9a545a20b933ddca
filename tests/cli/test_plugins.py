"""Plug-ins through entry points: sub-commands (``kizuna.cli``) and adapters that check their own settings."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.discord.settings import DiscordSettings
from adapters.teams.settings import TeamsSettings
from core.config import Settings
from kizuna.cli import build_parser, main


def install_plugin(root: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str, **modules: str) -> None:
    """A distribution on ``sys.path`` with these entry points and modules, as ``pip install`` would leave it."""
    info = root / "kizuna_extra-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kizuna-extra\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))


HELLO = '''
def add_cli(subparsers):
    hello = subparsers.add_parser("hello", help="say hello")
    hello.add_argument("--name", default="world")
    hello.set_defaults(handler=lambda settings, args, out: print(f"hello {args.name}", file=out))
'''


def test_an_installed_package_adds_its_own_command(tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, "[kizuna.cli]\nhello = kizuna_hello:add_cli\n", kizuna_hello=HELLO)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["hello", "--name", "Kizuna"], out) == 0
    assert out.getvalue() == "hello Kizuna\n"


def test_a_command_plugin_that_cannot_load_is_named_and_the_rest_still_works(tmp_path, monkeypatch, capsys):
    install_plugin(tmp_path, monkeypatch, "[kizuna.cli]\nbroken = kizuna_missing_module:add_cli\n")
    args = build_parser().parse_args(["chat", "--user", "alice"])
    assert args.user == "alice" and callable(args.handler)
    err = capsys.readouterr().err
    assert "the broken commands (kizuna_missing_module:add_cli) cannot be loaded" in err


def test_the_adapters_commands_come_from_their_entry_points():
    from importlib.metadata import entry_points

    assert {ep.name: ep.value for ep in entry_points(group="kizuna.cli")} == {
        "chat": "adapters.console.cli:add_cli", "discord": "adapters.discord.cli:add_cli",
        "teams": "adapters.teams.cli:add_cli"}


def test_each_adapter_reads_its_own_variables_from_the_environment_and_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_PUBLIC_KEY=ab12\nDISCORD_API_BASE=http://127.0.0.1:9/api/\n"
                        "MICROSOFT_APP_ID=from-file\nKIZUNA_TEAMS_ADMIN_IDS=aad-1, aad-2,aad-3\n", encoding="utf-8")
    settings = Settings.from_env({"MICROSOFT_APP_ID": " from-environment "}, env_file=env_file)
    assert DiscordSettings.read(settings) == DiscordSettings(public_key="ab12", api_base="http://127.0.0.1:9/api")
    teams = TeamsSettings.read(settings)
    assert teams.app_id == "from-environment" and teams.admin_ids == ("aad-1", "aad-2", "aad-3")
    assert teams.app_type == "SingleTenant"
    assert DiscordSettings.read(Settings()).api_base == "https://discord.com/api/v10"
    assert "from-environment" not in repr(settings)  # secrets stay out of logs


@pytest.mark.sqlite_only
def test_serve_checks_every_adapters_settings_before_touching_the_database(tmp_path):
    environment = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3", "DISCORD_PUBLIC_KEY": "abc"}
    environment.pop("KIZUNA_AUTO_MIGRATE", None)
    result = subprocess.run([sys.executable, "-m", "kizuna.cli", "serve"], capture_output=True, text=True,
                            cwd=tmp_path, env=environment, timeout=60)
    assert result.returncode == 2
    assert "DISCORD_PUBLIC_KEY must be the application's public key" in result.stderr
    assert not (tmp_path / "k.sqlite3").exists()
