"""Value suggestions while someone types (autocomplete): by key or by the name in either language."""

from __future__ import annotations

from core.i18n import fold
from core.models import Value, Workspace
from core.services.values import TAG_PREFIXES, list_values

MAX_SUGGESTIONS = 25


def _rank(value: Value, query: str) -> int | None:
    """0 for a prefix match of the key or a name, 1 for a match inside one; None for no match."""
    texts = (fold(value.key), fold(value.name_en), fold(value.name_ja))
    if any(t.startswith(query) for t in texts):
        return 0
    if any(query in t for t in texts):
        return 1
    return None


async def suggest_values(workspace: Workspace, typed: str, *, limit: int = MAX_SUGGESTIONS,
                         include_archived: bool = False) -> list[Value]:
    """Active values (or all, for admins restoring one) that ``typed`` could mean, best first.

    Empty input lists every value in display order. ``#`` and ``＃`` prefixes are ignored.
    """
    query = fold(typed)
    for prefix in TAG_PREFIXES:
        query = query.removeprefix(fold(prefix))
    values = await list_values(workspace, include_archived=include_archived)
    if not query:
        return values[:limit]
    ranked = [(rank, i, v) for i, v in enumerate(values) if (rank := _rank(v, query)) is not None]
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [v for _, _, v in ranked[:limit]]
