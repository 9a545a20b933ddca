"""The OpenAPI checker every Discord test relies on finds what Discord's spec forbids; the copy is the pinned one."""

from __future__ import annotations

import hashlib

import pytest

from adapters.discord.commands import command_definitions
from tests.discord import openapi

PINNED_SHA256 = "8c1d0707ccdf8e380a86dfba04058820a66435c1b69d5ed82e04dd8c0520dd73"


def test_the_spec_is_the_pinned_copy():
    assert hashlib.sha256(openapi.SPEC_FILE.read_bytes()).hexdigest() == PINNED_SHA256
    sources = (openapi.SPEC_FILE.parent / "SOURCES.md").read_text(encoding="utf-8")
    assert PINNED_SHA256 in sources and "discord/discord-api-spec" in sources


@pytest.mark.parametrize("answer", [
    {"type": 1},
    {"type": 4, "data": {"content": "ありがとう", "flags": 64, "allowed_mentions": {"parse": []}}},
    {"type": 5},
    {"type": 7, "data": {"components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "custom_id": "clap:1", "label": "👏 1"}]}]}},
    {"type": 9, "data": {"custom_id": "thanks", "title": "感謝を送る", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "message", "label": "Message", "style": 2}]}]}},
])
def test_answers_discord_accepts_pass(answer):
    assert openapi.check_interaction_response(answer) == []


@pytest.mark.parametrize(("answer", "problem"), [
    ({"type": 4, "data": {"content": 5}}, "data"),
    ({"type": 4, "data": {"embeds": [{"title": ["not", "text"]}]}}, "data"),
    ({"type": 9, "data": {"custom_id": "thanks", "title": "t", "components": []}}, "data/components"),
    ({"type": 42}, "(body)"),
])
def test_answers_discord_refuses_are_named(answer, problem):
    problems = openapi.check_interaction_response(answer)
    assert problems and all(p.startswith(f"interaction response: {problem}") for p in problems), problems


def test_requests_are_checked_against_their_operation():
    assert openapi.check_request("POST", "/channels/1/messages", {"content": "x", "nonce": "d-1",
                                                                  "enforce_nonce": True}) == []
    assert openapi.check_request("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x"}) == []
    [wrong] = openapi.check_request("POST", "/channels/1/messages", {"content": "x", "enforce_nonce": "yes"})
    assert wrong.startswith("POST /channels/1/messages: enforce_nonce:")
    assert openapi.check_request("POST", "/guilds/1/scheduled-events", {"name": "only a name"})
    assert openapi.check_request("POST", "/channels/1/nothing", {}) == [
        "POST /channels/1/nothing: Discord's API has no such operation"]


def test_the_commands_kizuna_registers_fit_the_spec():
    assert openapi.check_request("PUT", "/applications/1/commands", command_definitions()) == []
    assert openapi.check_request("PUT", "/applications/1/guilds/2/commands", command_definitions()) == []
