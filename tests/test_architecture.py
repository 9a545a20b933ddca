"""The dependency direction is adapters → cards → core, and the imports prove it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FORBIDDEN = {
    "core": ("aiohttp", "botbuilder", "botframework", "nacl", "discord", "cards", "adapters", "kizuna"),
    "cards": ("aiohttp", "botbuilder", "botframework", "nacl", "discord", "adapters", "kizuna"),
    "adapters/teams": ("adapters.discord", "adapters.console", "nacl"),
    "adapters/discord": ("adapters.teams", "adapters.console", "botbuilder", "botframework"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_what_it_must_not(package):
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders
