"""Installing Kizuna: who becomes an admin (the first installer, and configured people), and the one
welcome per conversation."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.models import Member, Welcome, Workspace


@dataclass(frozen=True)
class Install:
    """What an install event leads to: a welcome to post (the first event of this install in the
    conversation), and whether the installer was just made the workspace's first admin."""

    welcome: bool
    granted_admin: bool


async def record_install(workspace: Workspace, member: Member, conversation: str, *, may_grant: bool) -> Install:
    """An install of Kizuna into ``conversation`` by ``member``, as one of the events that announce it.

    The first event claims the conversation's welcome; later ones (the same install announced
    again, in this or another process) find it claimed. The claim comes first in the transaction:
    an event that waits for another's claim then also sees the admin that event granted, so the
    event that welcomes is the one that can say "you are an admin". ``may_grant`` is False when
    the platform did not say who installed it reliably enough to make them an admin.
    """
    async with in_transaction():
        welcome = await _claim_welcome(workspace, conversation)
        granted = may_grant and await grant_installer_admin(workspace, member)
    return Install(welcome=welcome, granted_admin=granted)


async def _claim_welcome(workspace: Workspace, conversation: str) -> bool:
    try:
        async with in_transaction():  # a savepoint: a conflict must not end the outer transaction
            await Welcome.create(workspace_id=workspace.id, conversation=conversation)
    except IntegrityError:
        return False
    return True


async def forget_welcome(platform: str, external_id: str, conversation: str) -> None:
    """Kizuna was removed from ``conversation`` (or its welcome could not be posted): the next install welcomes."""
    workspace = await Workspace.get_or_none(platform=platform, external_id=external_id)
    if workspace is not None:
        await Welcome.filter(workspace_id=workspace.id, conversation=conversation).delete()


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
