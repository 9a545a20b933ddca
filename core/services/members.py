"""Members and departments: first sight, admin assignment, role mapping, renames and merges, and CSV import."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.dashboard.insights import forget_figures
from core.errors import (
    DepartmentMergedIntoItself,
    DepartmentNameTaken,
    ImportRowError,
    InvalidDepartmentName,
    KizunaError,
    NameTooLong,
    UnknownDepartment,
    UnknownMember,
)
from core.i18n import fold, normalize_locale, translate
from core.meetings.models import Meeting
from core.models import Department, DepartmentFlow, Member, ThanksRecipient, Workspace
from core.pg import Batch, fetch
from core.projects.models import Project
from core.services.access import require_admin
from core.services.addresses import (
    UPSERT_ON_POSTGRES,
    AddressWrite,
    addresses_plan,
    distinct_writes,
    replace_if_still_on_postgres,
    store_on_postgres,
    upsert_arguments,
)
from core.sql import Plan, Sql, marks, placeholders, run_in_transaction

MAX_DEPARTMENT_NAME = 100
MAX_PLATFORM_ID = 255


@dataclass(frozen=True)
class Person:
    """Someone as the platform describes them on an incoming event; ``None`` says nothing.

    ``role_ids`` (Discord) put the member in the department mapped to one of their roles.
    """

    platform_user_id: str
    display_name: str | None = None
    locale: str | None = None
    is_bot: bool = False
    role_ids: tuple[str, ...] | None = None


AddressesFor = Callable[[Sequence[Member]], Iterable[AddressWrite]]


async def ensure_member(workspace: Workspace, platform_user_id: str, *, display_name: str | None = None,
                        locale: str | None = None, is_bot: bool = False,
                        role_ids: Sequence[str] | None = None) -> Member:
    """The member with this platform id, created on first sight and refreshed from what the platform says."""
    person = Person(platform_user_id, display_name, locale, is_bot, tuple(role_ids) if role_ids is not None else None)
    return (await ensure_members(workspace, [person]))[0]


async def ensure_members(workspace: Workspace, people: Sequence[Person],
                         addresses: AddressesFor | Iterable[AddressWrite] = ()) -> list[Member]:
    """The members for ``people``, in their order, with the ``addresses`` to store (one transaction; on
    PostgreSQL one statement, see ``_members_on_postgres``).

    A new person is created; a known one gets the display name, language, bot flag and (from
    roles) department the platform gave now, when they differ. Someone listed twice is one member,
    as their first listing describes them. ``addresses`` may be a function of the members (for
    payloads that name them; it may be called more than once, so it only computes). On SQLite this is
    one trip to the database, shared with the writes arriving at the same time (``core.sql``), so a
    turn that meets several new people waits once; on PostgreSQL one round trip, shared the same way.
    """
    if not people:
        return []
    for person in people:
        # No platform's id is empty or this long (the column holds 255): it names nobody.
        name = person.platform_user_id
        if not name.strip():
            raise UnknownMember(name=name)
        if len(name) > MAX_PLATFORM_ID:
            raise NameTooLong(name=f"{name[:40]}…", max=MAX_PLATFORM_ID)
    distinct: dict[str, Person] = {}
    for person in people:
        distinct.setdefault(person.platform_user_id, person)
    now = datetime.now(UTC)
    sql = Sql()
    members = None
    if sql.own_postgres_statements:
        members = await _members_on_postgres(sql, workspace.id, list(distinct.values()), now, addresses)
    if members is None:
        members = await run_in_transaction(_members_plan(workspace.id, list(distinct.values()), now, addresses))
    return [members[p.platform_user_id] for p in people]


def _changes(person: Person, row: dict[str, Any], department_id: int | None) -> dict[str, object]:
    """The columns ``ensure_member`` updates on a known member, with their new values."""
    changes: dict[str, object] = {}
    name = (person.display_name or "")[:255]
    if name and name != row["display_name"]:
        changes["display_name"] = name
    lang = normalize_locale(person.locale)
    if lang and lang != row["locale"]:
        changes["locale"] = lang
    if person.is_bot and not row["is_bot"]:
        changes["is_bot"] = True
    if department_id is not None and department_id != row["department_id"]:
        changes["department_id"] = department_id
    return changes


_MEMBER_COLUMNS = ("workspace_id", "platform_user_id", "display_name", "department_id", "locale", "timezone",
                   "is_admin", "platform_admin", "is_bot", "notifications_enabled", "received_count", "sent_count",
                   "created_at", "recap_enabled")


def _members_plan(workspace_id: int, people: list[Person], now: datetime,
                  addresses: AddressesFor | Iterable[AddressWrite]) -> Plan[dict[str, Member]]:
    """Read, create (sorted by id, so concurrent creators lock rows in one order) and refresh, then addresses."""
    ids = sorted(p.platform_user_id for p in people)
    rows = yield (f"SELECT * FROM member WHERE workspace_id = ? AND platform_user_id IN ({placeholders(len(ids))})",
                  [workspace_id, *ids])
    found = {r["platform_user_id"]: r for r in rows}
    role_ids = sorted({role for p in people for role in p.role_ids or ()})
    mapped: dict[str, int] = {}
    if role_ids:
        departments = yield ("SELECT id, platform_role_id FROM department WHERE workspace_id = ? AND "
                             f"platform_role_id IN ({placeholders(len(role_ids))})", [workspace_id, *role_ids])
        mapped = {r["platform_role_id"]: int(r["id"]) for r in departments}

    def department_of(person: Person) -> int | None:
        return min((mapped[r] for r in person.role_ids or () if r in mapped), default=None)

    missing = sorted((p for p in people if p.platform_user_id not in found), key=lambda p: p.platform_user_id)
    if missing:
        values: list[object] = []
        for p in missing:
            values += [workspace_id, p.platform_user_id, (p.display_name or p.platform_user_id)[:255],
                       department_of(p), normalize_locale(p.locale), None, False, False, p.is_bot, True, 0, 0, now,
                       False]
        created = yield (f"INSERT INTO member ({', '.join(_MEMBER_COLUMNS)}) VALUES "
                         f"{marks(len(missing), len(_MEMBER_COLUMNS))} "
                         "ON CONFLICT (workspace_id, platform_user_id) DO NOTHING RETURNING *", values)
        found.update((r["platform_user_id"], r) for r in created)
        raced = [p.platform_user_id for p in missing if p.platform_user_id not in found]
        if raced:  # created by someone else since the read: theirs, refreshed below like any other
            rows = yield ("SELECT * FROM member WHERE workspace_id = ? AND platform_user_id IN "
                          f"({placeholders(len(raced))})", [workspace_id, *raced])
            found.update((r["platform_user_id"], r) for r in rows)
    for person in sorted(people, key=lambda p: found[p.platform_user_id]["id"]):
        row = found[person.platform_user_id]
        changes = _changes(person, row, department_of(person))
        if changes:
            yield (f"UPDATE member SET {', '.join(f'{c} = ?' for c in changes)} WHERE id = ?",
                   [*changes.values(), row["id"]])
            row.update(changes)
    members = {key: Member._init_from_db(**row) for key, row in found.items()}
    writes = distinct_writes(addresses(list(members.values())) if callable(addresses) else addresses)
    yield from addresses_plan(workspace_id, list(writes.values()), now)
    return members


# PostgreSQL: the read, the role mapping and the creation of ``_members_plan``, and the addresses, as one
# statement. The new people are inserted in platform id order (as in the plan) and only those the statement's
# snapshot does not hold (so a known person costs no sequence number); the second part reads the rows that existed
# before it began, so each person comes back once, with the department their roles map to. Each person is looked
# up by a subquery on the whole unique (workspace, platform id), which every plan serves from that index whatever
# the table's statistics say (``platform_user_id = ANY(…)`` or a join was planned, without statistics, as a scan
# of the workspace's members). The addresses (``addr``) are a part the query does not read: PostgreSQL runs such a
# part after the query's own, so every statement takes its member rows before its address rows, each in key order.
_MEMBERS_ON_POSTGRES = (
    "WITH p AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[]) AS p(uid, name, locale, bot)), "
    "r AS (SELECT o.uid, min(d.id) AS department FROM unnest($6::text[], $7::text[]) AS o(uid, role) "
    "JOIN department d ON d.workspace_id = $1 AND d.platform_role_id = o.role GROUP BY o.uid), "
    "pd AS (SELECT p.*, r.department FROM p LEFT JOIN r ON r.uid = p.uid), "
    "seen AS MATERIALIZED (SELECT (SELECT m FROM member m WHERE m.workspace_id = $1 AND m.platform_user_id = pd.uid) "
    "AS m FROM pd), old AS MATERIALIZED (SELECT (m).* FROM seen WHERE (m).id IS NOT NULL), "
    f"ins AS (INSERT INTO member ({', '.join(_MEMBER_COLUMNS)}) "
    "SELECT $1, uid, name, department, locale, NULL, false, false, bot, true, 0, 0, $8, false FROM pd "
    "WHERE uid NOT IN (SELECT platform_user_id FROM old) "
    "ORDER BY uid ON CONFLICT (workspace_id, platform_user_id) DO NOTHING RETURNING *), "
    "addr AS (" + UPSERT_ON_POSTGRES.format(workspace="$1", now="$8", keys="$9", payloads="$10", replace="$11",
                                            replaced="$12") + ") "
    "SELECT ins.*, pd.department AS kizuna_mapped FROM ins JOIN pd ON pd.uid = ins.platform_user_id "
    "UNION ALL SELECT old.*, pd.department FROM old JOIN pd ON pd.uid = old.platform_user_id")


def _as_described(workspace_id: int, people: list[Person]) -> list[Member]:
    """The members ``people`` will be, as far as their description says: what a new person is created as, and
    what a known one is refreshed to when the platform names them (unsaved; no id, department or counts)."""
    return [Member(workspace_id=workspace_id, platform_user_id=p.platform_user_id,
                   display_name=(p.display_name or p.platform_user_id)[:255], locale=normalize_locale(p.locale),
                   is_bot=p.is_bot) for p in people]


async def _members_on_postgres(sql: Sql, workspace_id: int, people: list[Person], now: datetime,
                               addresses: AddressesFor | Iterable[AddressWrite]) -> dict[str, Member] | None:
    """``_members_plan`` on PostgreSQL outside a transaction, in one round trip: the people (read, mapped,
    created) and their addresses in one statement, shared with the events arriving at the same moment
    (``core.pg.Batch``). None when someone else created one of the people since the statement began (the caller
    then runs the plan, which reads them).

    Addresses that are a function of the members are made from the people as described (``_as_described``) and
    made again from the members the statement returns; where the two differ (a known person the event does not
    name, a payload holding the member's id), the difference is one more statement: a replacing write is written
    again, and a keeping one (``replace=False``) replaces the guess only where the guess is what is stored. The
    refresh of a known person (a new name, language, department: a recipient's first message gives their
    language) is one more statement, shared too.
    """
    by_id = {p.platform_user_id: p for p in people}
    guessed = distinct_writes(addresses(_as_described(workspace_id, people)) if callable(addresses) else addresses)
    item: _PeopleOf = (people, list(guessed.values()), now)
    if any(p.role_ids for p in people):  # their department depends on this description: not shared with others
        found = (await _people_on_postgres(sql.client, workspace_id, [item]))[0]
    else:
        batch: Batch[_PeopleOf, _Rows | None] = Batch.of(
            sql.client, ("people", workspace_id), lambda items: _people_on_postgres(sql.client, workspace_id, items))
        found = await batch.submit(item)
    if found is None:
        return None
    refresh: list[tuple[int, dict[str, object]]] = []
    for row in sorted(found.values(), key=lambda r: int(r["id"])):
        changes = _changes(by_id[row["platform_user_id"]], row, row.pop("kizuna_mapped"))
        if changes:
            refresh.append((int(row["id"]), changes))
            row.update(changes)
    if refresh:
        refreshes: Batch[_Refresh, None] = Batch.of(sql.client, ("refresh", workspace_id),
                                                    lambda items: _refresh_on_postgres(sql.client, items))
        await refreshes.submit(refresh)
    members = {key: Member._init_from_db(**row) for key, row in found.items()}
    if callable(addresses):
        await _correct_guessed_addresses(sql, workspace_id, guessed, distinct_writes(addresses(
            list(members.values()))), now)
    return members


async def _correct_guessed_addresses(sql: Sql, workspace_id: int, guessed: dict[str, AddressWrite],
                                     made: dict[str, AddressWrite], now: datetime) -> None:
    """Write what the members' own addresses (``made``) say and the guessed ones did not (see
    ``_members_on_postgres``). A guessed write the members do not make stays: it names the same person."""
    writes: list[AddressWrite] = []
    kept: list[tuple[AddressWrite, AddressWrite]] = []
    for key, write in made.items():
        guess = guessed.get(key)
        if guess is None or guess.replace != write.replace:
            writes.append(write)
        elif guess.payload != write.payload:
            if write.replace:
                writes.append(write)
            else:
                kept.append((guess, write))
    if writes:
        stores: Batch[_AddressesOf, None] = Batch.of(
            sql.client, ("addresses", workspace_id),
            lambda items: _store_addresses_on_postgres(sql, workspace_id, items))
        await stores.submit((writes, now))
    await replace_if_still_on_postgres(sql, workspace_id, kept, now)


_PeopleOf = tuple[list[Person], list[AddressWrite], datetime]  # the people of one event, their addresses, when
_Rows = dict[str, dict[str, Any]]  # their rows by platform id
_AddressesOf = tuple[list[AddressWrite], datetime]
_Refresh = list[tuple[int, dict[str, object]]]  # (member id, the columns that change) of one event

# PostgreSQL: the refresh of known people (``_changes``: never a column set to NULL, so ``coalesce`` keeps the
# columns an event does not change), for several events at once; ``locked`` takes the rows in id order first, so
# two of these never wait for each other in a circle.
_REFRESH_ON_POSTGRES = (
    "WITH locked AS (SELECT id FROM member WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE) "
    "UPDATE member m SET display_name = coalesce(v.display_name, m.display_name), locale = coalesce(v.locale, "
    "m.locale), is_bot = coalesce(v.is_bot, m.is_bot), department_id = coalesce(v.department_id, m.department_id) "
    "FROM unnest($1::int[], $2::text[], $3::text[], $4::bool[], $5::int[]) AS v(id, display_name, locale, is_bot, "
    "department_id) WHERE m.id = v.id AND m.id IN (SELECT id FROM locked)")


async def _refresh_on_postgres(client: BaseDBAsyncClient, items: list[_Refresh]) -> list[None]:
    """One ``UPDATE`` for the refreshes of several events (a person refreshed by several: as the first does)."""
    merged: dict[int, dict[str, object]] = {}
    for refresh in items:
        for member_id, changes in refresh:
            merged.setdefault(member_id, changes)
    ids = sorted(merged)
    await fetch(client, _REFRESH_ON_POSTGRES, [ids, *([merged[i].get(column) for i in ids] for column in (
        "display_name", "locale", "is_bot", "department_id"))])
    return [None] * len(items)


def _merged_writes(items: Iterable[list[AddressWrite]]) -> list[AddressWrite]:
    """The writes of several events as one: a key written by several is written as the first that replaces
    writes it (or as the first, if none replaces): they came at the same moment."""
    merged: dict[str, AddressWrite] = {}
    for writes in items:
        for write in writes:
            if write.key not in merged or (write.replace and not merged[write.key].replace):
                merged[write.key] = write
    return list(merged.values())


async def _people_on_postgres(client: BaseDBAsyncClient, workspace_id: int,
                              items: list[_PeopleOf]) -> list[_Rows | None]:
    """``_MEMBERS_ON_POSTGRES`` for the people and addresses of several events at once (a person named by
    several is described as the first names them; addresses as ``_merged_writes``): each event's rows (fresh
    dicts), or None when one of its people was created by someone else since the statement began."""
    described: dict[str, Person] = {}
    for people, _, _ in items:
        for person in people:
            described.setdefault(person.platform_user_id, person)
    ids = sorted(described)
    roles = [(uid, role) for uid in ids for role in sorted(set(described[uid].role_ids or ()))]
    rows = await fetch(client, _MEMBERS_ON_POSTGRES, [
        workspace_id, ids, [(described[i].display_name or i)[:255] for i in ids],
        [normalize_locale(described[i].locale) for i in ids], [described[i].is_bot for i in ids],
        [uid for uid, _ in roles], [role for _, role in roles], items[0][2],
        *upsert_arguments(_merged_writes(writes for _, writes, _ in items))])
    found = {row["platform_user_id"]: row for row in rows}
    results: list[_Rows | None] = []
    for people, _, _ in items:
        mine = {p.platform_user_id for p in people}
        results.append({uid: dict(found[uid]) for uid in mine} if mine <= found.keys() else None)
    return results


async def _store_addresses_on_postgres(sql: Sql, workspace_id: int, items: list[_AddressesOf]) -> list[None]:
    """The addresses of several events in one statement (``_merged_writes``)."""
    await store_on_postgres(sql, workspace_id, _merged_writes(writes for writes, _ in items), items[0][1])
    return [None] * len(items)


def _clean_department_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_DEPARTMENT_NAME:
        raise InvalidDepartmentName(max=MAX_DEPARTMENT_NAME)
    return cleaned


async def find_department(workspace: Workspace, name: str) -> Department | None:
    """The department called ``name`` (compared after NFKC and case folding)."""
    wanted = fold(name)
    for department in await Department.filter(workspace_id=workspace.id):
        if fold(department.name) == wanted:
            return department
    return None


async def ensure_department(workspace: Workspace, name: str) -> Department:
    """The department called ``name``, created if it does not exist."""
    cleaned = _clean_department_name(name)
    department = await find_department(workspace, cleaned)
    if department is not None:
        return department
    try:
        return await Department.create(workspace=workspace, name=cleaned)
    except IntegrityError:
        return await Department.get(workspace_id=workspace.id, name=cleaned)


async def set_department(workspace: Workspace, actor: Member, member: Member, name: str | None) -> Member:
    """Put ``member`` in department ``name`` (created if new), or in none (admins only)."""
    require_admin(actor)
    department = await ensure_department(workspace, name) if name else None
    member.department_id = department.id if department else None
    await member.save(update_fields=["department_id"])
    return member


async def map_role_to_department(workspace: Workspace, actor: Member, role_id: str, name: str) -> Department:
    """Discord: members with role ``role_id`` belong to department ``name`` (admins only)."""
    require_admin(actor)
    department = await ensure_department(workspace, name)
    async with in_transaction():
        await Department.filter(workspace_id=workspace.id, platform_role_id=role_id).update(platform_role_id=None)
        department.platform_role_id = role_id
        await department.save(update_fields=["platform_role_id"])
    return department


async def list_departments(workspace: Workspace) -> list[Department]:
    """The workspace's departments by name."""
    return await Department.filter(workspace_id=workspace.id).order_by("name")


async def get_department(workspace: Workspace, name: str) -> Department:
    """The department called ``name`` or ``UnknownDepartment``."""
    department = await find_department(workspace, name)
    if department is None:
        raise UnknownDepartment(name=name)
    return department


async def rename_department(workspace: Workspace, actor: Member, old_name: str, new_name: str) -> Department:
    """Call department ``old_name`` ``new_name`` from now on (admins only).

    Names compare like ``find_department``; a name another department already has is
    ``DepartmentNameTaken`` (``merge_departments`` brings two together), a new spelling of the
    same name is fine. Members, the role mapping and statistics keep the department by id;
    meetings, which show names, show the new one.
    """
    require_admin(actor)
    department = await get_department(workspace, old_name)
    cleaned = _clean_department_name(new_name)
    holder = await find_department(workspace, cleaned)
    if holder is not None and holder.id != department.id:
        raise DepartmentNameTaken(name=holder.name)
    if cleaned == department.name:
        return department
    try:
        async with in_transaction():
            await Department.filter(id=department.id).update(name=cleaned)
            for meeting in await _meetings_with(workspace, department.id):
                names = [cleaned if i == department.id else name
                         for i, name in zip(meeting.department_ids, meeting.departments, strict=True)]
                await Meeting.filter(id=meeting.id).update(departments=names)
    except IntegrityError:  # the same name, created or renamed to at the same moment
        raise DepartmentNameTaken(name=cleaned) from None
    department.name = cleaned
    return department


async def merge_departments(workspace: Workspace, actor: Member, source_name: str, target_name: str) -> Department:
    """Move everything of department ``source_name`` into ``target_name`` and delete it (admins only).

    In one transaction: its members, its Discord role mapping (unless the target has a role of its
    own, which it keeps: a department maps one role), the meetings and projects that list it, and
    the statistics. History is restated as if the two had always been one department: each thanks
    names the target, and the daily rollup rows are re-pointed and added up, so a thanks between
    the two now counts as one within the target; the dashboard's stored figures are forgotten.
    Merging a department into itself is ``DepartmentMergedIntoItself``.
    """
    require_admin(actor)
    source = await get_department(workspace, source_name)
    target = await get_department(workspace, target_name)
    if source.id == target.id:
        raise DepartmentMergedIntoItself(name=source.name)
    async with in_transaction() as connection:
        # Both rows first, in id order: a second merge of either department waits, then finds
        # what this one left. NO KEY: members may still be put in them meanwhile (foreign key checks).
        found = {d.id: d for d in await Department.filter(workspace_id=workspace.id, id__in=[source.id, target.id])
                 .order_by("id").select_for_update(no_key=True)}
        if source.id not in found or target.id not in found:
            raise UnknownDepartment(name=source_name if source.id not in found else target_name)
        source, target = found[source.id], found[target.id]
        # The members' rows in id order, the order a thanks locks them in, so neither waits for the other in a circle.
        moving = await Member.filter(workspace_id=workspace.id, department_id=source.id).order_by("id") \
            .select_for_update().only("id")  # (values_list would drop the lock)
        if moving:
            await Member.filter(id__in=[m.id for m in moving]).update(department_id=target.id)
        if source.platform_role_id is not None and target.platform_role_id is None:
            await Department.filter(id=target.id).update(platform_role_id=source.platform_role_id)
            target.platform_role_id = source.platform_role_id
        for meeting in await _meetings_with(workspace, source.id):
            pairs = list(zip(meeting.department_ids, meeting.departments, strict=True))
            if target.id in meeting.department_ids:
                pairs = [p for p in pairs if p[0] != source.id]
            else:
                pairs = [(target.id, target.name) if i == source.id else (i, n) for i, n in pairs]
            await Meeting.filter(id=meeting.id).update(department_ids=[i for i, _ in pairs],
                                                       departments=[n for _, n in pairs])
        # Projects that list the source list the target instead (once).
        for project in await Project.filter(workspace_id=workspace.id).only("id", "department_ids"):
            if source.id in project.department_ids:
                merged = list(dict.fromkeys(target.id if i == source.id else i for i in project.department_ids))
                await Project.filter(id=project.id).update(department_ids=merged)
        await ThanksRecipient.filter(workspace_id=workspace.id, sender_department_id=source.id) \
            .update(sender_department_id=target.id)
        await ThanksRecipient.filter(workspace_id=workspace.id, recipient_department_id=source.id) \
            .update(recipient_department_id=target.id)
        # Rows naming the source are added into the rows they become (grouped first: several fold
        # into one, e.g. source→target and target→source into target→target), then deleted.
        ids = [source.id, target.id, source.id, target.id, workspace.id, source.id, source.id]
        await Sql(connection).rows(
            "INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count) "
            "SELECT workspace_id, day, CASE WHEN sender_department_id = ? THEN ? ELSE sender_department_id END, "
            "CASE WHEN recipient_department_id = ? THEN ? ELSE recipient_department_id END, SUM(count) "
            "FROM department_flow WHERE workspace_id = ? AND (sender_department_id = ? OR recipient_department_id = ?) "
            "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
            "ON CONFLICT (workspace_id, day, sender_department_id, recipient_department_id) "
            "DO UPDATE SET count = department_flow.count + excluded.count", ids)
        await DepartmentFlow.filter(Q(sender_department_id=source.id) | Q(recipient_department_id=source.id),
                                    workspace_id=workspace.id).delete()
        await Department.filter(id=source.id).delete()
        # The dashboard's stored figures of ended periods counted the two apart.
        await forget_figures(workspace.id, connection)
    return target


async def _meetings_with(workspace: Workspace, department_id: int) -> list[Meeting]:
    """The workspace's meetings that list the department (read only: names and ids)."""
    meetings = await Meeting.filter(workspace_id=workspace.id).only("id", "departments", "department_ids")
    return [m for m in meetings if department_id in m.department_ids]


async def set_notifications(member: Member, enabled: bool) -> Member:
    """Turn the member's 1:1 thanks notifications on or off."""
    member.notifications_enabled = enabled
    await member.save(update_fields=["notifications_enabled"])
    return member


# ---- CSV import -------------------------------------------------------------------------------

IMPORT_COLUMNS = ("platform", "user_id", "display_name", "department", "admin")
_TRUE = {"1", "true", "yes", "y", "はい", "○", "x"}
_FALSE = {"", "0", "false", "no", "n", "いいえ", "×"}
# What a members CSV is read as when its encoding is not given: UTF-8 (with or without the BOM that
# Excel's "CSV UTF-8" writes), else Shift-JIS as Japanese Excel's plain "CSV" saves it (cp932 is
# Microsoft's Shift-JIS, with the characters Windows adds, such as ① and ㈱).
CSV_ENCODINGS = ("utf-8-sig", "cp932")


class UnreadableCsv(KizunaError):
    """The members CSV is in none of the encodings tried."""

    message_id = "error.import_encoding"


class UnknownEncoding(KizunaError):
    """The encoding named for a members CSV does not exist."""

    message_id = "error.import_unknown_encoding"


class BadImportRow(ImportRowError):
    """One bad row of a members CSV; its reason is a message id too, so the whole line reads in either language."""

    def __init__(self, line: int, reason_id: str, **reason_params: Any) -> None:
        self.reason_id = reason_id
        self.reason_params = reason_params
        super().__init__(line=line, reason=translate("en", reason_id, **reason_params))

    def localized(self, locale: str) -> str:
        """``Line 3: …`` / ``3行目: …`` with the reason in the same language."""
        return translate(locale, self.message_id, line=self.params["line"],
                         reason=translate(locale, self.reason_id, **self.reason_params))


def decode_members_csv(data: bytes, encoding: str | None = None) -> str:
    """The text of a members CSV file: in ``encoding``, or (None) in the first of ``CSV_ENCODINGS`` that fits."""
    tried = [encoding] if encoding else list(CSV_ENCODINGS)
    for name in tried:
        try:
            return data.decode(name)
        except LookupError:
            raise UnknownEncoding(encoding=name) from None
        except UnicodeDecodeError:
            continue
    raise UnreadableCsv(tried=", ".join(tried))


@dataclass(frozen=True)
class ImportRow:
    """One valid row of a members CSV."""

    line: int
    platform: str
    user_id: str
    display_name: str
    department: str
    admin: bool


@dataclass(frozen=True)
class ImportResult:
    """What an import changed."""

    created: int
    updated: int
    departments_created: int


class ImportFailed(Exception):
    """The file has bad rows; nothing was imported. ``errors`` are localisable, with line numbers."""

    def __init__(self, errors: list[ImportRowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def parse_members_csv(text: str, platform: str) -> list[ImportRow]:
    """Check every row of a members CSV; ``ImportFailed`` lists each bad row by line number."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    errors: list[ImportRowError] = []
    rows: list[ImportRow] = []
    header = next(reader, None)
    if header is None or [fold(h).replace(" ", "_") for h in header[:5]] != list(IMPORT_COLUMNS):
        raise ImportFailed([BadImportRow(1, "error.import.header", columns=",".join(IMPORT_COLUMNS))])
    seen: dict[str, int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(IMPORT_COLUMNS):
            errors.append(BadImportRow(line, "error.import.columns", expected=len(IMPORT_COLUMNS), got=len(fields)))
            continue
        row_platform, user_id, display_name, department, admin = (f.strip() for f in fields)
        if fold(row_platform) != platform:
            errors.append(BadImportRow(line, "error.import.platform", found=row_platform, expected=platform))
        elif not user_id or len(user_id) > 255:
            errors.append(BadImportRow(line, "error.import.user_id"))
        elif user_id in seen:
            errors.append(BadImportRow(line, "error.import.repeated", user_id=user_id, first=seen[user_id]))
        elif len(department) > MAX_DEPARTMENT_NAME or len(display_name) > 255:
            errors.append(BadImportRow(line, "error.import.too_long"))
        elif fold(admin) not in _TRUE | _FALSE:
            errors.append(BadImportRow(line, "error.import.admin", value=admin))
        else:
            seen[user_id] = line
            rows.append(ImportRow(line, platform, user_id, display_name or user_id,
                                  " ".join(department.split()), fold(admin) in _TRUE))
    if errors:
        raise ImportFailed(errors)
    return rows


async def import_members(workspace: Workspace, rows: Iterable[ImportRow]) -> ImportResult:
    """Write checked rows in one transaction: all or nothing."""
    created = updated = departments_created = 0
    async with in_transaction():
        departments = {fold(d.name): d for d in await Department.filter(workspace_id=workspace.id)}
        existing = {m.platform_user_id: m for m in await Member.filter(workspace_id=workspace.id)}
        for row in rows:
            department = None
            if row.department:
                department = departments.get(fold(row.department))
                if department is None:
                    department = await Department.create(workspace=workspace, name=row.department)
                    departments[fold(row.department)] = department
                    departments_created += 1
            member = existing.get(row.user_id)
            if member is None:
                await Member.create(workspace=workspace, platform_user_id=row.user_id,
                                    display_name=row.display_name, is_admin=row.admin,
                                    department_id=department.id if department else None)
                created += 1
            else:
                member.display_name = row.display_name
                member.is_admin = row.admin
                member.department_id = department.id if department else None
                await member.save(update_fields=["display_name", "is_admin", "department_id"])
                updated += 1
    return ImportResult(created, updated, departments_created)
