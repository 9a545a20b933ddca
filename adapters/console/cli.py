"""``kizuna chat --workspace W --user U [--locale L]``: talk to Kizuna in the terminal (lines from standard input)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from adapters.console import ConsoleSession
from cards.text import render_text
from core.config import Settings
from core.db import run_with_database


def cmd_chat(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """Answer each line of standard input until it ends; a prompt when a person is typing."""
    async def body() -> int:
        session = await ConsoleSession.open(args.workspace, args.user, args.locale, public_url=settings.base_url)
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                print(f"{args.user}> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return 0
            reply = await session.handle(line)
            if reply is not None:
                print(render_text(reply), file=out, flush=True)

    return run_with_database(settings.database_url, body, auto_migrate=settings.auto_migrate)


def add_cli(subparsers: Any) -> None:
    """The ``kizuna.cli`` entry point: add ``kizuna chat``."""
    chat = subparsers.add_parser("chat", help="talk to Kizuna in the terminal (lines from standard input)")
    chat.add_argument("--workspace", default="demo")
    chat.add_argument("--user", required=True, help="who you are (your console id and display name)")
    chat.add_argument("--locale", choices=["ja", "en"], help="reply language (default: the workspace's)")
    chat.set_defaults(handler=cmd_chat)
