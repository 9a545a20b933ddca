"""Addresses: how to reach a member 1:1 or post in a channel, stored so proactive messages survive a restart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.models import Address, Workspace
from core.pg import fetch
from core.sql import Plan, Sql, marks, placeholders, run_in_transaction


@dataclass(frozen=True)
class AddressWrite:
    """An address to store: ``replace=False`` keeps a payload already stored under ``key``."""

    key: str
    payload: Mapping[str, Any]
    replace: bool = True


def member_key(platform_user_id: str) -> str:
    """The address key of a member's 1:1 conversation."""
    return f"member:{platform_user_id}"


def channel_key(channel_id: str) -> str:
    """The address key of a channel (or group conversation)."""
    return f"channel:{channel_id}"


async def get_address(workspace: Workspace, key: str) -> dict[str, Any] | None:
    """The payload stored under ``key``, or None."""
    address = await Address.get_or_none(workspace_id=workspace.id, key=key)
    return dict(address.payload) if address is not None else None


async def get_addresses(workspace: Workspace, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The payloads stored under ``keys`` (those that exist), with one read."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    return {a.key: dict(a.payload) for a in await Address.filter(workspace_id=workspace.id, key__in=wanted)}


def distinct_writes(writes: Iterable[AddressWrite]) -> dict[str, AddressWrite]:
    """The writes by key, the first of each key kept (a key is written at most once per call)."""
    distinct: dict[str, AddressWrite] = {}
    for write in writes:
        distinct.setdefault(write.key, write)
    return distinct


async def store_addresses(workspace: Workspace, writes: Iterable[AddressWrite]) -> None:
    """Store each write's payload under its key (see ``addresses_plan``), in one transaction (one trip on SQLite)."""
    distinct = distinct_writes(writes)
    if not distinct:
        return
    sql = Sql()
    if sql.own_postgres_statements:
        await store_on_postgres(sql, workspace.id, list(distinct.values()), datetime.now(UTC))
    else:
        await run_in_transaction(addresses_plan(workspace.id, list(distinct.values()), datetime.now(UTC)))


# PostgreSQL: what ``addresses_plan`` does, as one statement (its own transaction, one round trip), or as one
# part of a larger one (``core.services.members``); ``{…}`` are its parameters' placeholders. The read is
# ``stored``: only missing keys, and replacing writes whose payload differs, reach the insert, so a stored
# row that stays as it is is not locked; one created since the statement began meets ``ON CONFLICT``. Each key
# is looked up by a subquery on the whole unique (workspace, key), which every plan serves from that index
# whatever the table's statistics say (``key = ANY(…)`` or a join was planned, without statistics, as a scan of
# every address of the workspace).
UPSERT_ON_POSTGRES = (
    "INSERT INTO address (workspace_id, key, payload, updated_at) "
    "SELECT {workspace}, w.key, w.payload::jsonb, {now} FROM (SELECT w.*, (SELECT s.payload FROM address s "
    "WHERE s.workspace_id = {workspace} AND s.key = w.key) AS stored FROM unnest({keys}::text[], "
    "{payloads}::text[], {replace}::bool[]) AS w(key, payload, replace)) w "
    "WHERE w.stored IS NULL OR (w.replace AND w.stored <> w.payload::jsonb) ORDER BY w.key "
    "ON CONFLICT (workspace_id, key) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at "
    "WHERE address.payload <> excluded.payload AND excluded.key = ANY({replaced}::text[])")
_STORE_ON_POSTGRES = UPSERT_ON_POSTGRES.format(workspace="$1", keys="$2", payloads="$3", replace="$4", now="$5",
                                               replaced="$6")


def upsert_arguments(writes: Iterable[AddressWrite]) -> list[object]:
    """``UPSERT_ON_POSTGRES``'s ``keys``, ``payloads``, ``replace`` and ``replaced``, in key order (distinct keys)."""
    field = Address._meta.fields_map["payload"]
    batch = sorted(writes, key=lambda w: w.key)
    return [[w.key for w in batch], [field.to_db_value(dict(w.payload), Address) for w in batch],
            [w.replace for w in batch], [w.key for w in batch if w.replace]]


async def store_on_postgres(sql: Sql, workspace_id: int, writes: list[AddressWrite], now: datetime) -> None:
    """``addresses_plan`` on PostgreSQL outside a transaction: one statement (distinct keys only)."""
    if not writes:
        return
    keys, payloads, replace, replaced = upsert_arguments(writes)
    await fetch(sql.client, _STORE_ON_POSTGRES, [workspace_id, keys, payloads, replace, now, replaced])


# PostgreSQL: each payload replaced where what is stored is still the one given (a compare-and-set).
_REPLACE_IF_STILL = (
    "UPDATE address a SET payload = w.payload::jsonb, updated_at = $2 FROM unnest($3::text[], $4::text[], "
    "$5::text[]) AS w(key, payload, was) WHERE a.workspace_id = $1 AND a.key = w.key AND a.payload = w.was::jsonb")


async def replace_if_still_on_postgres(sql: Sql, workspace_id: int,
                                       changes: list[tuple[AddressWrite, AddressWrite]], now: datetime) -> None:
    """For each (was, now) pair of writes of one key, ``now``'s payload where ``was``'s is what is stored (one
    statement): a write that keeps a stored payload (``replace=False``) made with a guess corrected, without
    replacing a payload someone else stored."""
    if not changes:
        return
    field = Address._meta.fields_map["payload"]
    ordered = sorted(changes, key=lambda pair: pair[1].key)
    await fetch(sql.client, _REPLACE_IF_STILL, [
        workspace_id, now, [new.key for _, new in ordered],
        [field.to_db_value(dict(new.payload), Address) for _, new in ordered],
        [field.to_db_value(dict(was.payload), Address) for was, _ in ordered]])


def addresses_plan(workspace_id: int, writes: list[AddressWrite], now: datetime) -> Plan[None]:
    """Insert the missing keys; replace a stored payload only where the write says ``replace`` and
    the payload differs. One key at most once per call.

    What is stored is read first and only what must change is written: on PostgreSQL an upsert
    locks the row it meets even when it changes nothing, and a channel's reference is met by
    every event in that channel. The rows go in key order, so two transactions never wait for
    each other's rows in opposite orders.
    """
    if not writes:
        return
    field = Address._meta.fields_map["payload"]
    batch = sorted(writes, key=lambda w: w.key)
    rows = yield (f"SELECT key, payload FROM address WHERE workspace_id = ? AND key IN ({placeholders(len(batch))})",
                  [workspace_id, *(w.key for w in batch)])
    stored = {r["key"]: field.to_python_value(r["payload"]) for r in rows}
    batch = [w for w in batch if w.key not in stored or (w.replace and stored[w.key] != dict(w.payload))]
    if not batch:
        return
    values: list[object] = []
    for w in batch:
        values += [workspace_id, w.key, field.to_db_value(dict(w.payload), Address), now]
    replaced = [w.key for w in batch if w.replace]
    if not replaced:
        on_conflict = "DO NOTHING"
    else:  # a row created since the read: replaced too where the write says so
        only = "" if len(replaced) == len(batch) else f" AND excluded.key IN ({placeholders(len(replaced))})"
        on_conflict = ("DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at "
                       f"WHERE address.payload <> excluded.payload{only}")
        if only:
            values += replaced
    yield (f"INSERT INTO address (workspace_id, key, payload, updated_at) VALUES {marks(len(batch), 4)} "
           f"ON CONFLICT (workspace_id, key) {on_conflict}", values)
