"""``kizuna project list|show|close|reopen|run-due``: projects from the command line, as the operator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC
from typing import Any, TextIO

from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core.app import commands as c
from core.app.execute import Context, execute
from core.config import Settings
from core.errors import KizunaError
from core.i18n import resolve_locale
from core.projects import closing
from core.services.access import SYSTEM_ACTOR

_COMMANDS: dict[str, Callable[[argparse.Namespace], c.Command]] = {
    "list": lambda a: c.ListProjects(include_closed=a.all),
    "show": lambda a: c.ShowProject(a.key),
    "close": lambda a: c.CloseProject(a.key),
    "reopen": lambda a: c.ReopenProject(a.key),
}


def cmd_project(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """One project command for a workspace, through the same commands as every chat surface."""
    from kizuna.cli import find_workspace, run_with_database

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        locale = resolve_locale(args.locale, workspace.default_locale)
        try:
            context = Context(workspace, SYSTEM_ACTOR, locale, workspace.platform)
            outcome = await execute(context, _COMMANDS[args.project_command](args))
        except KizunaError as error:
            print(f"kizuna: {error.localized(locale)}", file=sys.stderr)
            return 1
        print(render_text(render_outcome(outcome, Audience(locale, workspace.timezone, "cli"))), file=out)
        return 0

    return run_with_database(settings, body)


def cmd_project_run_due(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """``kizuna project run-due [--now T]``: close the projects whose end date is over, queue their closing
    cards (once), and deliver what is due."""
    from kizuna.cli import run_with_database
    from kizuna.cli_meetings import _parse_now, delivery_adapters
    from kizuna.worker import OutboxWorker

    now = _parse_now(args.now)

    async def body() -> int:
        result = await closing.run_due(now if now is None or now.tzinfo else now.replace(tzinfo=UTC))
        adapters = delivery_adapters(settings, out)
        worker = OutboxWorker.from_settings(adapters, settings)
        for adapter in adapters:
            await adapter.start()
        try:
            await worker.drain()
        finally:
            for adapter in adapters:
                await adapter.close()
        print(f"projects at {result.now.isoformat()}: {len(result.closed)} closed at their end, "
              f"{len(result.announced)} closing cards queued", file=out)
        return 0

    return run_with_database(settings, body)


def add_cli(subparsers: Any) -> None:
    """Register ``project`` on the ``kizuna`` command line."""
    project = subparsers.add_parser("project", help="cross-department projects of a workspace")
    project_sub = project.add_subparsers(dest="project_command", required=True)
    listed = project_sub.add_parser("list", help="the open projects")
    listed.add_argument("--all", action="store_true", help="closed projects too")
    parsers = [listed]
    for name, text in (("show", "one project and its thanks between departments"),
                       ("close", "close a project and post its closing card"),
                       ("reopen", "open a closed project again")):
        parser = project_sub.add_parser(name, help=text)
        parser.add_argument("key", help="the project's key or name")
        parsers.append(parser)
    for parser in parsers:
        parser.add_argument("--workspace", help="workspace id (default: the only one)")
        parser.add_argument("--platform", choices=["console", "teams", "discord"])
        parser.add_argument("--locale", choices=["ja", "en"])
        parser.set_defaults(handler=cmd_project)
    run_due = project_sub.add_parser("run-due", help="close projects past their end date, post their closing "
                                     "cards once, deliver, exit")
    run_due.add_argument("--now", help="pretend it is this time (ISO 8601; default: now)")
    run_due.set_defaults(handler=cmd_project_run_due)


__all__ = ["add_cli", "cmd_project", "cmd_project_run_due"]
