"""Workspaces and members this process read a moment ago, so a busy tenant skips re-reading them.

What may use it, and why that is safe:

* Only turns that need no rights: thanks, claps, RSVPs, leaderboard, values, help. Anything that
  checks or changes rights or settings (admin commands, meeting commands and dialogs, the
  notifications switch, installation) reads the workspace and member fresh, so a cached
  ``is_admin`` can never grant anything, and forgets the tenant afterwards, so this process
  sees its own changes at once.
* Every rule is still checked by the core, on the rows given to it. What a cached row can lag
  behind is a change made by *another* process (a second ``kizuna serve``, the CLI): at most
  ``ttl`` seconds, after which the row is read again. ``ttl=0`` turns the cache off.
* A member is reused only while ``ensure_member`` would write nothing (same display name, same
  locale); otherwise it runs and its result replaces the entry.
"""

from __future__ import annotations

import time

from core.i18n import normalize_locale
from core.models import Member, Workspace

DEFAULT_TTL = 5.0


class IdentityCache:
    """``(tenant) → Workspace`` and ``(workspace id, Teams user id) → Member`` for ``ttl`` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._workspaces: dict[str, tuple[float, Workspace]] = {}
        self._members: dict[tuple[int, str], tuple[float, Member]] = {}

    def workspace(self, tenant: str) -> Workspace | None:
        entry = self._workspaces.get(tenant)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def keep_workspace(self, tenant: str, workspace: Workspace) -> None:
        if self.ttl > 0:
            if len(self._workspaces) >= self.max_entries:
                self._workspaces.clear()
            self._workspaces[tenant] = (time.monotonic() + self.ttl, workspace)

    def member(self, workspace_id: int, user_id: str, display_name: str | None, locale: str | None) -> Member | None:
        """The cached member, if ``ensure_member(…, display_name, locale)`` would change nothing."""
        entry = self._members.get((workspace_id, user_id))
        if entry is None or entry[0] <= time.monotonic():
            return None
        member = entry[1]
        if display_name and display_name[:255] != member.display_name:
            return None
        lang = normalize_locale(locale)
        if lang and lang != member.locale:
            return None
        return member

    def keep_member(self, member: Member) -> None:
        if self.ttl > 0:
            if len(self._members) >= self.max_entries:
                self._members.clear()
            self._members[(member.workspace_id, member.platform_user_id)] = (time.monotonic() + self.ttl, member)

    def forget(self, workspace: Workspace) -> None:
        """Drop the tenant and its members (after anything that may have changed settings or rights)."""
        for tenant in [k for k, (_, w) in self._workspaces.items() if w.id == workspace.id]:
            del self._workspaces[tenant]
        for key in [k for k in self._members if k[0] == workspace.id]:
            del self._members[key]
