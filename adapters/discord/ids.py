"""Ids that options, modals and buttons carry: a snowflake, or a polite, localised error.

Discord fills user, channel and role options (and user selects) with ids it knows, so anything
else is not someone or something of this server: it must neither become a member, a feed channel
or a department's role, nor reach a column it does not fit.
"""

from __future__ import annotations

from typing import Any

from adapters.discord.wire import is_snowflake
from core.errors import KizunaError, UnknownMember

_SHOWN = 40


class NotAChannel(KizunaError):
    message_id = "discord.error.not_a_channel"


class NotARole(KizunaError):
    message_id = "discord.error.not_a_role"


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def user_id(value: Any) -> str:
    """``value`` if it is a user id, else ``UnknownMember``."""
    if not is_snowflake(value):
        raise UnknownMember(name=_shown(value))
    return str(value)


def channel_id(value: Any) -> str:
    """``value`` if it is a channel id, else ``NotAChannel``."""
    if not is_snowflake(value):
        raise NotAChannel(value=_shown(value))
    return str(value)


def role_id(value: Any) -> str:
    """``value`` if it is a role id, else ``NotARole``."""
    if not is_snowflake(value):
        raise NotARole(value=_shown(value))
    return str(value)
