"""The README's example works on a fresh machine, as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only
README = Path(__file__).parents[2] / "README.md"


def test_the_meeting_example_works_from_nothing(tmp_path):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("From nothing, in a terminal"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    script = block.group(1).replace(".venv/bin/kizuna", f"{sys.executable} -m kizuna.cli")
    environment = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                            env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "⚠️" not in result.stdout, result.stdout
    assert "Sales x Eng sync" in result.stdout and "Sales × Engineering" in result.stdout


def test_the_mixer_example_works_from_nothing(tmp_path):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Shuffle lunch (mixers)"):]
    section = section[section.index("From nothing, in a terminal"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    script = block.group(1).replace(".venv/bin/kizuna", f"{sys.executable} -m kizuna.cli")
    environment = {**os.environ, "KIZUNA_DATABASE_URL": f"sqlite://{tmp_path}/k.sqlite3"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                            env=environment, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "⚠️" not in result.stdout, result.stdout
    assert "1 rounds formed" in result.stdout
    for name in ("alice", "bob", "carol", "dave", "erin"):
        assert result.stdout.count(name) >= 1
