"""The console adapter's outbox side: no routes, and messages for console workspaces are printed."""

from __future__ import annotations

from typing import TextIO

from aiohttp import web

from adapters.contract import AdapterContext, OutgoingMessage
from cards.text import render_text


class ConsoleAdapter:
    """Delivers console-workspace messages by printing them (there is no chat service to post to)."""

    name = "console"
    platform = "console"

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def mount(self, app: web.Application) -> None:
        """No routes: people talk to the console with ``kizuna chat``."""

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def deliver(self, outgoing: OutgoingMessage) -> None:
        """Print one message under the address it was meant for."""
        print(f"--- {outgoing.address_key} (#{outgoing.delivery_id}) ---", file=self.out)
        print(render_text(outgoing.message), file=self.out, flush=True)


def create_adapter(context: AdapterContext) -> ConsoleAdapter:
    """The ``kizuna.adapters`` entry point: always on, printing to the context's terminal."""
    return ConsoleAdapter(context.out)
