"""Giving thanks and clapping: every rule about who may thank whom lives here, once."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import unicodedata
import weakref
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core import outbox
from core.errors import (
    BotThanksNotAllowed,
    ClapOwnThanks,
    DailyLimitReached,
    EmptyMessage,
    KizunaError,
    MessageTooLong,
    NoRecipients,
    SelfThanksNotAllowed,
    ThanksNotFound,
    TooManyRecipients,
    TooManyValues,
    ValueRequired,
)
from core.models import NO_DEPARTMENT, Clap, Member, Thanks, ThanksRecipient, ThanksValue, Workspace
from core.services.values import ValueRow, pick_values, to_ref
from core.views import MemberRef, ThanksView

MAX_RECIPIENTS = 10
MAX_VALUES = 3

# Characters that render as nothing: a message made only of these is empty.
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
_EDGE = re.compile(f"^[\\s{_INVISIBLE}]+|[\\s{_INVISIBLE}]+$")


@dataclass(frozen=True)
class ThanksResult:
    """A thanks as stored; ``created`` is False when the same event was delivered again."""

    view: ThanksView
    created: bool


@dataclass(frozen=True)
class ClapResult:
    """A thanks after a clap; ``changed`` is False when the clap was already there (or not)."""

    view: ThanksView
    changed: bool


def clean_message(text: str) -> str:
    """Trim whitespace and invisible characters at both ends (NFC, so lengths are what people see)."""
    return _EDGE.sub("", unicodedata.normalize("NFC", text or ""))


def member_ref(member: Member) -> MemberRef:
    """The immutable view of a member."""
    return MemberRef(member.id, member.platform_user_id, member.display_name)


def local_day(moment: datetime, tz_name: str) -> date:
    """The calendar day of ``moment`` in ``tz_name``."""
    return moment.astimezone(ZoneInfo(tz_name)).date()


def _distinct(recipients: Sequence[Member]) -> list[Member]:
    seen: set[int] = set()
    result = []
    for member in recipients:
        if member.id not in seen:
            seen.add(member.id)
            result.append(member)
    return result


async def give_thanks(
    workspace: Workspace,
    sender: Member,
    recipients: Sequence[Member],
    message: str,
    value_tags: Sequence[str] = (),
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    channel_ref: str | None = None,
    notify_recipients: bool = False,
) -> ThanksResult:
    """Record a thanks from ``sender`` to ``recipients``, or raise the rule it breaks.

    Nothing is written when a rule is broken. The same ``idempotency_key`` (the platform's
    event id) twice returns the first thanks with ``created=False``. In the same transaction the
    outbox gets a feed post (if the workspace has a feed channel other than ``channel_ref``) and,
    with ``notify_recipients``, a 1:1 notification for each recipient who wants one.
    """
    try:
        people, text = _check_people_and_text(workspace, sender, recipients, message)
    except KizunaError:
        # A delivery we already accepted is answered with its thanks even if a setting changed since.
        replay = await _find_by_key(workspace.id, idempotency_key) if idempotency_key else None
        if replay is None:
            raise
        return ThanksResult(await load_thanks_view(workspace, replay), created=False)

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    day = local_day(moment, sender.timezone or workspace.timezone)
    client = connections.get("default")
    plan = _thanks_plan(client.capabilities.dialect == "postgres", workspace, sender, people, value_tags, text,
                        moment, day, idempotency_key, channel_ref, notify_recipients)
    try:
        written = await _Sql(client).run_in_transaction(plan)
    except IntegrityError:
        if idempotency_key:
            # The same event, delivered twice at the same moment: the other one won.
            existing_id = await _find_by_key(workspace.id, idempotency_key)
            if existing_id is not None:
                return ThanksResult(await load_thanks_view(workspace, existing_id), created=False)
        raise
    if not written.created:
        return ThanksResult(await load_thanks_view(workspace, written.thanks_id), created=False)
    view = ThanksView(
        id=written.thanks_id, workspace_id=workspace.id, sender=member_ref(sender),
        recipients=tuple(member_ref(m) for m in people), values=tuple(to_ref(v) for v in written.values),
        message=text, created_at=moment, clap_count=0,
    )
    return ThanksResult(view, created=True)


def _check_people_and_text(workspace: Workspace, sender: Member, recipients: Sequence[Member],
                           message: str) -> tuple[list[Member], str]:
    """The rules that need no database: recipients and message."""
    people = _distinct(recipients)
    if not people:
        raise NoRecipients()
    if len(people) > MAX_RECIPIENTS:
        raise TooManyRecipients(max=MAX_RECIPIENTS)
    if any(m.id == sender.id for m in people):
        raise SelfThanksNotAllowed()
    bots = [m for m in people if m.is_bot]
    if bots:
        raise BotThanksNotAllowed(name=bots[0].display_name)
    text = clean_message(message)
    if not text:
        raise EmptyMessage()
    return people, text


@dataclass(frozen=True)
class _Settings:
    """The workspace settings a thanks is checked against, as read in its transaction."""

    daily_limit: int
    max_message_length: int
    value_required: bool
    feed_channel: str | None
    default_locale: str


@dataclass(frozen=True)
class _Written:
    """What the plan did: the thanks id, whether it is new, and its values."""

    thanks_id: int
    created: bool
    values: list[ValueRow]


# A plan yields (SQL with ``?`` placeholders, parameters) and is sent back each statement's rows.
Plan = Generator[tuple[str, list[object]], list[dict[str, Any]], _Written]


class _Sql:
    """Runs hand-written statements on the hot path, for both databases.

    ``give_thanks`` is the busiest write. Building its statements through the ORM cost more than
    running them, and on SQLite every statement is a hop to aiosqlite's thread, so a whole plan
    runs in one hop there (docs/performance.md has the figures).
    """

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self.postgres = client.capabilities.dialect == "postgres"

    def _text(self, sql: str) -> str:
        if not self.postgres:
            return sql
        parts = sql.split("?")
        return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))

    async def rows(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        """One statement's rows (``execute_query_dict``: asyncpg's ``execute_query`` drops RETURNING rows)."""
        return list(await self.client.execute_query_dict(self._text(sql), list(params)))

    async def run_in_transaction(self, plan: Plan) -> _Written:
        """Drive ``plan`` to its end in one transaction and return its result.

        SQLite, outside any transaction: through the connection's ``_GroupCommit``, which runs the
        plans waiting at that moment in one call on aiosqlite's thread and one transaction (each in
        its own savepoint), holding the lock tortoise's own transactions take. Otherwise
        (PostgreSQL, or already inside a transaction) through ``in_transaction``, one statement at
        a time.
        """
        if not self.postgres and not isinstance(self.client, TransactionalDBClient):
            group = _GroupCommit.of(self.client)
            if group is not None:
                return await group.submit(plan)
        async with in_transaction() as conn:
            return await _Sql(conn).run_plan(plan)

    async def run_plan(self, plan: Plan) -> _Written:
        """Drive ``plan`` statement by statement on this client."""
        try:
            sql, params = next(plan)
            while True:
                sql, params = plan.send(await self.rows(sql, params))
        except StopIteration as done:
            written: _Written = done.value
            return written


class _GroupCommit:
    """Group commit for one SQLite connection: thanks that arrive together share one transaction.

    While a group is being written, newcomers queue; the next group takes them all (up to
    ``MAX_GROUP``). Each plan runs in its own savepoint, so a broken rule rolls back that thanks
    alone; everyone is answered after the one ``COMMIT``. One call on aiosqlite's thread and one
    commit per group instead of per thanks is what lets a busy server keep up (docs/performance.md).
    """

    MAX_GROUP = 64
    _groups: ClassVar[weakref.WeakKeyDictionary[Any, _GroupCommit]] = weakref.WeakKeyDictionary()

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self.waiting: list[tuple[Plan, asyncio.Future[_Written]]] = []
        self.writing: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, client: BaseDBAsyncClient) -> _GroupCommit | None:
        """The group committer of this client's connection (None if it is not an aiosqlite one)."""
        connection = getattr(client, "_connection", None)
        if connection is None or not hasattr(connection, "_execute") or not hasattr(connection, "_conn"):
            return None
        group = cls._groups.get(connection)
        if group is None:
            group = cls._groups[connection] = cls(client)
        return group

    async def submit(self, plan: Plan) -> _Written:
        future: asyncio.Future[_Written] = asyncio.get_running_loop().create_future()
        self.waiting.append((plan, future))
        if self.writing is None or self.writing.done():
            self.writing = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting[:self.MAX_GROUP], self.waiting[self.MAX_GROUP:]
            try:
                async with self.client.acquire_connection() as connection:
                    outcomes = await connection._execute(_drive_sqlite_group, connection._conn,
                                                         [plan for plan, _ in group])
            except BaseException as error:  # the transaction itself failed: nobody's thanks was written
                outcomes = [error] * len(group)
                if isinstance(error, asyncio.CancelledError):
                    for _, future in group:
                        if not future.done():
                            future.set_exception(IntegrityError("the write was interrupted"))
                    raise
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


def _drive_sqlite_group(raw: sqlite3.Connection, plans: list[Plan]) -> list[_Written | BaseException]:
    """Run plans in one transaction on aiosqlite's own thread, each in a savepoint (autocommit mode)."""
    outcomes: list[_Written | BaseException] = []
    raw.execute("BEGIN")
    try:
        for plan in plans:
            raw.execute("SAVEPOINT kizuna_thanks")
            try:
                outcomes.append(_drive_sqlite(raw, plan))
            except Exception as error:
                raw.execute("ROLLBACK TO kizuna_thanks")
                outcomes.append(error)
            raw.execute("RELEASE kizuna_thanks")
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return outcomes


def _drive_sqlite(raw: sqlite3.Connection, plan: Plan) -> _Written:
    """Run a plan statement after statement on a sqlite3 connection."""
    try:
        sql, params = next(plan)
        while True:
            try:
                rows = [dict(r) for r in raw.execute(sql, params).fetchall()]
            except sqlite3.IntegrityError as error:
                raise IntegrityError(error) from error
            sql, params = plan.send(rows)
    except StopIteration as done:
        written: _Written = done.value
        return written


async def _find_by_key(workspace_id: int, key: str) -> int | None:
    rows = await _Sql(connections.get("default")).rows(
        "SELECT id FROM thanks WHERE workspace_id = ? AND idempotency_key = ?", [workspace_id, key])
    return int(rows[0]["id"]) if rows else None


def _marks(count: int, width: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * count)


def _thanks_plan(postgres: bool, workspace: Workspace, sender: Member, people: Sequence[Member],
                 value_tags: Sequence[str], text: str, moment: datetime, day: date,
                 idempotency_key: str | None, channel_ref: str | None, notify_recipients: bool) -> Plan:
    """The rest of the rules and every row of one thanks, as statements, in one transaction.

    The workspace's settings are read here, in the transaction, so a copy of the workspace that a
    caller cached can never apply an old limit.
    """
    if postgres:
        # Serialises one sender's thanks (first, so a replayed event finds the original committed),
        # so two at once cannot both pass the daily limit.
        yield "SELECT id FROM member WHERE id = ? FOR UPDATE", [sender.id]
    if idempotency_key:
        found = yield ("SELECT id FROM thanks WHERE workspace_id = ? AND idempotency_key = ?",
                       [workspace.id, idempotency_key])
        if found:
            return _Written(int(found[0]["id"]), False, [])
    current = yield ("SELECT daily_limit, max_message_length, value_required, feed_channel, default_locale "
                     "FROM workspace WHERE id = ?", [workspace.id])
    settings = _Settings(int(current[0]["daily_limit"]), int(current[0]["max_message_length"]),
                         bool(current[0]["value_required"]), current[0]["feed_channel"],
                         current[0]["default_locale"])
    if len(text) > settings.max_message_length:
        raise MessageTooLong(max=settings.max_message_length, length=len(text))
    values: list[ValueRow] = []
    if value_tags or settings.value_required:
        rows = yield ("SELECT id, key, name_en, name_ja, emoji, description_en, description_ja, active FROM value "
                      "WHERE workspace_id = ? ORDER BY position, id", [workspace.id])
        known = [ValueRow(int(r["id"]), r["key"], r["name_en"], r["name_ja"], r["emoji"], r["description_en"],
                          r["description_ja"], bool(r["active"])) for r in rows]
        values = pick_values(known, value_tags)
        if len(values) > MAX_VALUES:
            raise TooManyValues(max=MAX_VALUES)
        if settings.value_required and not values:
            raise ValueRequired(available=" ".join(f"#{v.key}" for v in known if v.active))
    # One statement checks the daily limit and inserts: no row comes back when the limit is reached.
    inserted = yield (
        "INSERT INTO thanks (workspace_id, sender_id, message, created_at, local_day, idempotency_key, clap_count, "
        "channel_ref) SELECT ?, ?, ?, ?, ?, ?, 0, ? WHERE (SELECT count(*) FROM thanks WHERE workspace_id = ? "
        "AND sender_id = ? AND local_day = ?) < ? RETURNING id",
        [workspace.id, sender.id, text, moment, day, idempotency_key or None, channel_ref,
         workspace.id, sender.id, day, settings.daily_limit])
    if not inserted:
        raise DailyLimitReached(limit=settings.daily_limit)
    thanks_id = int(inserted[0]["id"])
    from_department = sender.department_id or NO_DEPARTMENT
    recipient_rows: list[object] = []
    for position, m in enumerate(people):
        recipient_rows += [thanks_id, m.id, position, workspace.id, sender.id, moment, from_department,
                           m.department_id or NO_DEPARTMENT]
    yield ("INSERT INTO thanks_recipient (thanks_id, recipient_id, position, workspace_id, sender_id, "
           f"created_at, sender_department_id, recipient_department_id) VALUES {_marks(len(people), 8)}",
           recipient_rows)
    if values:
        value_rows: list[object] = []
        for position, v in enumerate(values):
            value_rows += [thanks_id, v.id, position]
        yield f"INSERT INTO thanks_value (thanks_id, value_id, position) VALUES {_marks(len(values), 3)}", value_rows
    recipient_ids = [m.id for m in people]
    id_marks = ", ".join("?" * len(recipient_ids))
    yield (
        "UPDATE member SET sent_count = sent_count + CASE WHEN id = ? THEN 1 ELSE 0 END, "
        f"received_count = received_count + CASE WHEN id IN ({id_marks}) THEN 1 ELSE 0 END "
        f"WHERE id IN (?, {id_marks})",
        [sender.id, *recipient_ids, sender.id, *recipient_ids])
    flows = Counter((from_department, m.department_id or NO_DEPARTMENT) for m in people)
    flow_rows: list[object] = []
    for (a, b), n in flows.items():
        flow_rows += [workspace.id, day, a, b, n]
    yield (
        "INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count) "
        f"VALUES {_marks(len(flows), 5)} ON CONFLICT (workspace_id, day, sender_department_id, "
        "recipient_department_id) DO UPDATE SET count = department_flow.count + excluded.count", flow_rows)
    deliveries = _deliveries(workspace, settings, thanks_id, people, channel_ref, notify_recipients, moment)
    if deliveries:
        yield (
            "INSERT INTO delivery (workspace_id, platform, address_key, kind, message, locale, dedupe_key, status, "
            f"attempts, next_attempt_at, late, created_at) VALUES {_marks(len(deliveries) // 12, 12)} "
            "ON CONFLICT (dedupe_key) DO NOTHING", deliveries)
    return _Written(thanks_id, True, values)


def _deliveries(workspace: Workspace, settings: _Settings, thanks_id: int, people: Sequence[Member],
                channel_ref: str | None, notify_recipients: bool, moment: datetime) -> list[object]:
    """Outbox rows (12 columns each) for a new thanks: the feed post and the recipients' notifications."""
    wanted: list[tuple[str, str, dict[str, object], str, str]] = []
    if settings.feed_channel and settings.feed_channel != channel_ref:
        wanted.append((f"channel:{settings.feed_channel}", "feed",
                       {"type": "thanks", "thanks_id": thanks_id, "audience": "feed"},
                       settings.default_locale, f"feed:{thanks_id}"))
    if notify_recipients:
        wanted += [(f"member:{m.platform_user_id}", "notification",
                    {"type": "thanks", "thanks_id": thanks_id, "audience": "recipient"},
                    m.locale or settings.default_locale, f"notify:{thanks_id}:{m.id}")
                   for m in people if m.notifications_enabled]
    rows: list[object] = []
    for address, kind, payload, locale, dedupe in wanted:
        rows += [workspace.id, workspace.platform, address, kind, json.dumps(payload), locale, dedupe,
                 outbox.PENDING, 0, moment, False, moment]
    return rows


async def load_thanks_view(workspace: Workspace, thanks_id: int) -> ThanksView:
    """A thanks of this workspace with its people and values, or ``ThanksNotFound``."""
    thanks = await Thanks.get_or_none(id=thanks_id, workspace_id=workspace.id).prefetch_related("sender")
    if thanks is None:
        raise ThanksNotFound()
    links = await ThanksRecipient.filter(thanks_id=thanks.id).order_by("position").prefetch_related("recipient")
    value_links = await ThanksValue.filter(thanks_id=thanks.id).order_by("position").prefetch_related("value")
    return ThanksView(
        id=thanks.id, workspace_id=workspace.id, sender=member_ref(thanks.sender),
        recipients=tuple(member_ref(link.recipient) for link in links),
        values=tuple(to_ref(link.value) for link in value_links),
        message=thanks.message, created_at=thanks.created_at, clap_count=thanks.clap_count,
    )


async def _clappable(workspace: Workspace, thanks_id: int, member: Member) -> Thanks:
    thanks = await Thanks.get_or_none(id=thanks_id, workspace_id=workspace.id)
    if thanks is None:
        raise ThanksNotFound()
    if thanks.sender_id == member.id or await ThanksRecipient.exists(thanks_id=thanks.id, recipient_id=member.id):
        raise ClapOwnThanks()
    return thanks


async def clap(workspace: Workspace, thanks_id: int, member: Member) -> ClapResult:
    """Add ``member``'s 👏 to a thanks; a second clap by the same member changes nothing."""
    thanks = await _clappable(workspace, thanks_id, member)
    try:
        async with in_transaction():
            await Clap.create(thanks_id=thanks.id, member_id=member.id)
            await Thanks.filter(id=thanks.id).update(clap_count=F("clap_count") + 1)
        changed = True
    except IntegrityError:
        changed = False
    return ClapResult(await load_thanks_view(workspace, thanks.id), changed)


async def unclap(workspace: Workspace, thanks_id: int, member: Member) -> ClapResult:
    """Take ``member``'s 👏 back."""
    thanks = await _clappable(workspace, thanks_id, member)
    async with in_transaction():
        deleted = await Clap.filter(thanks_id=thanks.id, member_id=member.id).delete()
        if deleted:
            await Thanks.filter(id=thanks.id).update(clap_count=F("clap_count") - 1)
    return ClapResult(await load_thanks_view(workspace, thanks.id), bool(deleted))
