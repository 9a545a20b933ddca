"""The ``dashboard`` command: a one-time sign-in link to the insights dashboard, on every surface."""

from __future__ import annotations

from core import outbox
from core.app import commands as c
from core.app import outcomes as o
from core.app.execute import Context, handles
from core.dashboard.access import LINK_LIFETIME, issue_link

DEFAULT_PUBLIC_URL = "http://127.0.0.1:3978"
# The outbox kind of a sign-in link sent 1:1 (``kizuna outbox list`` shows it).
LINK_KIND = "dashboard_link"


@handles(c.OpenDashboard)
async def _open_dashboard(context: Context, command: c.OpenDashboard) -> o.Outcome:
    link = await issue_link(context.workspace, context.actor, context.locale,
                            context.public_url or DEFAULT_PUBLIC_URL, now=context.now)
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    if not command.privately:
        return o.DashboardLinkIssued(link.url, minutes)
    # Asked in a shared conversation: whoever reads it there must not get the link.
    await outbox.enqueue(context.workspace, context.workspace.platform, f"member:{context.actor.platform_user_id}",
                         LINK_KIND, {"type": LINK_KIND, "url": link.url, "minutes": minutes}, locale=context.locale,
                         not_before=None)
    return o.DashboardLinkSentPrivately()
