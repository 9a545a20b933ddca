"""Reading Bot Framework activities: who, where, which mentions, and what text is left for the command."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference

from core.services.addresses import channel_key, member_key

PLATFORM = "teams"
_NBSP = re.compile(r"&nbsp;|\xa0", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """One ``mention`` entity: the MRI (``29:…``), the display name and the exact ``<at>…</at>`` text."""

    id: str
    name: str
    text: str


def tenant_id(activity: Activity) -> str:
    """The Teams tenant (the Kizuna workspace); ``emulator`` when nothing says (local emulator)."""
    conversation = activity.conversation
    if conversation is not None and getattr(conversation, "tenant_id", None):
        return str(conversation.tenant_id)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else None
    if tenant and tenant.get("id"):
        return str(tenant["id"])
    return "emulator"


def base_conversation_id(conversation_id: str) -> str:
    """A channel thread id without its ``;messageid=…`` suffix: the channel itself."""
    return conversation_id.split(";messageid=", 1)[0]


def conversation_type(activity: Activity) -> str:
    """``personal``, ``groupChat`` or ``channel`` (personal when Teams does not say)."""
    return str(getattr(activity.conversation, "conversation_type", None) or "personal")


def aad_object_id(activity: Activity) -> str | None:
    """The sender's Entra (AAD) object id, if Teams sent it."""
    sender = activity.from_property
    value = getattr(sender, "aad_object_id", None) if sender is not None else None
    return str(value) if value else None


def idempotency_key(activity: Activity, prefix: str) -> str:
    """The activity id, scoped to its conversation (Teams message ids are only unique per conversation)."""
    conversation = activity.conversation.id if activity.conversation else ""
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:16]
    return f"teams:{prefix}:{digest}:{activity.id}"[:255]


def mentions(activity: Activity) -> list[Mention]:
    """The ``mention`` entities, in order, de-duplicated by id."""
    found: list[Mention] = []
    seen: set[str] = set()
    for entity in activity.entities or []:
        data: dict[str, Any] = dict(getattr(entity, "additional_properties", None) or {})
        if isinstance(entity, dict):
            data = entity
        kind = getattr(entity, "type", None) or data.get("type")
        if kind != "mention":
            continue
        mentioned = data.get("mentioned") or {}
        user_id = str(mentioned.get("id") or "")
        if not user_id:
            continue
        text = str(data.get("text") or f"<at>{mentioned.get('name') or ''}</at>")
        name = str(mentioned.get("name") or "") or re.sub(r"</?at>", "", text) or user_id
        if user_id not in seen:
            seen.add(user_id)
            found.append(Mention(user_id, name, text))
    return found


def split_mentions(activity: Activity) -> tuple[str, list[Mention]]:
    """The text without the bot's own mention, and the other people mentioned (the bot removed).

    Only the bot's ``<at>`` tag is removed, never other occurrences of its name (the SDK's
    ``remove_recipient_mention`` removes every occurrence of the name).
    """
    text = _NBSP.sub(" ", activity.text or "")
    bot_id = activity.recipient.id if activity.recipient else None
    people: list[Mention] = []
    for mention in mentions(activity):
        if mention.id == bot_id:
            text = text.replace(mention.text, " ")
        else:
            people.append(mention)
    return text.strip(), people


def message_without_mentions(text: str, people: list[Mention]) -> str:
    """The thanks message: the leading ``<at>`` recipients are dropped, later ones become plain names.

    ``<at>Bob</at> <at>Carol</at> for the notes`` → ``for the notes``;
    ``<at>Bob</at> for helping <at>Carol</at>`` → ``for helping Carol``.
    """
    rest = text.strip()
    tags = {m.text: m.name for m in people}
    changed = True
    while changed and rest:
        changed = False
        for tag in tags:
            if rest.startswith(tag):
                rest = rest[len(tag):].lstrip(" ,、，:：")
                changed = True
    for tag, name in tags.items():
        rest = rest.replace(tag, name)
    return rest.strip()


def reference_payload(activity: Activity, *, conversation_id: str | None = None) -> dict[str, Any]:
    """The conversation reference to store (JSON), optionally pointing at another conversation id."""
    reference = TurnContext.get_conversation_reference(activity)
    payload: dict[str, Any] = reference.serialize()
    payload.pop("activityId", None)
    if conversation_id is not None:
        payload.setdefault("conversation", {})["id"] = conversation_id
    return payload


def load_reference(payload: dict[str, Any]) -> ConversationReference:
    """A stored reference back as the SDK's object."""
    reference: ConversationReference = ConversationReference().deserialize(payload)
    return reference


def address_keys(activity: Activity) -> list[tuple[str, dict[str, Any]]]:
    """What this activity tells us about reaching people: a 1:1 reference or a channel/group reference."""
    if activity.conversation is None or not activity.service_url:
        return []
    kind = conversation_type(activity)
    sender = activity.from_property
    if kind == "personal" and sender is not None and sender.id:
        return [(member_key(sender.id), reference_payload(activity))]
    base = base_conversation_id(activity.conversation.id)
    return [(channel_key(base), reference_payload(activity, conversation_id=base))]
