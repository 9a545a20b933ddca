"""Teams fixtures: a fake Bot Connector on loopback, the real app through the aiohttp test client, card checks."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pytest_asyncio
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from tortoise.context import TortoiseContext

from adapters.teams.botframework.adapter import TeamsAdapter
from adapters.teams.botframework.testing import ALICE, BOB, CAROL, FakeBotConnector, adaptive_cards
from adapters.teams.render import MAX_CARD_BYTES, card_size
from core.config import Settings
from kizuna.server import build_app
from tests.teams.cards import DATE_FUNCTION, FORMATTED_DATE_FUNCTION, no_sleep_policy, nodes

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def _strip_teams_extensions(node: Any) -> Any:
    """Remove what Teams adds to Adaptive Cards and the 1.5 schema does not know (see SOURCES.md):
    ``msteams`` on the card and ``choices.data`` (the people-picker query) on Input.ChoiceSet."""
    if isinstance(node, dict):
        return {k: _strip_teams_extensions(v) for k, v in node.items() if k not in ("msteams", "choices.data")}
    if isinstance(node, list):
        return [_strip_teams_extensions(v) for v in node]
    return node


@pytest.fixture(scope="session")
def card_validator() -> jsonschema.Draft6Validator:
    schema = json.loads((SCHEMAS / "adaptive-card-1.5.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft6Validator(schema)


@pytest.fixture
def check_card(card_validator: jsonschema.Draft6Validator) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Validate a card against the Adaptive Card 1.5 schema (Teams extensions removed) and the 80 KB cap;
    every date function in a TextBlock is one Teams formats (a valid moment, the exact syntax)."""

    def check(card: dict[str, Any]) -> dict[str, Any]:
        assert card["version"] == "1.5"
        errors = sorted(card_validator.iter_errors(_strip_teams_extensions(copy.deepcopy(card))), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
        assert card_size(card) < MAX_CARD_BYTES
        entities = card.get("msteams", {}).get("entities", [])
        text = json.dumps(card["body"], ensure_ascii=False)
        for entity in entities:  # every mention entity is used by exactly the tag it declares
            assert entity["type"] == "mention"
            assert json.dumps(entity["text"], ensure_ascii=False)[1:-1] in text
        for element in nodes(card["body"]):
            if element.get("type") == "TextBlock":
                started = DATE_FUNCTION.findall(element["text"])
                formatted = FORMATTED_DATE_FUNCTION.findall(element["text"])
                assert len(started) == len(formatted), f"a date function Teams would show raw: {element['text']}"
                for function in formatted:  # a real moment, not just digits in the right places
                    datetime.fromisoformat(function.split("(", 1)[1].split(")", 1)[0].split(",", 1)[0])
            if element.get("type") == "Input.ChoiceSet" and "choices.data" in element:
                assert element["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
        return card

    return check


@pytest.fixture
def connector(check_card: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[FakeBotConnector]:
    """The fake Bot Connector; every card posted to it is checked, and a bad one fails the test."""
    fake = FakeBotConnector(check_card=check_card).start()
    fake.members.update({u.aad: {"id": u.id, "name": u.name, "aadObjectId": u.aad, "tenantId": "tenant-0000"}
                         for u in (ALICE, BOB, CAROL)})
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.violations, "cards posted to the Bot Connector are invalid:\n" + "\n".join(fake.violations)


class CardCheckingClient(TestClient):  # type: ignore[type-arg]
    """The aiohttp test client, checking every Adaptive Card in a JSON answer (invoke responses)."""

    def __init__(self, server: TestServer, check_card: Callable[[dict[str, Any]], Any]) -> None:
        super().__init__(server)
        self.check_card = check_card

    async def _request(self, method: str, path: Any, **kwargs: Any) -> ClientResponse:
        # Every request method (post, get…) goes through here; the body is read once and cached,
        # so the test can still call ``.json()`` / ``.text()``.
        response: ClientResponse = await super()._request(method, path, **kwargs)
        if response.content_type == "application/json":
            raw = await response.read()
            for card in adaptive_cards(json.loads(raw) if raw else None):
                self.check_card(card)
        return response




@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite://:memory:")


@pytest.fixture
def make_client(db: TortoiseContext, check_card: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
    """``await make_client(adapter)`` → an aiohttp test client of the real app with that adapter
    (cards in its invoke answers are checked)."""
    clients: list[TestClient] = []

    async def make(adapter: TeamsAdapter) -> TestClient:
        app = build_app(adapter.settings, adapters=[adapter], manage_database=False, run_workers=False)
        client = CardCheckingClient(TestServer(app), check_card)
        await client.start_server()
        clients.append(client)
        return client

    make.clients = clients  # type: ignore[attr-defined]
    return make


@pytest_asyncio.fixture
async def make_adapter(db: TortoiseContext, settings: Settings) -> AsyncIterator[Callable[..., TeamsAdapter]]:
    """``make_adapter(**kwargs)`` → a TeamsAdapter used without the app (closed after the test)."""
    made: list[TeamsAdapter] = []

    def make(**kwargs: Any) -> TeamsAdapter:
        adapter = TeamsAdapter(settings, **kwargs)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()


@pytest_asyncio.fixture
async def teams(db: TortoiseContext, settings: Settings, make_client: Callable[..., Any],
                connector: FakeBotConnector) -> AsyncIterator[tuple[TestClient, TeamsAdapter]]:
    """The app in emulator mode (no app id), retries without real sleeping."""
    adapter = TeamsAdapter(replace(settings), retry=no_sleep_policy())
    client = await make_client(adapter)
    try:
        yield client, adapter
    finally:
        for c in make_client.clients:  # type: ignore[attr-defined]
            await c.close()
