"""Discord wire format: the numbers Discord uses and TypedDicts for the payload parts Kizuna reads.

Only what Kizuna uses is typed; everything else in a payload is ignored, so new fields Discord
adds never break us (see notes/platform-facts.md B.1).
"""

from __future__ import annotations

import re
from typing import Any, NotRequired, TypedDict

# Interaction types (receiving-and-responding.mdx:54-62).
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Interaction callback types (:271-278).
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
MODAL = 9

# Message flags.
EPHEMERAL = 1 << 6

# Application command types and option types.
CHAT_INPUT = 1
USER_COMMAND = 2
OPT_SUB_COMMAND = 1
OPT_STRING = 3
OPT_INTEGER = 4
OPT_BOOLEAN = 5
OPT_USER = 6
OPT_CHANNEL = 7
OPT_ROLE = 8

# Component types (components/reference.mdx).
ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
USER_SELECT = 5
LABEL = 18
BUTTON_SECONDARY = 2
BUTTON_LINK = 5
TEXT_PARAGRAPH = 2

# Permission bits (permissions.mdx).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
CREATE_EVENTS = 1 << 44
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
GUILD_PRIVATE_THREAD = 12

# Guild text channel types an admin may pick as the feed (text, announcement).
FEED_CHANNEL_TYPES = (0, 5)

_SNOWFLAKE = re.compile(r"[0-9]{1,20}")


def is_snowflake(value: Any) -> bool:
    """Whether ``value`` is a Discord id as the API writes it: a string of at most 20 digits."""
    return isinstance(value, str) and _SNOWFLAKE.fullmatch(value) is not None


class User(TypedDict):
    id: str
    username: NotRequired[str]
    global_name: NotRequired[str | None]
    bot: NotRequired[bool]


class GuildMember(TypedDict, total=False):
    user: User
    nick: str | None
    roles: list[str]
    permissions: str


class Option(TypedDict, total=False):
    name: str
    type: int
    value: Any
    focused: bool
    options: list[Option]


class Resolved(TypedDict, total=False):
    users: dict[str, User]
    members: dict[str, GuildMember]
    roles: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, Any]]


class InteractionData(TypedDict, total=False):
    id: str
    name: str
    type: int
    options: list[Option]
    resolved: Resolved
    target_id: str
    custom_id: str
    component_type: int
    values: list[str]
    components: list[dict[str, Any]]


class Interaction(TypedDict, total=False):
    id: str
    application_id: str
    type: int
    token: str
    version: int
    guild_id: str
    channel_id: str
    member: GuildMember
    user: User
    data: InteractionData
    locale: str
    guild_locale: str
    message: dict[str, Any]


class InteractionResponse(TypedDict, total=False):
    type: int
    data: dict[str, Any]
