"""What a Teams activity says, as plain data: who sent it, from where, whom it mentions.

``adapters.teams.botframework.activity`` reads these from the SDK's ``Activity``; everything past the handler
(people, text, invokes, dialogs) works on them, not on botbuilder objects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.services.addresses import AddressWrite, channel_key
from core.services.members import Person

PLATFORM = "teams"
# Teams ids: ``29:`` users, ``8:`` guests and federated users, ``28:`` bots.
BOT_ID_PREFIX = "28:"
# Real Teams ids are far shorter (a 1:1 conversation id, the longest, is about 150 characters). The
# rows and address keys built from an id (``channel:<conversation id>``…) must fit their 255-character
# columns, so a longer "id" names nobody and nothing.
MAX_ID_LENGTH = 200


@dataclass(frozen=True)
class Mention:
    """One ``mention`` entity: the MRI (``29:…``), the display name and the exact ``<at>…</at>`` text.

    ``person`` is False for a mention of a channel, team or tag (not someone who can be thanked);
    ``is_bot`` is True for a bot (Teams bot ids start with ``28:``).
    """

    id: str
    name: str
    text: str
    person: bool = True

    @property
    def is_bot(self) -> bool:
        return self.id.startswith(BOT_ID_PREFIX)

    def as_person(self) -> Person:
        return Person(self.id, self.name, is_bot=self.is_bot)


def event_key(conversation_id: str, activity_id: str | None, prefix: str) -> str | None:
    """The activity id, scoped to its conversation (Teams message ids are only unique per conversation).

    None for an activity without an id: nothing tells a redelivery of it from a new one, so each
    is taken as new (a key shared by every id-less activity would drop all but the first).
    """
    if activity_id is None or not str(activity_id).strip():
        return None
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:16]
    return f"teams:{prefix}:{digest}:{activity_id}"[:255]


@dataclass(frozen=True)
class Incoming:
    """Who and where an activity comes from (every field plain data).

    ``here`` are the addresses the activity tells us about (a 1:1 reference, or the channel's);
    ``reference`` posts into this conversation; ``channel_reference`` is the conversation's reference
    as reminders and the feed use it (no sender in it).
    """

    tenant: str
    sender: Person
    aad: str | None
    locale: str | None
    conversation: str
    channel: str
    activity_id: str | None
    service_url: str
    bot: Mapping[str, str | None]
    reference: Mapping[str, Any]
    channel_reference: Mapping[str, Any]
    here: tuple[AddressWrite, ...] = field(default=())
    reply_to_id: str | None = None

    def key(self, prefix: str) -> str | None:
        """This activity's idempotency key for ``prefix`` (``msg``, ``ext``, ``dialog``); None without an id."""
        return event_key(self.conversation, self.activity_id, prefix)

    @property
    def channel_address(self) -> AddressWrite:
        """Where reminders and the feed reach this conversation."""
        return AddressWrite(channel_key(self.channel), dict(self.channel_reference))
