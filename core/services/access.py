"""Who may do what."""

from __future__ import annotations

from core.errors import NotAnAdmin
from core.models import Member


def require_admin(member: Member) -> None:
    """Raise ``NotAnAdmin`` unless ``member`` is an admin of their workspace."""
    if not member.is_admin:
        raise NotAnAdmin()
