"""The one identity cache: workspaces and members this process read a moment ago.

One rule, for every surface: **anything that checks rights reads fresh** (``Command.reads_fresh``:
admin commands and whatever changes the workspace), and the workspace is forgotten after such a
command, so this process sees its own changes at once. Everything else may use a cached row, which
is safe because every rule is still checked by the core on the rows it is given; what a cached row
can lag behind is a change made by another process, for at most ``ttl`` seconds (``ttl=0`` turns
the cache off). A member is reused only while what the platform says of them would change nothing
(``ensure_members`` would write nothing: same name, language, bot flag, and roles where roles are
named), so a cached row never hides a change.
"""

from __future__ import annotations

import time

from core.i18n import normalize_locale
from core.models import Member, Workspace
from core.services.members import Person

DEFAULT_TTL = 5.0


class IdentityCache:
    """``(platform, external id) → Workspace`` and ``(workspace id, Person) → Member`` for ``ttl`` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._workspaces: dict[str, tuple[float, Workspace]] = {}
        self._members: dict[tuple[int, str], tuple[float, Person, Member]] = {}

    def workspace(self, external_id: str) -> Workspace | None:
        """The workspace kept for ``external_id`` (tenant, guild…), if still fresh."""
        entry = self._workspaces.get(external_id)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def keep_workspace(self, external_id: str, workspace: Workspace) -> None:
        if self.ttl > 0:
            if len(self._workspaces) >= self.max_entries:
                self._workspaces.clear()
            self._workspaces[external_id] = (time.monotonic() + self.ttl, workspace)

    def member(self, workspace_id: int, person: Person) -> Member | None:
        """The member kept for ``person``, if still fresh and ``ensure_members`` would change nothing of it
        (the same name, language and bot flag, and the same roles when the platform names roles)."""
        entry = self._members.get((workspace_id, person.platform_user_id))
        if entry is None or entry[0] <= time.monotonic():
            return None
        _, kept, member = entry
        if person == kept:
            return member
        # Described otherwise (a sender names their language, a recipient does not): still usable when
        # nothing ``ensure_members`` writes would differ.
        if person.display_name and person.display_name[:255] != member.display_name:
            return None
        language = normalize_locale(person.locale)
        if language and language != member.locale:
            return None
        if person.is_bot and not member.is_bot:
            return None
        if person.role_ids is not None and person.role_ids != kept.role_ids:
            return None
        return member

    def keep_member(self, person: Person, member: Member) -> None:
        if self.ttl > 0:
            if len(self._members) >= self.max_entries:
                self._members.clear()
            self._members[(member.workspace_id, person.platform_user_id)] = (time.monotonic() + self.ttl, person,
                                                                             member)

    def forget(self, workspace: Workspace) -> None:
        """Drop the workspace and its members (after anything that may have changed settings or rights)."""
        for external_id in [k for k, (_, w) in self._workspaces.items() if w.id == workspace.id]:
            del self._workspaces[external_id]
        for member_key in [k for k in self._members if k[0] == workspace.id]:
            del self._members[member_key]
