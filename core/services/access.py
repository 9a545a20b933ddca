"""Who may do what."""

from __future__ import annotations

from core.errors import NotAnAdmin
from core.models import Member


def require_admin(member: Member) -> None:
    """Raise ``NotAnAdmin`` unless ``member`` is an admin of their workspace."""
    if not member.may_administer:
        raise NotAnAdmin()


# The operator at the command line (``kizuna values add …``): an admin of every workspace. Never saved.
SYSTEM_ACTOR = Member(id=0, workspace_id=0, platform_user_id="system", display_name="system", is_admin=True)
