"""The console adapter is an adapter like the others: found through ``kizuna.adapters``, it prints deliveries."""

from __future__ import annotations

import io

from adapters.contract import AdapterContext
from cards.build import notice_message
from cards.model import message_to_dict
from core import outbox
from core.config import Settings
from core.models import Delivery
from core.services.workspaces import ensure_workspace
from kizuna.plugins import load_adapters
from kizuna.worker import OutboxWorker


async def test_the_server_prints_console_deliveries(db):
    out = io.StringIO()
    adapters, off = load_adapters(AdapterContext(settings=Settings(), out=out))
    console = next(a for a in adapters if a.name == "console")
    assert console.platform == "console" and "console" not in off
    workspace = await ensure_workspace("console", "demo")
    message = message_to_dict(notice_message("en", "notice.settings_saved"))
    await outbox.enqueue(workspace, "console", "channel:console", "feed", {"type": "message", "message": message})
    assert await OutboxWorker(adapters).drain() == 1
    assert out.getvalue().startswith("--- channel:console (#")
    assert "Settings saved." in out.getvalue()
    assert (await Delivery.get()).status == outbox.DELIVERED


def test_kizuna_adapters_can_leave_the_console_out():
    adapters, off = load_adapters(AdapterContext(settings=Settings(adapters=("discord",))))
    assert adapters == [] and off["console"] == "not listed in KIZUNA_ADAPTERS"
