"""The messages of the ``dashboard`` command: the sign-in link, or where it was sent."""

from __future__ import annotations

from cards.model import Message, NoticeMessage
from cards.outcomes import Audience, renders
from core.app import outcomes as o
from core.i18n import translate


@renders(o.DashboardLinkIssued)
def _link(outcome: o.DashboardLinkIssued, audience: Audience) -> Message:
    lang = audience.lang
    return NoticeMessage(lang, translate(lang, "dashboard.link", minutes=outcome.minutes),
                         translate(lang, "dashboard.link_title"), link=outcome.url,
                         link_label=translate(lang, "dashboard.open"))


@renders(o.DashboardLinkSentPrivately)
def _sent(outcome: o.DashboardLinkSentPrivately, audience: Audience) -> Message:
    lang = audience.lang
    return NoticeMessage(lang, translate(lang, "dashboard.link_sent"), translate(lang, "dashboard.link_title"))
