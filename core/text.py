"""JSON from outside made storable: no NUL characters and no lone surrogates in any of its strings.

A JSON string may spell both (``\\u0000``, ``\\ud800``), but PostgreSQL stores neither a NUL in
text nor ``\\u0000`` in JSON, and no encoding can write a lone surrogate (not the database's, not an
HTTP answer's). Neither carries meaning in a chat message, so a NUL is dropped and a lone surrogate
becomes U+FFFD, the replacement character, before anything reads the payload.
"""

from __future__ import annotations

import json
import re
from typing import Any

# What json.loads turns into a NUL or a surrogate: only these escapes (a raw NUL is not valid JSON,
# and a strict UTF-8 decoding refuses encoded surrogates), so a body without them needs no walk.
_ESCAPES = re.compile(r"\\u(?:0000|d[89a-f])", re.IGNORECASE)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without NUL characters and with each lone surrogate replaced by U+FFFD."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda match: "" if match.group() == "\x00" else "\ufffd", text)


def storable_json(value: Any) -> Any:
    """A JSON value with ``storable`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable_json(item) for key, item in value.items()}
    return value


def parse_json(raw: bytes) -> Any:
    """A request body (UTF-8 JSON, RFC 8259) with storable strings.

    Raises ``UnicodeDecodeError`` for a body that is not UTF-8 and ``ValueError`` for one that is
    not JSON, like ``json.loads``.
    """
    text = raw.decode("utf-8")
    value = json.loads(text)
    return storable_json(value) if _ESCAPES.search(text) else value
