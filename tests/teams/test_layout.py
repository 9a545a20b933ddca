"""The Teams modules that only compute work on plain data: importing them loads no Bot Framework SDK."""

from __future__ import annotations

import subprocess
import sys

PLAIN = ("text", "invokes", "people", "outcomes", "dialog", "meetings", "render", "incoming", "host")


def test_the_modules_that_only_compute_do_not_import_the_sdk():
    imports = "; ".join(f"import adapters.teams.{name}" for name in PLAIN)
    check = ("import sys; loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('botbuilder', 'botframework', 'msrest')); print(','.join(loaded))")
    result = subprocess.run([sys.executable, "-c", f"{imports}; {check}"], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_the_bot_does_not_import_its_adapter():
    result = subprocess.run([sys.executable, "-c", "import sys, adapters.teams.botframework.handler; "
                             "print('adapters.teams.botframework.adapter' in sys.modules)"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
