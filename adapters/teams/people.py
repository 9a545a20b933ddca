"""Who and where, once per activity: the workspace, the sender and the people a thanks names.

The sender, the people a thanks names and the addresses that reach them are stored in one
``ensure_members`` call: a first-time sender thanking a first-time recipient waits for one trip to
the database (two on PostgreSQL). A command that needs no rights may use rows this process read a
moment ago (``core.app.identities``: anything that checks rights reads fresh). People picked in a dialog
(Entra object ids) are mapped to Teams ids here too. Plain data in, rows out: no SDK objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.teams.incoming import BOT_ID_PREFIX, MAX_ID_LENGTH, PLATFORM, Incoming
from core.app.identities import IdentityCache
from core.errors import UnknownMember
from core.i18n import normalize_locale, resolve_locale
from core.models import Member, Workspace
from core.services.addresses import AddressWrite, get_addresses, member_key, store_addresses
from core.services.installs import grant_configured_admin
from core.services.members import Person, ensure_members
from core.services.workspaces import ensure_workspace
from core.views import MemberRef

_PRESENT = object()
# Asks Teams who an Entra object id is (``TeamsInfo.get_member``, with retries): their Teams id and name.
Lookup = Callable[[str], Awaitable[Person]]


@dataclass(frozen=True)
class Caller:
    """Who acts, where, in which language; ``known`` are the people of a thanks, already resolved."""

    workspace: Workspace
    member: Member
    locale: str
    known: Mapping[str, Member] = field(default_factory=dict)


def aad_reverse_key(platform_user_id: str) -> str:
    """Address key of a member's Entra object id (the people picker preselects by Entra id)."""
    return f"teams-aad-of:{platform_user_id}"


def upn_key(platform_user_id: str) -> str:
    """Address key of a member's user principal name (what Teams' group-chat deep link takes)."""
    return f"teams-upn-of:{platform_user_id}"


def sender_addresses(incoming: Incoming, member: Member) -> list[AddressWrite]:
    """How to reach this person/conversation again, and their Entra id → Teams id."""
    items = list(incoming.here)
    key = member_key(member.platform_user_id)
    if not any(item.key == key for item in items) and not member.is_bot:
        # How to open a 1:1 chat with the sender later (a mixer's group, a notification), unless one is known.
        items.append(AddressWrite(key, {
            "create": {"serviceUrl": incoming.service_url, "tenantId": incoming.tenant,
                       "user": {"id": member.platform_user_id, "name": member.display_name},
                       "bot": dict(incoming.bot)},
        }, False))
    if incoming.aad:
        items.append(AddressWrite(f"aad:{incoming.aad}", {"id": member.platform_user_id, "name": member.display_name}))
        items.append(AddressWrite(aad_reverse_key(member.platform_user_id), {"aad": incoming.aad}))
    return items


def recipient_addresses(incoming: Incoming, recipients: Iterable[Member]) -> list[AddressWrite]:
    """Recipients without a 1:1 reference yet get a "create a 1:1 chat" address for their notification.

    Stored *before* ``give_thanks``: its transaction commits the notification rows, and the
    outbox worker may claim one at once; the address it needs must already be there.
    """
    items: dict[str, AddressWrite] = {}
    for recipient in recipients:
        if recipient.platform_user_id == incoming.sender.platform_user_id or recipient.is_bot:
            continue  # never notified: their own thanks, or a bot (core refuses thanking one)
        key = member_key(recipient.platform_user_id)
        items.setdefault(key, AddressWrite(key, {
            "create": {"serviceUrl": incoming.service_url, "tenantId": incoming.tenant,
                       "user": {"id": recipient.platform_user_id, "name": recipient.display_name},
                       "bot": dict(incoming.bot)},
        }, False))
    return list(items.values())


class People:
    """The identity cache and the addresses this process has stored, for every turn of one bot."""

    def __init__(self, ttl: float, admin_ids: Collection[str] = ()) -> None:
        self.identities = IdentityCache(ttl)
        self.admin_ids = admin_ids
        # What this process last stored per (workspace, address key): every activity would otherwise
        # re-read the same conversation reference. ``_PRESENT`` marks keys known to exist.
        self._addresses: dict[tuple[int, str], Any] = {}

    # ---- addresses ------------------------------------------------------------------------------

    def _unknown(self, workspace: Workspace, writes: Iterable[AddressWrite]) -> list[AddressWrite]:
        """The writes this process has not made already (a replacing one: not with this payload)."""
        todo = []
        for write in writes:
            known = self._addresses.get((workspace.id, write.key))
            if known is None or (write.replace and known != write.payload):
                todo.append(write)
        return todo

    def _keep(self, workspace: Workspace, writes: Iterable[AddressWrite]) -> None:
        if len(self._addresses) >= 50_000:
            self._addresses.clear()
        for write in writes:
            self._addresses[(workspace.id, write.key)] = write.payload if write.replace else _PRESENT

    async def store_addresses(self, workspace: Workspace, writes: Iterable[AddressWrite]) -> None:
        """Store the addresses this process has not stored already, in one transaction."""
        todo = self._unknown(workspace, writes)
        if todo:
            await store_addresses(workspace, todo)
            self._keep(workspace, todo)

    # ---- who ------------------------------------------------------------------------------------

    def forget(self, workspace: Workspace) -> None:
        """Drop what is cached of ``workspace`` (after a command that reads fresh)."""
        self.identities.forget(workspace)

    async def caller(self, incoming: Incoming, *, fresh: bool, people: Sequence[Person] = ()) -> Caller:
        """The workspace and the sender (and ``people``, the recipients of a thanks, with the addresses
        their notifications need), with the sender's own addresses, in one trip to the database.

        ``fresh``: read every row now (a command that checks rights); the caller forgets the
        workspace after the command.
        """
        workspace = None if fresh else self.identities.workspace(incoming.tenant)
        if workspace is None:
            workspace = await ensure_workspace(PLATFORM, incoming.tenant,
                                               default_locale=normalize_locale(incoming.locale))
            if not fresh:
                self.identities.keep_workspace(incoming.tenant, workspace)
        sender = incoming.sender

        def addresses(members: Mapping[str, Member]) -> list[AddressWrite]:
            return (sender_addresses(incoming, members[sender.platform_user_id])
                    + recipient_addresses(incoming, [members[p.platform_user_id] for p in people]))

        member, *recipients = await self._members(workspace, [sender, *people], cached=not fresh,
                                                  addresses=addresses)
        if incoming.aad and incoming.aad in self.admin_ids:
            await grant_configured_admin(member)
        locale = resolve_locale(incoming.locale, member.locale or workspace.default_locale)
        known = {p.platform_user_id: m for p, m in zip(people, recipients, strict=True)}
        return Caller(workspace, member, locale, known)

    async def _members(self, workspace: Workspace, people: list[Person], *, cached: bool,
                       addresses: Callable[[Mapping[str, Member]], list[AddressWrite]]) -> list[Member]:
        """The members for ``people`` and the turn's ``addresses`` (a function of the members), stored
        in one transaction. On a ``cached`` turn, people this process just saw (described exactly
        the same) are not looked up again, and addresses it already stored are not written again.
        """
        known: dict[str, Member] = {}
        if cached:
            for person in people:
                member = self.identities.member(workspace.id, person)
                if member is not None:
                    known[person.platform_user_id] = member
        todo = [p for p in people if p.platform_user_id not in known]
        if not todo:
            await self.store_addresses(workspace, addresses(known))
            return [known[p.platform_user_id] for p in people]
        written: list[AddressWrite] = []

        def writes(found: Sequence[Member]) -> list[AddressWrite]:
            # Called inside the transaction (on SQLite, on the database's thread), and maybe more than once (on
            # PostgreSQL): it only computes, and what it made last is what was stored.
            written[:] = addresses({**known, **{m.platform_user_id: m for m in found}})
            return written

        described = {p.platform_user_id: p for p in reversed(todo)}  # as first listed (ensure_members)
        for member in await ensure_members(workspace, todo, writes):
            known[member.platform_user_id] = member
            if cached:
                self.identities.keep_member(described[member.platform_user_id], member)
        self._keep(workspace, written)
        return [known[p.platform_user_id] for p in people]

    # ---- people picked in a dialog ----------------------------------------------------------------

    async def picked(self, workspace: Workspace, incoming: Incoming, ids: Sequence[str], lookup: Lookup,
                     deadline: float) -> list[Member]:
        """People-picker ids (Entra object ids, or Teams ``29:`` ids) → members of this workspace, with
        the addresses their notifications need.

        Entra ids seen before are mapped with one read of the stored mappings; the others are asked
        of Teams (``lookup``) at the same time, within the dialog's ``deadline``. Then every member,
        the new mappings and the recipients' addresses are stored in one ``ensure_members``.
        """
        for raw in ids:
            if len(raw) > MAX_ID_LENGTH:  # no Teams or Entra id is that long
                raise UnknownMember(name=f"{raw[:40]}…")
        entra = [raw for raw in dict.fromkeys(ids) if not raw.startswith(("29:", "8:", BOT_ID_PREFIX))]
        stored = await get_addresses(workspace, [f"aad:{raw}" for raw in entra])
        people: dict[str, Person] = {raw: Person(raw, is_bot=raw.startswith(BOT_ID_PREFIX))
                                     for raw in ids if raw not in entra}
        for raw in entra:
            mapped = (stored.get(f"aad:{raw}") or {}).get("id")
            if mapped:
                people[raw] = Person(str(mapped))
        unknown = [raw for raw in entra if raw not in people]
        remaining = deadline - asyncio.get_running_loop().time() - 1.0
        if unknown and remaining <= 0:
            raise UnknownMember(name=unknown[0])
        accounts = await asyncio.gather(*(asyncio.wait_for(lookup(raw), timeout=remaining) for raw in unknown),
                                        return_exceptions=True)
        mappings: list[AddressWrite] = []
        for raw, account in zip(unknown, accounts, strict=True):
            if isinstance(account, BaseException):  # ``lookup`` logged why
                raise UnknownMember(name=raw)
            people[raw] = account
            mappings += [AddressWrite(f"aad:{raw}", {"id": account.platform_user_id, "name": account.display_name}),
                         AddressWrite(aad_reverse_key(account.platform_user_id), {"aad": raw})]
        written: list[AddressWrite] = []

        def writes(found: Sequence[Member]) -> list[AddressWrite]:
            written[:] = [*mappings, *self._unknown(workspace, recipient_addresses(incoming, found))]
            return written

        members = await ensure_members(workspace, [people[raw] for raw in ids], writes)
        self._keep(workspace, written)
        return members


async def picker_choices(workspace: Workspace, people: Sequence[MemberRef]) -> list[tuple[str, str]]:
    """``(id, name)`` choices for the people picker, which knows people by Entra object id (the Teams
    id when their Entra id was never seen)."""
    stored = await get_addresses(workspace, [aad_reverse_key(p.platform_user_id) for p in people])
    return [(str((stored.get(aad_reverse_key(p.platform_user_id)) or {}).get("aad") or p.platform_user_id),
             p.display_name) for p in people]
