"""Adapters read and check their own settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from adapters.discord.settings import DiscordSettings
from adapters.teams.settings import TeamsSettings
from core.config import Settings


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
