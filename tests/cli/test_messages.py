"""Every message the command line prints from a catalog exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from core.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_id_the_cli_uses_is_in_both_catalogs():
    used: set[str] = set()
    for path in (ROOT / "kizuna").glob("*.py"):
        used |= set(re.findall(r'"((?:cli|error|notice)\.[a-z_.]+[a-z_])"', path.read_text(encoding="utf-8")))
    assert {"cli.cannot_write", "cli.now_invalid", "notice.import_done"} <= used
    assert not {m for m in used if m not in catalog("en") or m not in catalog("ja")}

