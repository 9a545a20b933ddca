"""Admin rights granted by the chat platform itself (Discord: Manage Guild or Administrator)."""

from __future__ import annotations

from core.models import Member


async def sync_platform_admin(member: Member, is_platform_admin: bool) -> Member:
    """Make ``member.is_admin`` follow what the platform says on this request.

    The platform is the authority: someone who loses Manage Guild stops being a Kizuna admin
    on their next interaction. Written only when it changes.
    """
    if member.is_admin != is_platform_admin:
        member.is_admin = is_platform_admin
        await member.save(update_fields=["is_admin"])
    return member
