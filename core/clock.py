"""The moment a pass or a rule works at: given (tests, a command's ``--now``) or the clock's."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(moment: datetime | None) -> datetime:
    """``moment``, or now when None; a moment without a time zone is read as UTC."""
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
