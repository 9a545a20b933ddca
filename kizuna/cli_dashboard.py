"""``kizuna dashboard link --workspace W --user U``: print a one-time sign-in link to the insights dashboard.

The link is made by the same ``dashboard`` command every chat surface runs, for the member named by
their platform user id, and opens the dashboard in their language (``--locale`` overrides it).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, execute
from core.config import Settings
from core.errors import UnknownMember
from core.i18n import resolve_locale
from core.models import Member

PLATFORM = "cli"


def cmd_dashboard_link(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """Print the link (only the URL, so that a script can use it); it works once, for 10 minutes."""
    from kizuna.cli import find_workspace, run_with_database

    async def body() -> int:
        workspace = await find_workspace(args.workspace, args.platform)
        member = await Member.get_or_none(workspace_id=workspace.id, platform_user_id=args.user)
        if member is None:  # a typo must not create anybody
            raise UnknownMember(name=args.user[:60])
        locale = resolve_locale(args.locale or member.locale, workspace.default_locale)
        context = Context(workspace, member, locale, PLATFORM, public_url=settings.base_url)
        outcome = await execute(context, c.OpenDashboard())
        assert isinstance(outcome, o.DashboardLinkIssued)
        print(outcome.url, file=out)
        return 0

    return run_with_database(settings, body)


def add_dashboard_commands(sub: Any) -> None:
    """``kizuna dashboard link``."""
    from kizuna.cli import _workspace_options

    dashboard = sub.add_parser("dashboard", help="the insights dashboard")
    dashboard_sub = dashboard.add_subparsers(dest="dashboard_command", required=True)
    link = dashboard_sub.add_parser("link", help="print a one-time sign-in link for a member (valid 10 minutes)")
    _workspace_options(link)
    link.add_argument("--user", required=True, help="the member's platform user id (console: their name)")
    link.add_argument("--locale", choices=["ja", "en"], help="the dashboard's language (default: the member's)")
    link.set_defaults(handler=cmd_dashboard_link)
