"""Who becomes an admin when a platform installs Kizuna: the first installer, and configured people."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from core.models import Member, Workspace


async def grant_installer_admin(workspace: Workspace, member: Member) -> bool:
    """Make ``member`` an admin if the workspace has none yet (the first installer). True if granted."""
    if member.is_bot or member.is_admin:
        return False
    async with in_transaction():
        if await Member.exists(workspace_id=workspace.id, is_admin=True):
            return False
        await Member.filter(id=member.id).update(is_admin=True)
    member.is_admin = True
    return True


async def grant_configured_admin(member: Member) -> bool:
    """Make ``member`` an admin because the operator listed them (e.g. KIZUNA_TEAMS_ADMIN_IDS). True if changed."""
    if member.is_admin:
        return False
    await Member.filter(id=member.id).update(is_admin=True)
    member.is_admin = True
    return True
