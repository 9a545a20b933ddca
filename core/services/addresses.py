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


async def store_addresses(workspace: Workspace, writes: Iterable[AddressWrite]) -> None:
    """Store each write's payload under its key (see ``addresses_plan``), in one transaction (one trip on SQLite)."""
    distinct: dict[str, AddressWrite] = {}
    for write in writes:
        distinct.setdefault(write.key, write)
    if not distinct:
        return
    sql = Sql()
    if sql.own_postgres_statements:
        await store_on_postgres(sql, workspace.id, list(distinct.values()), datetime.now(UTC))
    else:
        await run_in_transaction(addresses_plan(workspace.id, list(distinct.values()), datetime.now(UTC)))


# PostgreSQL: what ``addresses_plan`` does, as one statement (its own transaction, one round trip). The read is
# ``stored``: only missing keys, and replacing writes whose payload differs, reach the insert, so a stored
# row that stays as it is is not locked; one created since the statement began meets ``ON CONFLICT``. Each key
# is looked up by a subquery on the whole unique (workspace, key), which every plan serves from that index
# whatever the table's statistics say (``key = ANY(…)`` or a join was planned, without statistics, as a scan of
# every address of the workspace).
_STORE_ON_POSTGRES = (
    "INSERT INTO address (workspace_id, key, payload, updated_at) "
    "SELECT $1, w.key, w.payload::jsonb, $5 FROM (SELECT w.*, (SELECT s.payload FROM address s "
    "WHERE s.workspace_id = $1 AND s.key = w.key) AS stored FROM unnest($2::text[], $3::text[], $4::bool[]) "
    "AS w(key, payload, replace)) w WHERE w.stored IS NULL OR (w.replace AND w.stored <> w.payload::jsonb) "
    "ORDER BY w.key "
    "ON CONFLICT (workspace_id, key) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at "
    "WHERE address.payload <> excluded.payload AND excluded.key = ANY($6::text[])")


async def store_on_postgres(sql: Sql, workspace_id: int, writes: list[AddressWrite], now: datetime) -> None:
    """``addresses_plan`` on PostgreSQL outside a transaction: one statement (distinct keys only)."""
    if not writes:
        return
    field = Address._meta.fields_map["payload"]
    batch = sorted(writes, key=lambda w: w.key)
    await fetch(sql.client, _STORE_ON_POSTGRES, [
        workspace_id, [w.key for w in batch], [field.to_db_value(dict(w.payload), Address) for w in batch],
        [w.replace for w in batch], now, [w.key for w in batch if w.replace]])


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
