"""Outbox deliveries → neutral messages, in the audience's locale (pure: ``core.app.deliveries`` reads)."""

from __future__ import annotations

import cards.after_meeting  # noqa: F401  (registers the after-meeting prompt's message)
from cards.build import recipient_notification
from cards.model import Message, message_from_dict
from cards.outcomes import Audience, render_outcome, renders
from core.app.deliveries import Notified, Prepared
from core.app.outcomes import Outcome


@renders(Notified)
def _notified(outcome: Notified, audience: Audience) -> Message:
    return recipient_notification(outcome.view, audience.lang, audience.timezone)


@renders(Prepared)
def _prepared(outcome: Prepared, audience: Audience) -> Message:
    return message_from_dict(dict(outcome.data))


def delivery_message(outcome: Outcome, locale: str, timezone: str, platform: str = "console",
                     public_url: str = "") -> Message:
    """The message of one delivery, for the surface it goes to (``public_url``: where people reach Kizuna)."""
    return render_outcome(outcome, Audience(locale, timezone, platform, public_url))
