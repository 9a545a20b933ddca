"""Admin rights granted by the chat platform itself (Discord: Manage Guild or Administrator)."""

from __future__ import annotations

from core.models import Member


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
