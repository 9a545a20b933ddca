"""The ``kizuna`` command: serve, migrate, chat, values, members, export, and the adapters' commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core import db
from core.config import ConfigurationError, Settings
from core.errors import KizunaError
from core.models import Workspace
from core.services.members import ImportFailed, import_members, parse_members_csv
from kizuna.cli_admin import add_cli as add_admin_commands
from kizuna.cli_meetings import add_cli as add_meeting_commands
from kizuna.logs import configure_logging
from kizuna.plugins import add_cli_commands

log = logging.getLogger("kizuna.cli")


class CommandError(Exception):
    """A command cannot run; the message is for the person at the terminal."""


async def open_database(settings: Settings, *, migrate_fresh: bool = True) -> None:
    """Open the database; a brand-new one is migrated, a half-migrated one is refused."""
    await db.init_db(settings.database_url)
    pending = await db.pending_migrations()
    if not pending:
        return
    from core.migrations import __name__ as _  # noqa: F401  (the package must be importable)

    applied = await db.applied_migrations()
    if (migrate_fresh and not applied) or settings.auto_migrate:
        await db.apply_migrations()
        return
    await db.close_db()
    raise CommandError(f"the database is missing migrations ({', '.join(pending)}); run `kizuna migrate` first")


def run_with_database(settings: Settings, body: Callable[[], Awaitable[int]]) -> int:
    """Open the database, run ``body``, close it."""

    async def main() -> int:
        await open_database(settings)
        try:
            return await body()
        finally:
            await db.close_db()

    return asyncio.run(main())


async def find_workspace(external_id: str | None, platform: str | None = None) -> Workspace:
    """The workspace named on the command line (the only one if there is exactly one)."""
    query = Workspace.all()
    if platform:
        query = query.filter(platform=platform)
    if external_id:
        query = query.filter(external_id=external_id)
    found = await query.limit(2)
    if len(found) == 1:
        return found[0]
    if not found:
        raise CommandError(f"no workspace {external_id or ''} {('on ' + platform) if platform else ''}".strip()
                           + "; `kizuna chat --workspace NAME` creates a console workspace")
    raise CommandError("several workspaces match; name one with --workspace (and --platform)")


# ---- commands ----------------------------------------------------------------------------------


def cmd_serve(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from aiohttp import web

    from kizuna.server import build_app, check_settings, ensure_migrated

    check_settings(settings)

    async def preflight() -> None:
        await db.init_db(settings.database_url)
        try:
            await ensure_migrated(settings)
        finally:
            await db.close_db()

    asyncio.run(preflight())
    app = build_app(settings)
    log.info("serving on http://%s:%s", settings.host, settings.port)
    web.run_app(app, host=settings.host, port=settings.port, shutdown_timeout=5.0, print=None,
                access_log=None, handle_signals=True)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async def main() -> int:
        await db.init_db(settings.database_url)
        try:
            applied = await db.apply_migrations()
        finally:
            await db.close_db()
        print("applied: " + ", ".join(applied) if applied else "the database is up to date", file=out)
        return 0

    return asyncio.run(main())


def cmd_members_import(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {args.file}: {error}") from None

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        try:
            rows = parse_members_csv(text, workspace.platform)
        except ImportFailed as failed:
            for error in failed.errors:
                print(f"{args.file}: {error.localized(args.locale)}", file=sys.stderr)
            print("nothing was imported", file=sys.stderr)
            return 1
        result = await import_members(workspace, rows)
        print(f"imported {result.created} new, {result.updated} updated members; "
              f"{result.departments_created} new departments", file=out)
        return 0

    return run_with_database(settings, body)


def cmd_export(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from core.services.export import export_csv

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise CommandError(f"--since must be a date like 2026-11-01, not {args.since!r}") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)

    async def body() -> int:
        workspaces = [await find_workspace(args.workspace, args.platform)] if args.workspace or args.platform \
            else await Workspace.all().order_by("id")
        with contextlib.ExitStack() as stack:
            target = stack.enter_context(open(args.out, "w", encoding="utf-8", newline="")) if args.out else out  # noqa: ASYNC230
            async for chunk in export_csv(workspaces, since, bom=args.bom):
                target.write(chunk)
        return 0

    return run_with_database(settings, body)


def cmd_stats_departments(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from core.services.stats import Period, department_matrix, department_shares

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        matrix = await department_matrix(workspace, Period(args.period))
        none = "(none)" if args.locale == "en" else "（部署なし）"
        names = [name or none for _, name in matrix.departments]
        if not names:
            print("no departments yet" if args.locale == "en" else "部署がまだありません", file=out)
            return 0
        heading = "from \\ to" if args.locale == "en" else "送った部署 \\ 受け取った部署"
        print("\t".join([heading, *names]), file=out)
        for (from_id, _), name in zip(matrix.departments, names, strict=True):
            cells = [str(matrix.count(from_id, to_id)) for to_id, _ in matrix.departments]
            print("\t".join([name, *cells]), file=out)
        print(file=out)
        header = ("department", "sent", "to other departments", "received", "from other departments") \
            if args.locale == "en" else ("部署", "送った", "他部署へ", "受け取った", "他部署から")
        print("\t".join(header), file=out)
        for share, name in zip(department_shares(matrix), names, strict=True):
            print(f"{name}\t{share.sent}\t{share.sent_share:.0%}\t{share.received}\t{share.received_share:.0%}",
                  file=out)
        return 0

    return run_with_database(settings, body)


# ---- parser ------------------------------------------------------------------------------------


def _workspace_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", help="workspace id (console name, Teams tenant id, Discord guild id)")
    parser.add_argument("--platform", choices=["console", "teams", "discord"], help="the workspace's platform")


def build_parser() -> argparse.ArgumentParser:
    """The whole ``kizuna`` command line."""
    parser = argparse.ArgumentParser(prog="kizuna", description="Kizuna (絆): thanks that connect departments.")
    parser.add_argument("--env-file", default=".env", help="read settings from this file too (default .env)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("serve", help="run the server").set_defaults(handler=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)


    members = sub.add_parser("members", help="import members and departments")
    members_sub = members.add_subparsers(dest="members_command", required=True)
    imp = members_sub.add_parser("import", help="CSV columns: platform,user_id,display_name,department,admin")
    imp.add_argument("file")
    imp.add_argument("--locale", choices=["ja", "en"], default="en")
    _workspace_options(imp)
    imp.set_defaults(handler=cmd_members_import)

    export = sub.add_parser("export", help="export data as CSV")
    export_sub = export.add_subparsers(dest="export_what", required=True)
    thanks = export_sub.add_parser("thanks", help="one row per thanks and recipient")
    _workspace_options(thanks)
    thanks.add_argument("--since", help="only thanks from this date (ISO 8601)")
    thanks.add_argument("--format", choices=["csv"], default="csv")
    thanks.add_argument("--out", help="file to write (default: standard output)")
    thanks.add_argument("--bom", action="store_true", help="start with a UTF-8 byte-order mark (for Excel)")
    thanks.set_defaults(handler=cmd_export)

    stats = sub.add_parser("stats", help="statistics for admins")
    stats_sub = stats.add_subparsers(dest="stats_what", required=True)
    departments = stats_sub.add_parser(
        "departments", help="who thanks whom across departments, and each department's cross-department share")
    _workspace_options(departments)
    departments.add_argument("--period", choices=["week", "month", "all"], default="month")
    departments.add_argument("--locale", choices=["ja", "en"], default="en")
    departments.set_defaults(handler=cmd_stats_departments)

    add_meeting_commands(sub)
    add_admin_commands(sub)
    add_cli_commands(sub)  # the adapters' commands: entry-point group kizuna.cli (chat, discord, teams)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``kizuna`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    try:
        settings = Settings.from_env(env_file=args.env_file)
        configure_logging(settings.log_level, environ=settings.environ)
        if hasattr(args, "handler"):
            handler: Callable[[Settings, argparse.Namespace, TextIO], Any] = args.handler
            result = handler(settings, args, stream)
        else:  # extensions whose leaves take only the parsed arguments
            result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (CommandError, ConfigurationError) as error:
        print(f"kizuna: {error}", file=sys.stderr)
        return 2
    except KizunaError as error:
        print(f"kizuna: {error.localized('en')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
