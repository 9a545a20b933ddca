"""Reading Adaptive Cards in tests: their texts and inputs, and a retry policy that never sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.teams.botframework.sdk import RetryPolicy


def nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every element (JSON object) in ``node``, depth first, in document order."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from nodes(value)


def texts(node: Any) -> list[str]:
    """Every text shown in ``node`` (TextBlock and TextRun text), in order."""
    return [n["text"] for n in nodes(node) if n.get("type") in ("TextBlock", "TextRun")]


def body_texts(card: dict[str, Any]) -> list[str]:
    """Every text in a card's body."""
    return texts(card["body"])


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A card's inputs by id."""
    return {n["id"]: n for n in nodes(card["body"]) if str(n.get("type", "")).startswith("Input.")}


def no_sleep_policy(**overrides: Any) -> RetryPolicy:
    """A retry policy that records the waits it would make (``policy.slept``) instead of sleeping."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(sleep=sleep, **overrides)
    policy.slept = slept  # type: ignore[attr-defined]
    return policy
