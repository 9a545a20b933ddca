"""JSON from outside made storable: nested within reason, no NUL characters and no lone surrogates in its strings.

A JSON string may spell both (``\\u0000``, ``\\ud800``), but PostgreSQL stores neither a NUL in
text nor ``\\u0000`` in JSON, and no encoding can write a lone surrogate (not the database's, not an
HTTP answer's). Neither carries meaning in a chat message, so a NUL is dropped and a lone surrogate
becomes U+FFFD, the replacement character, before anything reads the payload.

Nesting is bounded too, and measured before parsing: ``json.loads`` recurses once per level (and so
would every later walk of the value, ``copy.deepcopy`` included), so a body a few thousand brackets
deep raises ``RecursionError`` wherever it is first walked. Refusing it up front makes it bad input.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# Far deeper than any real activity or interaction (Kizuna's own card replies nest 12 levels, a
# few more when Teams quotes one in a message payload), and shallow enough that no recursive walk
# of the value comes near Python's recursion limit (1,000 frames, some used by the request handler).
MAX_DEPTH = 100

# What json.loads turns into a NUL or a surrogate: only these escapes (a raw NUL is not valid JSON,
# and a strict UTF-8 decoding refuses encoded surrogates), so a body without them needs no walk.
_ESCAPES = re.compile(r"\\u(?:0000|d[89a-f])", re.IGNORECASE)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string (brackets inside it are text), and what opens or closes a level outside strings.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)  # possessive: linear on any text
_BRACKETS = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class NestedTooDeeply(ValueError):
    """A JSON body whose arrays and objects nest more than ``MAX_DEPTH`` levels deep."""

    def __init__(self) -> None:
        super().__init__(f"the body nests more than {MAX_DEPTH} levels deep")


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


def nesting_depth(text: str) -> int:
    """How many levels the arrays and objects of a JSON text nest (0 for a scalar), without recursion.

    Counted on the brackets outside strings; for text that is not JSON the count means nothing,
    but it is still a number (``json.loads`` refuses such text anyway).
    """
    levels = _BRACKETS.findall(_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, levels)), default=0)


def parse_json(raw: bytes) -> Any:
    """A request body (UTF-8 JSON, RFC 8259, at most ``MAX_DEPTH`` levels deep) with storable strings.

    Raises ``UnicodeDecodeError`` for a body that is not UTF-8, ``NestedTooDeeply`` for one nested
    deeper than ``MAX_DEPTH``, and ``ValueError`` for one that is not JSON, like ``json.loads``.
    """
    text = raw.decode("utf-8")
    # A body cannot nest deeper than it has brackets: counting them (in C) spares almost every body the walk.
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        raise NestedTooDeeply()
    value = json.loads(text)
    return storable_json(value) if _ESCAPES.search(text) else value
