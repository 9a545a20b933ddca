"""Admin rights: Kizuna's own grant (given and withdrawn by admins) and the chat platform's."""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.errors import CannotRevokeLastAdmin, UnknownMember
from core.models import Member, Workspace
from core.services.access import require_admin


async def sync_platform_admin(member: Member, is_platform_admin: bool) -> Member:
    """Make ``member.platform_admin`` follow what the platform says on this request.

    The platform is the authority for its own grant: someone who loses Manage Guild stops being
    an admin on their next interaction, unless Kizuna itself made them one (``is_admin``, e.g.
    from ``kizuna members import``). Written only when it changes.
    """
    if member.platform_admin != is_platform_admin:
        member.platform_admin = is_platform_admin
        await member.save(update_fields=["platform_admin"])
    return member


def _admins(workspace: Workspace) -> Q:
    return Q(Q(is_admin=True) | Q(platform_admin=True), workspace_id=workspace.id)


async def list_admins(workspace: Workspace) -> list[Member]:
    """The workspace's admins by either grant (the platform's as of each member's latest request), by name."""
    return await Member.filter(_admins(workspace)).order_by("display_name", "id")


async def grant_admin(workspace: Workspace, actor: Member, member: Member) -> Member:
    """Make ``member`` an admin by Kizuna's own grant (admins only); an admin stays one."""
    require_admin(actor)
    if member.workspace_id != workspace.id or not await Member.filter(id=member.id, workspace_id=workspace.id) \
            .update(is_admin=True):
        raise UnknownMember(name=member.display_name)
    member.is_admin = True
    return member


async def revoke_admin(workspace: Workspace, actor: Member, member: Member) -> Member:
    """Withdraw Kizuna's own grant from ``member`` (admins only); someone who is no admin stays so.

    ``CannotRevokeLastAdmin`` when nobody else would be left to administer the workspace. A
    platform admin (Discord: Manage Server) keeps ``may_administer`` while the platform says so;
    the platform's grant is withdrawn on the platform.
    """
    require_admin(actor)
    if member.workspace_id != workspace.id:
        raise UnknownMember(name=member.display_name)
    async with in_transaction():
        # One revocation per workspace at a time: two admins removing each other at the same moment
        # would otherwise each still see the other and leave nobody. (SQLite runs one at a time anyway;
        # not values_list: tortoise drops the lock from it.)
        await Workspace.filter(id=workspace.id).select_for_update(no_key=True).only("id")
        current = await Member.get_or_none(id=member.id, workspace_id=workspace.id)
        if current is None:
            raise UnknownMember(name=member.display_name)
        if current.is_admin:
            others = Member.filter(_admins(workspace)).exclude(id=member.id)
            if not current.platform_admin and not await others.exists():
                raise CannotRevokeLastAdmin(name=current.display_name)
            await Member.filter(id=member.id).update(is_admin=False)
    member.is_admin = False
    member.platform_admin = current.platform_admin
    return member
