"""JSON from outside is made storable: NUL dropped, lone surrogates replaced, nesting bounded, the rest untouched."""

from __future__ import annotations

import json

import pytest

from core.text import MAX_DEPTH, NestedTooDeeply, nesting_depth, parse_json, storable, storable_json


def test_nul_is_dropped_and_a_lone_surrogate_becomes_the_replacement_character():
    assert storable("a\x00b") == "ab"
    assert storable("x\ud800y\udfff") == "x\ufffdy\ufffd"
    assert storable("絆 👏🏽 👨\u200d👩\u200d👧") == "絆 👏🏽 👨\u200d👩\u200d👧"


def test_every_string_of_a_json_value_is_made_storable_keys_included():
    assert storable_json({"a\x00": ["\ud800", 1, None, {"b": "c\x00"}], "n": 2.5}) == {
        "a": ["\ufffd", 1, None, {"b": "c"}], "n": 2.5}


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"text": "a\\u0000b"}', {"text": "ab"}),
    (b'{"text": "\\uD800 \\udfff"}', {"text": "\ufffd \ufffd"}),
    (b'{"text": "\\ud83d\\udc4f"}', {"text": "👏"}),  # a pair is one character, kept
    ('{"text": "絆"}'.encode(), {"text": "絆"}),
    (b'{"text": "\\\\u0000"}', {"text": "\\u0000"}),  # a typed backslash-u is text, kept
])
def test_request_bodies_are_parsed_with_storable_strings(raw, expected):
    assert parse_json(raw) == expected


@pytest.mark.parametrize("raw", [b'{"a": "\xed\xa0\x80"}', '{"a": 1}'.encode("utf-16"), b"{"])
def test_a_body_that_is_not_utf8_json_is_refused(raw):
    # json.loads would decode an encoded surrogate (and UTF-16) by itself; a request body is UTF-8.
    with pytest.raises(ValueError):  # UnicodeDecodeError is a ValueError too
        parse_json(raw)


@pytest.mark.parametrize("raw", [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000,
                                 b"[" * 100_000 + b"]" * 100_000, b"[" * 5000])
def test_a_body_nested_deeper_than_the_limit_is_refused_before_parsing(raw):
    # json.loads would raise RecursionError on these (a crash, not bad input).
    with pytest.raises(NestedTooDeeply, match=f"more than {MAX_DEPTH} levels"):
        parse_json(raw)
    assert issubclass(NestedTooDeeply, ValueError)  # callers that refuse bad JSON refuse this too


def test_nesting_up_to_the_limit_is_read_and_brackets_in_strings_do_not_count():
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    text = json.dumps({"text": "[{" * 5000, "quoted": '"]}\\' * 1000, "list": [[["deep enough"]]]})
    assert nesting_depth(text) == 4
    assert parse_json(text.encode())["list"] == [[["deep enough"]]]
