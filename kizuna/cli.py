"""The ``kizuna`` command: serve, migrate, chat, values, members, export, backup, and the adapters' commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from core import db
from core.config import ConfigurationError, Settings, parse_workers
from core.errors import KizunaError
from core.i18n import normalize_locale, translate
from core.models import Workspace
from core.services.members import ImportFailed, decode_members_csv, import_members, parse_members_csv
from kizuna.cli_admin import add_cli as add_admin_commands
from kizuna.cli_dashboard import add_dashboard_commands
from kizuna.cli_meetings import add_cli as add_meeting_commands
from kizuna.cli_mixers import add_cli as add_mixer_commands
from kizuna.cli_projects import add_cli as add_project_commands
from kizuna.logs import configure_logging
from kizuna.plugins import add_cli_commands

log = logging.getLogger("kizuna.cli")


class CommandError(Exception):
    """A command cannot run; the message (a catalog id and its values) is for the person at the terminal."""

    def __init__(self, message_id: str, **params: Any) -> None:
        self.message_id = message_id
        self.params = params
        super().__init__(self.localized("en"))

    def localized(self, locale: str) -> str:
        """The message in ``locale``."""
        return translate(locale, self.message_id, **self.params)


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return number


async def open_database(settings: Settings, *, migrate_fresh: bool = True) -> None:
    """Open the database; a brand-new one is migrated, a half-migrated one is refused."""
    await db.open_for_command(settings.database_url, auto_migrate=settings.auto_migrate, migrate_fresh=migrate_fresh)


def run_with_database(settings: Settings, body: Callable[[], Awaitable[int]]) -> int:
    """Open the database, run ``body``, close it."""
    return db.run_with_database(settings.database_url, body, auto_migrate=settings.auto_migrate)


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
        options = " ".join(f"--{name} {value}" for name, value in (("workspace", external_id), ("platform", platform))
                           if value)
        if options:
            raise CommandError("cli.workspace_not_found", options=options)
        raise CommandError("cli.no_workspace")
    raise CommandError("cli.several_workspaces")


# ---- commands ----------------------------------------------------------------------------------


def cmd_serve(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from kizuna.server import check_settings, preflight, serve

    if args.workers is not None:
        settings = dataclasses.replace(settings, workers=parse_workers(args.workers))
    check_settings(settings)
    asyncio.run(preflight(settings))
    serve(settings)
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
        data = Path(args.file).read_bytes()
    except OSError as error:
        raise CommandError("cli.cannot_read", file=args.file, reason=error.strerror or str(error)) from None
    text = decode_members_csv(data, args.encoding)

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        try:
            rows = parse_members_csv(text, workspace.platform)
        except ImportFailed as failed:
            for error in failed.errors:
                print(f"{args.file}: {error.localized(args.locale)}", file=sys.stderr)
            print(translate(args.locale, "cli.import.nothing_imported"), file=sys.stderr)
            return 1
        result = await import_members(workspace, rows)
        print(translate(args.locale, "notice.import_done", created=result.created, updated=result.updated,
                        departments=result.departments_created), file=out)
        return 0

    return run_with_database(settings, body)


def cmd_export(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from core.services.export import export_csv

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise CommandError("cli.since_invalid", value=args.since) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)

    async def body() -> int:
        workspaces = [await find_workspace(args.workspace, args.platform)] if args.workspace or args.platform \
            else await Workspace.all().order_by("id")
        with contextlib.ExitStack() as stack:
            target = stack.enter_context(replacing(Path(args.out))) if args.out else out
            async for chunk in export_csv(workspaces, since, bom=args.bom):
                target.write(chunk)
        return 0

    return run_with_database(settings, body)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """Write ``path`` through a ``.part`` file beside it, renamed over it only when everything was written."""
    part = path.with_name(path.name + ".part")
    try:
        handle = open(part, "w", encoding="utf-8", newline="")  # noqa: SIM115  (closed below, before the rename)
    except OSError as error:
        raise CommandError("cli.cannot_write", file=str(path), reason=error.strerror or str(error)) from None
    try:
        with handle:
            yield handle
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    try:
        os.replace(part, path)
    except OSError as error:
        part.unlink(missing_ok=True)
        raise CommandError("cli.cannot_write", file=str(path), reason=error.strerror or str(error)) from None


def cmd_backup(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from kizuna.backup import backup

    done = backup(settings.database_url, Path(args.out), force=args.force)
    print(translate(args.locale, "cli.backup.done", database=str(done.database), file=str(done.file),
                    size=done.size, thanks=done.contents.thanks,
                    migration=done.contents.latest), file=out)
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from kizuna.backup import restore

    done = restore(settings.database_url, Path(args.file))
    print(translate(args.locale, "cli.restore.done", file=str(done.file), database=str(done.database),
                    thanks=done.contents.thanks, migration=done.contents.latest),
          file=out)
    if done.kept is not None:
        print(translate(args.locale, "cli.restore.kept", kept=str(done.kept)), file=out)
    if done.missing:
        print(translate(args.locale, "cli.restore.migrate", missing=", ".join(done.missing)), file=out)
    return 0


def cmd_stats_departments(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from core.services.stats import Period, department_matrix, department_shares

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        matrix = await department_matrix(workspace, Period(args.period))
        none = translate(args.locale, "cli.stats.no_department")
        names = [name or none for _, name in matrix.departments]
        if not names:
            print(translate(args.locale, "cli.stats.no_departments_yet"), file=out)
            return 0
        heading = translate(args.locale, "cli.stats.from_to")
        print("\t".join([heading, *names]), file=out)
        for (from_id, _), name in zip(matrix.departments, names, strict=True):
            cells = [str(matrix.count(from_id, to_id)) for to_id, _ in matrix.departments]
            print("\t".join([name, *cells]), file=out)
        print(file=out)
        header = [translate(args.locale, f"cli.stats.{column}") for column in
                  ("department", "sent", "sent_across", "received", "received_across")]
        print("\t".join(header), file=out)
        for share, name in zip(department_shares(matrix), names, strict=True):
            print(f"{name}\t{share.sent}\t{share.sent_share:.0%}\t{share.received}\t{share.received_share:.0%}",
                  file=out)
        return 0

    return run_with_database(settings, body)


def cmd_digest_preview(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from cards.digest import digest_text
    from core.services.digest import build_digest
    from core.services.stats import Period
    from kizuna.cli_meetings import _parse_now

    now = _parse_now(args.now)

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        moment = now.replace(tzinfo=ZoneInfo(workspace.timezone)) if now and now.tzinfo is None else now
        digest = await build_digest(workspace, Period(args.period), now=moment, ending_now=not args.complete)
        print(digest_text(digest, args.locale or workspace.default_locale, workspace.timezone,
                          public_url=settings.base_url), file=out)
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

    serve_parser = sub.add_parser("serve", help="run the server")
    serve_parser.add_argument("--workers", metavar="N",
                              help="processes serving the port: a number, or 'auto' for one per core "
                                   "(PostgreSQL only above 1; default KIZUNA_WORKERS, else 1)")
    serve_parser.set_defaults(handler=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)

    members = sub.add_parser("members", help="import members and departments")
    members_sub = members.add_subparsers(dest="members_command", required=True)
    imp = members_sub.add_parser("import", help="CSV columns: platform,user_id,display_name,department,admin")
    imp.add_argument("file")
    imp.add_argument("--encoding", help="the file's encoding, e.g. cp932 (default: UTF-8, else Shift-JIS as "
                     "Japanese Excel saves it)")
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

    backup = sub.add_parser("backup", help="copy the SQLite database while the server runs (PostgreSQL: pg_dump)")
    backup.add_argument("--out", required=True, metavar="FILE", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.add_argument("--locale", choices=["ja", "en"], default="en")
    backup.set_defaults(handler=cmd_backup)
    restore = sub.add_parser("restore", help="put a backup in place of the SQLite database (stop the server first)")
    restore.add_argument("file", metavar="FILE", help="a file written by `kizuna backup`")
    restore.add_argument("--locale", choices=["ja", "en"], default="en")
    restore.set_defaults(handler=cmd_restore)

    digest = sub.add_parser("digest", help="the weekly or monthly recognition digest")
    digest_sub = digest.add_subparsers(dest="digest_command", required=True)
    preview = digest_sub.add_parser("preview", help="print the digest of the period ending now (the last 7 days or "
                                    "the last month, today included)")
    _workspace_options(preview)
    preview.add_argument("--period", choices=["week", "month"], default="week")
    preview.add_argument("--locale", choices=["ja", "en"], help="default: the workspace's language")
    preview.add_argument("--now", help="as if it were this instant (ISO 8601; no zone: the workspace's zone)")
    preview.add_argument("--complete", action="store_true",
                         help="the last complete week (Monday to Sunday) or month instead, as the scheduled digest "
                              "posts it")
    preview.set_defaults(handler=cmd_digest_preview)
    from kizuna.cli_digest import add_digest_commands

    add_digest_commands(digest_sub)

    add_meeting_commands(sub)
    add_mixer_commands(sub)
    add_project_commands(sub)
    add_admin_commands(sub)
    add_dashboard_commands(sub)
    add_cli_commands(sub)  # the adapters' commands: entry-point group kizuna.cli (chat, discord, teams)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``kizuna`` console script: a failure is one line on standard error, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    # Errors speak the command's --locale, when it has one.
    locale = normalize_locale(getattr(args, "locale", None)) or "en"
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
    except (CommandError, db.MigrationsMissing) as error:
        print(f"kizuna: {error.localized(locale)}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"kizuna: {error}", file=sys.stderr)
        return 2
    except KizunaError as error:
        print(f"kizuna: {error.localized(locale)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read our output has gone (`kizuna chat … | head`): stop quietly, as other tools do. Standard
        # output now points nowhere, so the interpreter's last flush cannot complain either.
        if stream is sys.stdout:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, the status of a tool that the signal stopped
    except OSError as error:
        # A file or connection that the commands above do not name themselves; KIZUNA_LOG_LEVEL=DEBUG shows where.
        log.debug("command failed", exc_info=True)
        print(f"kizuna: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # ``python -m kizuna.cli`` runs this file as ``__main__``; hand over to the importable module, so that the
    # extensions' ``from kizuna.cli import CommandError`` is the class that ``main`` catches.
    from kizuna.cli import main as _main

    raise SystemExit(_main())
