"""Reading and writing Bot Framework activities: who, where, which mentions (as ``incoming`` plain
data), conversation references, and the card activity Kizuna sends."""

from __future__ import annotations

import copy
import re
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    Entity,
)
from msrest.serialization import Deserializer, Model

from adapters.teams.incoming import BOT_ID_PREFIX, MAX_ID_LENGTH, PLATFORM, Incoming, Mention
from core.services.addresses import AddressWrite, channel_key, member_key
from core.services.members import Person

__all__ = ["BOT_ID_PREFIX", "MAX_ID_LENGTH", "PLATFORM", "Incoming", "Mention", "card_activity", "read_incoming"]
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
_NBSP = re.compile(r"&nbsp;|\xa0", re.IGNORECASE)


class _NotSimple(Exception):
    """The payload has something the fast reader leaves to the SDK's deserializer."""


def _wire_types(model: type[Model]) -> dict[str, tuple[str, str]]:
    """``{JSON key: (attribute, msrest type)}`` of a schema class."""
    return {spec["key"]: (name, spec["type"]) for name, spec in model._attribute_map.items()}


_ACTIVITY_FIELDS = _wire_types(Activity)
_ACCOUNT_FIELDS = {ChannelAccount: _wire_types(ChannelAccount), ConversationAccount: _wire_types(ConversationAccount)}
_ACCOUNT_TYPES = {"ChannelAccount": ChannelAccount, "ConversationAccount": ConversationAccount}


def _simple_value(kind: str, value: Any) -> Any:
    if value is None or kind == "object":
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "iso-8601" and isinstance(value, str):
        return Deserializer.deserialize_iso(value)  # type: ignore[no-untyped-call]
    raise _NotSimple(kind)


def _fill(model: Model, fields: dict[str, tuple[str, str]], data: dict[str, Any], nested: bool) -> Model:
    """Set ``model``'s attributes from ``data`` the way msrest's ``Model.deserialize`` does."""
    for key, value in data.items():
        known = fields.get(key)
        if known is None:
            if not nested:
                raise _NotSimple(key)  # unknown top-level keys are rare: the SDK handles them
            model.additional_properties[key] = value
            continue
        name, kind = known
        account = _ACCOUNT_TYPES.get(kind)
        if account is not None and value is not None:
            if not isinstance(value, dict):
                raise _NotSimple(key)
            value = _fill(account(), _ACCOUNT_FIELDS[account], value, True)
        elif kind == "[Entity]" and value is not None:
            if not isinstance(value, list):
                raise _NotSimple(key)
            value = [_entity(item) for item in value]
        else:
            value = _simple_value(kind, value)
        setattr(model, name, value)
    return model


def _entity(data: Any) -> Entity:
    if not isinstance(data, dict) or not isinstance(data.get("type", ""), str | None):
        raise _NotSimple("entity")
    entity = Entity(type=data.get("type"))
    entity.additional_properties = {k: v for k, v in data.items() if k != "type"}
    return entity


def read_activity(body: dict[str, Any]) -> Activity:
    """The ``Activity`` msrest's ``Activity().deserialize(body)`` builds, without its reflective walk.

    Teams activities are flat JSON: strings, accounts, entities and free-form ``channelData`` /
    ``value``. Those are read here (same attributes, same ``additional_properties``); anything
    else (attachments, members added, suggested actions, unknown keys, a number where a string
    belongs…) goes to the SDK's deserializer, so the result is always what the SDK would give.
    """
    try:
        activity: Activity = _fill(Activity(), _ACTIVITY_FIELDS, body, False)
    except _NotSimple:
        activity = Activity().deserialize(body)
    return activity


_CONVERSATION_ID_PREFIX = "19:"  # channels, teams and chats: a conversation, never a person


def _is_person(mentioned: dict[str, Any]) -> bool:
    """Whether a mention's ``mentioned`` account is a user or a bot, not a channel, team or tag."""
    user_id = str(mentioned.get("id") or "")
    if not user_id or user_id.startswith(_CONVERSATION_ID_PREFIX) or len(user_id) > MAX_ID_LENGTH:
        return False
    # A channel or team mention names its kind; a tag mention says ``"type": "tag"``.
    return not mentioned.get("conversationIdentityType") and mentioned.get("type") != "tag"


def tenant_id(activity: Activity) -> str:
    """The Teams tenant (the Kizuna workspace); ``emulator`` when nothing (or only blanks) says (local emulator)."""
    conversation = activity.conversation
    if conversation is not None and str(getattr(conversation, "tenant_id", None) or "").strip():
        return str(conversation.tenant_id)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else None
    if tenant and str(tenant.get("id") or "").strip():
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


def mentions(activity: Activity) -> list[Mention]:
    """The ``mention`` entities, in order, de-duplicated by id (or by text, for one without an id)."""
    found: list[Mention] = []
    seen: set[str] = set()
    for entity in activity.entities or []:
        data: dict[str, Any] = dict(getattr(entity, "additional_properties", None) or {})
        if isinstance(entity, dict):
            data = entity
        kind = getattr(entity, "type", None) or data.get("type")
        if kind != "mention":
            continue
        mentioned = data.get("mentioned")
        if not isinstance(mentioned, dict):
            mentioned = {}
        user_id = str(mentioned.get("id") or "")
        text = str(data.get("text") or f"<at>{mentioned.get('name') or ''}</at>")
        name = str(mentioned.get("name") or "") or re.sub(r"</?at>", "", text) or user_id
        key = user_id or text
        if key not in seen:
            seen.add(key)
            found.append(Mention(user_id, name, text, person=_is_person(mentioned)))
    return found


def split_mentions(activity: Activity) -> tuple[str, list[Mention]]:
    """The text without the bot's own mention, and the other people mentioned (the bot removed).

    Only the bot's ``<at>`` tag is removed, never other occurrences of its name (the SDK's
    ``remove_recipient_mention`` removes every occurrence of the name). A channel, team or tag
    mention is not a person: its ``<at>`` tag becomes its plain name.
    """
    text = _NBSP.sub(" ", activity.text or "")
    bot_id = activity.recipient.id if activity.recipient else None
    people: list[Mention] = []
    for mention in mentions(activity):
        if mention.id and mention.id == bot_id:
            text = text.replace(mention.text, " ")
        elif not mention.person:
            text = text.replace(mention.text, mention.name)
        else:
            people.append(mention)
    return text.strip(), people


_PLAIN_ACCOUNT_TYPES = {"str", "bool", "object"}


def _account_json(account: Any) -> dict[str, Any] | None:
    """An account (``ChannelAccount`` / ``ConversationAccount``) as msrest serialises it, or None to defer."""
    model = type(account)
    if model not in _ACCOUNT_FIELDS:
        return None
    data: dict[str, Any] = {}
    for name, spec in model._attribute_map.items():
        value = getattr(account, name, None)
        if value is None:
            continue
        if spec["type"] not in _PLAIN_ACCOUNT_TYPES or (spec["type"] == "str" and not isinstance(value, str)) \
                or (spec["type"] == "bool" and not isinstance(value, bool)):
            return None
        data[spec["key"]] = copy.deepcopy(value) if spec["type"] == "object" else value
    # Like msrest, keys the schema does not know (``additional_properties``) are not written.
    return data


def reference_payload(activity: Activity, *, conversation_id: str | None = None) -> dict[str, Any]:
    """The conversation reference to store (JSON), optionally pointing at another conversation id.

    What ``TurnContext.get_conversation_reference(activity).serialize()`` gives (``activityId``
    left out), written directly for the usual accounts: msrest's serialiser costs more than the
    rest of storing it. Anything unusual goes through the SDK.
    """
    payload: dict[str, Any] = {}
    for key, account in (("user", activity.from_property), ("bot", activity.recipient),
                         ("conversation", activity.conversation)):
        if account is None:
            continue
        data = _account_json(account)
        if data is None:
            payload = TurnContext.get_conversation_reference(activity).serialize()
            break
        payload[key] = data
    else:
        for key, value in (("channelId", activity.channel_id), ("locale", activity.locale),
                           ("serviceUrl", activity.service_url)):
            if value is not None:
                payload[key] = value
    payload.pop("activityId", None)
    if conversation_id is not None:
        payload.setdefault("conversation", {})["id"] = conversation_id
    return payload


def channel_reference(activity: Activity, channel_id: str) -> dict[str, Any]:
    """The reference of a channel or group chat: who spoke last (``user``, ``locale``) is left out.

    Posting into a channel only needs the conversation, service URL and bot; leaving the sender
    out keeps the stored payload the same whoever writes, so it is not rewritten on every message.
    """
    payload = reference_payload(activity, conversation_id=channel_id)
    payload.pop("user", None)
    payload.pop("locale", None)
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
    return [(channel_key(base), channel_reference(activity, base))]


def read_incoming(activity: Activity) -> Incoming | None:
    """Who and where, as plain data; None for an activity that names no sender (nobody to act for)."""
    sender = activity.from_property
    if sender is None or not isinstance(sender.id, str) or not sender.id.strip():
        return None  # a blank id names nobody either
    conversation = activity.conversation.id if activity.conversation is not None else ""
    channel = base_conversation_id(conversation)
    bot = {"id": activity.recipient.id if activity.recipient else None,
           "name": (activity.recipient.name if activity.recipient else None) or "Kizuna"}
    reference = reference_payload(activity)
    in_channel = channel_reference(activity, channel)
    # What ``address_keys`` gives, from the references just built (each is built once).
    here: tuple[AddressWrite, ...] = ()
    if activity.conversation is not None and activity.service_url:
        here = ((AddressWrite(member_key(sender.id), reference),) if conversation_type(activity) == "personal"
                else (AddressWrite(channel_key(channel), in_channel),))
    return Incoming(
        tenant=tenant_id(activity), sender=Person(sender.id, sender.name, activity.locale),
        aad=aad_object_id(activity), locale=activity.locale, conversation=conversation, channel=channel,
        activity_id=activity.id, service_url=activity.service_url or "", bot=bot,
        reference=reference, channel_reference=in_channel, here=here, reply_to_id=activity.reply_to_id)


def card_activity(card: dict[str, Any]) -> Activity:
    """A message activity carrying one Adaptive Card."""
    return Activity(type=ActivityTypes.message, attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card)])
