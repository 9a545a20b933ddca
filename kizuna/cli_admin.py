"""Administration from the command line: settings, values, departments and admins.

Each subcommand builds the same command object that Teams, Discord and the console build, and runs
it through ``core.app.execute`` as the operator (an admin of every workspace); the answer is the
same message, printed as text in ``--locale``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from cards.outcomes import Audience, render_outcome
from cards.text import render_text
from core.app import commands as c
from core.app.execute import Context, execute
from core.config import Settings
from core.errors import KizunaError, UnknownMember
from core.models import Member, Workspace
from core.services.access import SYSTEM_ACTOR
from core.services.members import Person

PLATFORM = "cli"
Build = Callable[[argparse.Namespace], c.Command]


async def _person(workspace: Workspace, user: str) -> Person:
    """A member named on the command line by platform id: they must exist (a typo must not create one)."""
    exists = await Member.filter(workspace_id=workspace.id, platform_user_id=user).exists()
    if not exists:
        raise UnknownMember(name=user[:60])
    return Person(user)


def _runner(build: Build, *, person: str | None = None) -> Callable[[Settings, argparse.Namespace, TextIO], int]:
    """The handler of one subcommand: open the database, find the workspace, execute, print."""

    def handler(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
        from kizuna.cli import find_workspace, run_with_database

        async def body() -> int:
            workspace = await find_workspace(args.workspace, args.platform)
            try:
                if person is not None:
                    setattr(args, "person", await _person(workspace, getattr(args, person)))  # noqa: B010
                command = build(args)
                context = Context(workspace, SYSTEM_ACTOR, args.locale, PLATFORM, channel=None)
                outcome = await execute(context, command)
            except KizunaError as error:
                print(f"kizuna: {error.localized(args.locale)}", file=sys.stderr)
                return 1
            print(render_text(render_outcome(outcome, Audience(args.locale, workspace.timezone, PLATFORM))), file=out)
            return 0

        return run_with_database(settings, body)

    return handler


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", help="workspace id (console name, Teams tenant id, Discord guild id)")
    parser.add_argument("--platform", choices=["console", "teams", "discord"], help="the workspace's platform")
    parser.add_argument("--locale", choices=["ja", "en"], default="en", help="answer language (default en)")


def _leaf(sub: Any, name: str, help_text: str, build: Build, *, person: str | None = None,
          arguments: Callable[[argparse.ArgumentParser], object] | None = None) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    if arguments is not None:
        arguments(parser)
    _common(parser)
    parser.set_defaults(handler=_runner(build, person=person))
    return parser


def add_cli(subparsers: Any) -> None:
    """``kizuna setup``, ``kizuna settings``, ``kizuna values``, ``kizuna departments`` and ``kizuna admins``."""
    _leaf(subparsers, "setup", "what is set up and what is left: feed channel, values, departments, a first meeting",
          lambda a: c.ShowSetup())
    settings = subparsers.add_parser("settings", help="show or change workspace settings")
    settings_sub = settings.add_subparsers(dest="settings_command", required=True)
    _leaf(settings_sub, "show", "every setting", lambda a: c.ShowSettings())
    _leaf(settings_sub, "set", "change one: locale, timezone, feed_channel, leaderboard, daily_limit, "
          "max_message_length, value_required", lambda a: c.ChangeSetting(a.name, a.value),
          arguments=lambda p: (p.add_argument("name"), p.add_argument("value")))

    values = subparsers.add_parser("values", help="list, add, rename, reorder, archive or restore values")
    values_sub = values.add_subparsers(dest="values_command", required=True)
    _leaf(values_sub, "list", "every value, archived ones too", lambda a: c.ListValues(include_archived=True))

    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("key")
        p.add_argument("name_en")
        p.add_argument("name_ja", nargs="?", default="")
        p.add_argument("--emoji", default="")
        p.add_argument("--description-en", default="")
        p.add_argument("--description-ja", default="")

    _leaf(values_sub, "add", "a new value", lambda a: c.AddValue(a.key, a.name_en, a.name_ja, a.emoji,
                                                                 a.description_en, a.description_ja),
          arguments=add_arguments)

    def rename_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("value", help="the value's key or name")
        p.add_argument("--name-en")
        p.add_argument("--name-ja")
        p.add_argument("--emoji")

    _leaf(values_sub, "rename", "new names or emoji", lambda a: c.RenameValue(a.value, a.name_en, a.name_ja, a.emoji),
          arguments=rename_arguments)
    _leaf(values_sub, "reorder", "show these values first, in this order", lambda a: c.ReorderValues(tuple(a.values)),
          arguments=lambda p: p.add_argument("values", nargs="+"))
    _leaf(values_sub, "archive", "retire a value", lambda a: c.ArchiveValue(a.value),
          arguments=lambda p: p.add_argument("value"))
    _leaf(values_sub, "restore", "bring an archived value back", lambda a: c.RestoreValue(a.value),
          arguments=lambda p: p.add_argument("value"))

    departments = subparsers.add_parser("departments", help="departments: list, set, rename, merge, map a role")
    departments_sub = departments.add_subparsers(dest="departments_command", required=True)
    _leaf(departments_sub, "list", "the departments and their members", lambda a: c.ListDepartments())
    _leaf(departments_sub, "set", "put a member in a department (none: leave it out)",
          lambda a: c.SetDepartment(a.person, a.department), person="user",
          arguments=lambda p: (p.add_argument("--user", required=True, help="the member's platform id"),
                               p.add_argument("department", nargs="?")))
    _leaf(departments_sub, "rename", "a department's new name", lambda a: c.RenameDepartment(a.old, a.new),
          arguments=lambda p: (p.add_argument("old"), p.add_argument("new")))
    _leaf(departments_sub, "merge", "move everyone of SOURCE into TARGET and remove SOURCE",
          lambda a: c.MergeDepartments(a.source, a.target),
          arguments=lambda p: (p.add_argument("source"), p.add_argument("target")))
    _leaf(departments_sub, "map-role", "Discord: members with this role belong to DEPARTMENT",
          lambda a: c.MapRole(a.role, a.department),
          arguments=lambda p: (p.add_argument("role", help="the Discord role id"), p.add_argument("department")))

    admins = subparsers.add_parser("admins", help="who administers a workspace")
    admins_sub = admins.add_subparsers(dest="admins_command", required=True)
    _leaf(admins_sub, "list", "the admins", lambda a: c.ListAdmins())
    _leaf(admins_sub, "grant", "make a member an admin", lambda a: c.GrantAdmin(a.person), person="user",
          arguments=lambda p: p.add_argument("user", help="the member's platform id"))
    _leaf(admins_sub, "revoke", "take admin rights away", lambda a: c.RevokeAdmin(a.person), person="user",
          arguments=lambda p: p.add_argument("user", help="the member's platform id"))
