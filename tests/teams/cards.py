"""Reading Adaptive Cards in tests: their texts, inputs and date functions, and a retry policy that never sleeps."""

from __future__ import annotations

import re
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


# What Adaptive Cards renderers format (their own patterns, adaptivecards text-formatters): anything
# else that starts like a date function is shown to the reader as raw ``{{…}}`` text.
DATE_FUNCTION = re.compile(r"\{\{(?:DATE|TIME)\(")
FORMATTED_DATE_FUNCTION = re.compile(
    r"\{\{DATE\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[-+]\d{2}:\d{2})(?:, ?(?:COMPACT|LONG|SHORT))?\)\}\}"
    r"|\{\{TIME\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[-+]\d{2}:\d{2})\)\}\}")


def date_functions(card: dict[str, Any]) -> list[str]:
    """Every ``{{DATE(…)}}`` / ``{{TIME(…)}}`` of a card's TextBlocks, in order."""
    return [m for n in nodes(card.get("body", [])) if n.get("type") == "TextBlock"
            for m in FORMATTED_DATE_FUNCTION.findall(n["text"])]


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
