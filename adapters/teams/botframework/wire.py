"""A fast path for posting activities to the Bot Connector: aiohttp instead of msrest + requests.

Why: through msrest every reply is serialised by a reflective walker (the card's nested dicts
included) and sent with ``requests`` in a thread-pool executor, which costs more CPU than
Kizuna's whole thanks logic (see docs/performance.md). The wire format is the Bot Connector's
REST API (``POST {serviceUrl}/v3/conversations/{id}/activities[/{replyToId}]``), the credentials
are the SDK's own (``AppCredentials.get_access_token``, the same call msrest makes), and every
activity that carries fields this module does not know is serialised by the SDK as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from botbuilder.schema import Activity, Attachment, ChannelAccount, ConversationAccount
from yarl import URL

# Fields ``TurnContext.send_activity`` sets (conversation reference) plus what Kizuna's replies use.
_KNOWN = frozenset({"type", "service_url", "channel_id", "conversation", "from_property", "recipient",
                    "reply_to_id", "locale", "text", "attachments", "id", "summary", "text_format",
                    "input_hint"})


class ConnectorHTTPError(Exception):
    """The connector answered with an error status (``response.status_code`` / ``response.headers``)."""

    class Response:
        def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
            self.status_code = status
            self.headers = dict(headers)
            self.text = text

    def __init__(self, status: int, headers: Mapping[str, str], text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.response = self.Response(status, headers, text)


def _account(account: ChannelAccount | ConversationAccount | None) -> dict[str, Any] | None:
    if account is None:
        return None
    data = {"id": account.id, "name": account.name, "aadObjectId": account.aad_object_id, "role": account.role}
    if isinstance(account, ConversationAccount):
        data.update(conversationType=account.conversation_type, tenantId=account.tenant_id,
                    isGroup=account.is_group)
    return {k: v for k, v in data.items() if v is not None}


def _attachment(attachment: Attachment | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(attachment, Mapping):
        return dict(attachment)
    data = {"contentType": attachment.content_type, "content": attachment.content,
            "contentUrl": attachment.content_url, "name": attachment.name}
    return {k: v for k, v in data.items() if v is not None}


def activity_json(activity: Activity) -> dict[str, Any]:
    """The activity as the connector expects it (camelCase JSON)."""
    used = {name for name in Activity._attribute_map if getattr(activity, name, None) not in (None, [], {})}
    if not used <= _KNOWN:
        data: dict[str, Any] = activity.serialize()
        return data
    body: dict[str, Any] = {
        "type": activity.type, "serviceUrl": activity.service_url, "channelId": activity.channel_id,
        "from": _account(activity.from_property), "recipient": _account(activity.recipient),
        "conversation": _account(activity.conversation), "replyToId": activity.reply_to_id,
        "locale": activity.locale, "text": activity.text, "summary": activity.summary,
        "textFormat": activity.text_format, "inputHint": activity.input_hint,
        "attachments": [_attachment(a) for a in activity.attachments] if activity.attachments else None,
    }
    return {k: v for k, v in body.items() if v is not None}


def authorization(credentials: Any) -> dict[str, str]:
    """The ``Authorization`` header msrest would send with these SDK credentials (none in emulator mode)."""
    if credentials is None:
        return {}
    should = getattr(credentials, "_should_set_token", None)
    if should is None or not should(None):
        return {}
    return {"Authorization": f"Bearer {credentials.get_access_token()}"}


class ConnectorSender:
    """Posts activities with one shared aiohttp session (opened lazily, closed by ``close``)."""

    def __init__(self, timeout: float = 15.0) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def send(self, credentials: Any, service_url: str, conversation_id: str, activity: Activity,
                   *, reply_to_id: str | None = None) -> str:
        """POST the activity; returns the new activity id, raises ``ConnectorHTTPError``."""
        url = f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        if reply_to_id:
            url += "/" + quote(reply_to_id, safe="")
        body = json.dumps(activity_json(activity), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **authorization(credentials)}
        # encoded=True keeps the SDK's encoding of ids (`a%3Aconv`); yarl would normalise it to `a:conv`.
        async with self._client().post(URL(url, encoded=True), data=body, headers=headers) as response:
            text = await response.text()
            if response.status >= 400:
                raise ConnectorHTTPError(response.status, response.headers, text)
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        return str(data.get("id") or "") if isinstance(data, dict) else ""
