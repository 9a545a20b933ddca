"""The dependency rules in pyproject.toml ([tool.importlinter]) hold, as import-linter checks them for `make lint`.

import-linter reads every import of every package, relative and inside functions too: the layers
(kizuna → adapters → cards → core), adapters that never import each other, no HTTP or chat library in
core and cards, and kizuna reaching adapters only through the plug-in contract (adapters/contract.py).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_every_import_contract_is_kept():
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_rules_the_design_names_are_contracts():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contracts = {c["id"]: c for c in config["contracts"]}
    assert contracts["layers"]["layers"] == ["kizuna", "adapters", "cards", "core"]
    assert set(contracts["independent-adapters"]["modules"]) == {"adapters.teams", "adapters.discord",
                                                                 "adapters.console"}
    assert {"aiohttp", "botbuilder", "botframework", "nacl"} <= set(contracts["chat-agnostic"]["forbidden_modules"])
    assert set(contracts["plug-in-contract"]["forbidden_modules"]) == {"adapters.teams", "adapters.discord",
                                                                      "adapters.console"}
