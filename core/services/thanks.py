"""Giving thanks and clapping: every rule about who may thank whom lives here, once."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import weakref
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
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
from core.models import NO_DEPARTMENT, Clap, Member, Thanks, ThanksRecipient, ThanksValue, Workspace, is_row_id
from core.pg import Batch, FunctionUnavailable, ServerFunction, fetch
from core.projects.service import ProjectRow, is_no_project, pick_project
from core.services.values import ValueRow, pick_values, to_ref
from core.sql import Plan, Rows, Sql, Statement, marks, placeholders, together
from core.views import MemberRef, ProjectRef, ThanksView

log = logging.getLogger("kizuna.thanks")

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
    project_tags: Sequence[str] = (),
) -> ThanksResult:
    """Record a thanks from ``sender`` to ``recipients``, or raise the rule it breaks.

    Nothing is written when a rule is broken. The same ``idempotency_key`` (the platform's
    event id) twice returns the first thanks with ``created=False``. In the same transaction the
    outbox gets a feed post (if the workspace has a feed channel other than ``channel_ref``) and,
    with ``notify_recipients``, a 1:1 notification for each recipient who wants one.

    ``project_tags`` (``+launch``) name the project the thanks belongs to; without them, a thanks
    sent in an open project's channel belongs to that project, unless a tag says ``+none``.
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
    sql = Sql()
    try:
        written = None
        if sql.own_postgres_statements and sql.client not in _no_function:
            written = await _write_in_one_round_trip(sql.client, workspace, sender, people, value_tags, text, moment,
                                                     day, idempotency_key, channel_ref, notify_recipients,
                                                     project_tags)
        if written is None:
            written = await sql.run_in_transaction(_thanks_plan(
                sql.postgres, workspace, sender, people, value_tags, text, moment, day, idempotency_key,
                channel_ref, notify_recipients, project_tags))
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
        message=text, created_at=moment, clap_count=0, project=written.project,
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
    project: ProjectRef | None = None


ThanksPlan = Plan[_Written]


async def _find_by_key(workspace_id: int, key: str) -> int | None:
    rows = await Sql().rows(_BY_KEY, [workspace_id, key])
    return int(rows[0]["id"]) if rows else None


def _thanks_plan(postgres: bool, workspace: Workspace, sender: Member, people: Sequence[Member],
                 value_tags: Sequence[str], text: str, moment: datetime, day: date,
                 idempotency_key: str | None, channel_ref: str | None, notify_recipients: bool,
                 project_tags: Sequence[str] = ()) -> ThanksPlan:
    """The rest of the rules and every row of one thanks, as statements, in one transaction.

    The workspace's settings are read here, in the transaction, so a copy of the workspace that a
    caller cached can never apply an old limit.
    """
    # One read: the settings, (when tags were given) the values, and (when the thanks names no project)
    # the open project whose channel this is, if any.
    read = "SELECT w.daily_limit, w.max_message_length, w.value_required, w.feed_channel, w.default_locale"
    prefix, joins = "", ""
    params: list[object] = []
    if postgres:
        # First of all, in the same statement: the sender's and recipients' rows are locked, in id order.
        # The sender's lock serialises one sender's thanks, so two at once cannot both pass the daily
        # limit; the counters below need the recipients'; and in id order, two people thanking each
        # other at the same moment never hold one each while waiting for the other.
        ids = sorted({sender.id, *(m.id for m in people)})
        prefix = (f"WITH locked AS (SELECT id FROM member WHERE id IN ({placeholders(len(ids))}) ORDER BY id "
                  "FOR UPDATE) ")
        read += ", (SELECT count(*) FROM locked) AS locked"
        params += ids
    by_channel = bool(channel_ref) and not project_tags
    if by_channel:
        read += ", p.id AS project_id, p.key AS project_key, p.name AS project_name"
        joins += " LEFT JOIN project p ON p.workspace_id = w.id AND p.channel = ? AND p.status = 'open'"
        params.append(channel_ref)
    if value_tags:
        read += (", v.id AS value_id, v.key, v.name_en, v.name_ja, v.emoji, v.description_en, v.description_ja, "
                 f"v.active FROM workspace w{joins} LEFT JOIN value v ON v.workspace_id = w.id WHERE w.id = ? "
                 "ORDER BY v.position, v.id")
    else:
        read += f" FROM workspace w{joins} WHERE w.id = ?"
    current = yield prefix + read, [*params, workspace.id]
    first = current[0]
    settings = _Settings(int(first["daily_limit"]), int(first["max_message_length"]), bool(first["value_required"]),
                         first["feed_channel"], first["default_locale"])
    channel_project = first if by_channel and first["project_id"] is not None else None
    try:
        values, project_id, project = yield from _checked(workspace, settings, text, value_tags, project_tags,
                                                          current if value_tags else None, channel_project)
    except KizunaError:
        # A delivery we already accepted is answered with its thanks even if a setting changed since.
        replay = (yield _BY_KEY, [workspace.id, idempotency_key]) if idempotency_key else None
        if replay:
            return _Written(int(replay[0]["id"]), False, [])
        raise
    # One statement checks the daily limit and the event's key, and inserts: no row comes back when the
    # limit is reached or the event was seen before (its thanks may be committing right now: PostgreSQL
    # waits for it, then does nothing).
    inserted = yield (
        "INSERT INTO thanks (workspace_id, sender_id, message, created_at, local_day, idempotency_key, clap_count, "
        "channel_ref, project_id) SELECT ?, ?, ?, ?, ?, ?, 0, ?, ? WHERE (SELECT count(*) FROM thanks "
        "WHERE workspace_id = ? AND sender_id = ? AND local_day = ?) < ? "
        "ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING id",
        [workspace.id, sender.id, text, moment, day, idempotency_key or None, channel_ref, project_id,
         workspace.id, sender.id, day, settings.daily_limit])
    if not inserted:
        replay = (yield _BY_KEY, [workspace.id, idempotency_key]) if idempotency_key else None
        if replay:
            return _Written(int(replay[0]["id"]), False, [])
        raise DailyLimitReached(limit=settings.daily_limit)
    thanks_id = int(inserted[0]["id"])
    from_department = sender.department_id or NO_DEPARTMENT
    recipient_rows: list[object] = []
    for position, m in enumerate(people):
        recipient_rows += [thanks_id, m.id, position, workspace.id, sender.id, moment, from_department,
                           m.department_id or NO_DEPARTMENT, sender.display_name, m.display_name]
    # The other rows depend only on the thanks id: on PostgreSQL they go as one statement.
    writes: list[Statement] = [(
        "INSERT INTO thanks_recipient (thanks_id, recipient_id, position, workspace_id, sender_id, "
        "created_at, sender_department_id, recipient_department_id, sender_name, recipient_name) "
        f"VALUES {marks(len(people), 10)}", recipient_rows)]
    if values:
        value_rows: list[object] = []
        for position, v in enumerate(values):
            value_rows += [thanks_id, v.id, position]
        writes.append((f"INSERT INTO thanks_value (thanks_id, value_id, position) VALUES {marks(len(values), 3)}",
                       value_rows))
    recipient_ids = [m.id for m in people]
    id_marks = placeholders(len(recipient_ids))
    writes.append((
        "UPDATE member SET sent_count = sent_count + CASE WHEN id = ? THEN 1 ELSE 0 END, "
        f"received_count = received_count + CASE WHEN id IN ({id_marks}) THEN 1 ELSE 0 END "
        f"WHERE id IN (?, {id_marks})",
        [sender.id, *recipient_ids, sender.id, *recipient_ids]))
    deliveries = _deliveries(workspace, settings, thanks_id, people, channel_ref, notify_recipients, moment)
    if deliveries:
        writes.append((
            "INSERT INTO delivery (workspace_id, platform, address_key, kind, message, locale, dedupe_key, status, "
            f"attempts, next_attempt_at, late, created_at) VALUES {marks(len(deliveries) // 12, 12)} "
            "ON CONFLICT (dedupe_key) DO NOTHING", deliveries))
    # The day's rollup rows are shared by every thanks between the same two departments. Every member
    # row this thanks needs is locked already (first statement), so the rollup rows are the only locks
    # it may still wait for, and it takes them in one order (sorted): two thanks never wait for each
    # other in a circle, even as parts of one statement with the writes above.
    flows = sorted(Counter((from_department, m.department_id or NO_DEPARTMENT) for m in people).items())
    flow_rows: list[object] = []
    for (a, b), n in flows:
        flow_rows += [workspace.id, day, a, b, n]
    writes.append((
        "INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count) "
        f"VALUES {marks(len(flows), 5)} ON CONFLICT (workspace_id, day, sender_department_id, "
        "recipient_department_id) DO UPDATE SET count = department_flow.count + excluded.count", flow_rows))
    yield from together(postgres, writes)
    return _Written(thanks_id, True, values, project)


_BY_KEY = "SELECT id FROM thanks WHERE workspace_id = ? AND idempotency_key = ?"


_VALUES = ("SELECT id AS value_id, key, name_en, name_ja, emoji, description_en, description_ja, active FROM value "
           "WHERE workspace_id = ? ORDER BY position, id")
_PROJECTS = "SELECT id, key, name, status FROM project WHERE workspace_id = ? ORDER BY id"


def _value_row(row: dict[str, Any]) -> ValueRow:
    """A value from a row of ``_VALUES``'s shape (a read, the catalogue, a clap's answer)."""
    return ValueRow(int(row["value_id"]), row["key"], row["name_en"], row["name_ja"], row["emoji"],
                    row["description_en"], row["description_ja"], bool(row["active"]))


def _checked(workspace: Workspace, settings: _Settings, text: str, value_tags: Sequence[str],
             project_tags: Sequence[str], value_rows: Rows | None, channel_project: dict[str, Any] | None
             ) -> Generator[Statement, Rows, tuple[list[ValueRow], int | None, ProjectRef | None]]:
    """The rules that need the workspace's settings: the message's length, the values, the project.

    ``value_rows`` are the workspace's values when they were read already (they are read here when
    needed otherwise), ``channel_project`` the open project whose channel the thanks was sent in.
    """
    if len(text) > settings.max_message_length:
        raise MessageTooLong(max=settings.max_message_length, length=len(text))
    values: list[ValueRow] = []
    if value_tags or settings.value_required:
        rows = value_rows if value_rows is not None else (yield (_VALUES, [workspace.id]))
        known = [_value_row(r) for r in rows if r["value_id"] is not None]
        values = pick_values(known, value_tags)
        if len(values) > MAX_VALUES:
            raise TooManyValues(max=MAX_VALUES)
        if settings.value_required and not values:
            raise ValueRequired(available=" ".join(f"#{v.key}" for v in known if v.active))
    project: ProjectRef | None = None
    project_id: int | None = None
    if channel_project is not None:
        project_id = int(channel_project["project_id"])
        project = ProjectRef(channel_project["project_key"], channel_project["project_name"])
    elif not all(is_no_project(tag) for tag in project_tags):  # a ``+tag`` that names a project
        projects = yield (_PROJECTS, [workspace.id])
        picked = pick_project([ProjectRow(int(r["id"]), r["key"], r["name"], r["status"]) for r in projects],
                              project_tags)
        if picked is not None:
            project_id, project = picked.id, ProjectRef(picked.key, picked.name)
    return values, project_id, project


def _deliveries(workspace: Workspace, settings: _Settings, thanks_id: int | str, people: Sequence[Member],
                channel_ref: str | None, notify_recipients: bool, moment: datetime) -> list[object]:
    """Outbox rows (12 columns each) for a new thanks: the feed post and the recipients' notifications.

    ``thanks_id`` is ``NEW_THANKS_ID`` when the rows are written before the id is known (PostgreSQL's
    function puts it in)."""
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


# ---- PostgreSQL: a thanks in one round trip --------------------------------------------------------
#
# On PostgreSQL every statement is a round trip, and the plan above needs five (BEGIN, the locks and the
# settings, the insert, the other rows, COMMIT). Here the same work is one call of a PL/pgSQL function.
# The rules that need Python (the message's length, value tags matched by name in either language and
# width, project tags) are not written again in SQL: they run in Python, through ``_checked``, against the
# workspace's *catalogue* (settings, values, projects) kept per process, and the function refuses to write
# when the catalogue changed since it was read (a fingerprint computed by the same SQL on both sides):
# the catalogue is read again and the thanks tried again. What SQL decides best, it decides in the
# function, after taking the same locks in the same order as the plan: the daily limit, the event's key.
# Thanks that arrive while a call runs go together in the next call (``core.pg.Batch``): group commit, as on
# SQLite, each thanks in its own savepoint.

NEW_THANKS_ID = "$thanks_id"  # in outbox rows written before the thanks has its id

# Everything the Python-side rules read from the workspace, as one hash (``w`` is the workspace row).
_FINGERPRINT = (
    "md5(row(w.max_message_length, w.value_required, w.feed_channel, w.default_locale, "
    "(SELECT string_agg(row(v.id, v.key, v.name_en, v.name_ja, v.emoji, v.description_en, v.description_ja, "
    "v.active, v.position)::text, ';' ORDER BY v.id) FROM value v WHERE v.workspace_id = w.id), "
    "(SELECT string_agg(row(p.id, p.key, p.name, p.status, p.channel)::text, ';' ORDER BY p.id) "
    "FROM project p WHERE p.workspace_id = w.id))::text)")

_CATALOGUE = (
    f"SELECT {_FINGERPRINT} AS fingerprint, w.daily_limit, w.max_message_length, w.value_required, w.feed_channel, "
    "w.default_locale, (SELECT json_agg(json_build_object('value_id', v.id, 'key', v.key, 'name_en', v.name_en, "
    "'name_ja', v.name_ja, 'emoji', v.emoji, 'description_en', v.description_en, 'description_ja', "
    "v.description_ja, 'active', v.active) ORDER BY v.position, v.id) FROM value v WHERE v.workspace_id = w.id) "
    "AS value_rows, (SELECT json_agg(json_build_object('id', p.id, 'key', p.key, 'name', p.name, 'status', "
    "p.status, 'channel', p.channel) ORDER BY p.id) FROM project p WHERE p.workspace_id = w.id) AS project_rows "
    "FROM workspace w WHERE w.id = $1")

_GIVE_THANKS = ServerFunction(
    "kizuna_give_thanks",
    # p_items: one JSON object per thanks (``_call_thanks_function``); p_people: every member they name.
    "p_items jsonb, p_people int[]",
    "TABLE(k_item int, k_outcome text, k_thanks int, k_limit int, k_state text, k_error text)",
    f"""
#variable_conflict use_column
DECLARE
    v_item jsonb;
    v_n int;
    v_workspace int;
    v_limit int;
    v_fingerprint text;
    v_sender int;
    v_id int;
    v_recipients int[];
    v_flows jsonb := '[]';
BEGIN
    -- Every person of the group, locked in id order, first: as in the plan (_thanks_plan). Each thanks's own
    -- lock order (people, then its rollup rows) is the group's too: the rollup rows come last, below.
    PERFORM 1 FROM member WHERE id = ANY(p_people) ORDER BY id FOR UPDATE;
    FOR v_n IN 0 .. jsonb_array_length(p_items) - 1 LOOP
        v_item := p_items -> v_n;
        BEGIN  -- a savepoint: a thanks that fails rolls back its own rows only
            IF v_workspace IS DISTINCT FROM (v_item ->> 'workspace')::int THEN
                v_workspace := (v_item ->> 'workspace')::int;
                SELECT w.daily_limit, {_FINGERPRINT} INTO v_limit, v_fingerprint FROM workspace w
                WHERE w.id = v_workspace;
            END IF;
            IF v_fingerprint IS DISTINCT FROM v_item ->> 'fingerprint' THEN
                RETURN QUERY SELECT v_n, 'stale'::text, NULL::int, v_limit, NULL::text, NULL::text;
                CONTINUE;
            END IF;
            v_sender := (v_item ->> 'sender')::int;
            v_id := NULL;
            -- Each statement of a function sees what committed before it began: the count comes after the lock.
            INSERT INTO thanks (workspace_id, sender_id, message, created_at, local_day, idempotency_key, clap_count,
                                channel_ref, project_id)
            SELECT v_workspace, v_sender, v_item ->> 'text', (v_item ->> 'moment')::timestamptz,
                   (v_item ->> 'day')::date, v_item ->> 'key', 0, v_item ->> 'channel', (v_item ->> 'project')::int
            WHERE (SELECT count(*) FROM thanks WHERE workspace_id = v_workspace AND sender_id = v_sender
                   AND local_day = (v_item ->> 'day')::date) < v_limit
            ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING id INTO v_id;
            IF v_id IS NULL THEN
                SELECT id INTO v_id FROM thanks WHERE workspace_id = v_workspace AND idempotency_key = v_item ->> 'key';
                RETURN QUERY SELECT v_n, CASE WHEN v_id IS NULL THEN 'limit' ELSE 'replay' END, v_id, v_limit,
                                    NULL::text, NULL::text;
                CONTINUE;
            END IF;
            -- recipients: [[id, department, name], …] in their order
            INSERT INTO thanks_recipient (thanks_id, recipient_id, position, workspace_id, sender_id, created_at,
                                          sender_department_id, recipient_department_id, sender_name, recipient_name)
            SELECT v_id, (r.x ->> 0)::int, r.n - 1, v_workspace, v_sender, (v_item ->> 'moment')::timestamptz,
                   (v_item ->> 'sender_department')::int, (r.x ->> 1)::int, v_item ->> 'sender_name', r.x ->> 2
            FROM jsonb_array_elements(v_item -> 'recipients') WITH ORDINALITY AS r(x, n);
            INSERT INTO thanks_value (thanks_id, value_id, position)
            SELECT v_id, v.x::int, v.n - 1
            FROM jsonb_array_elements_text(v_item -> 'values') WITH ORDINALITY AS v(x, n);
            v_recipients := ARRAY(SELECT (r ->> 0)::int FROM jsonb_array_elements(v_item -> 'recipients') AS r);
            UPDATE member SET sent_count = sent_count + CASE WHEN id = v_sender THEN 1 ELSE 0 END,
                              received_count = received_count + CASE WHEN id = ANY(v_recipients) THEN 1 ELSE 0 END
            WHERE id = v_sender OR id = ANY(v_recipients);
            -- deliveries: [[address, kind, message, locale, dedupe], …]
            INSERT INTO delivery (workspace_id, platform, address_key, kind, message, locale, dedupe_key, status,
                                  attempts, next_attempt_at, late, created_at)
            SELECT v_workspace, v_item ->> 'platform', d.x ->> 0, d.x ->> 1,
                   replace(d.x ->> 2, '"{NEW_THANKS_ID}"', v_id::text)::jsonb, d.x ->> 3,
                   replace(d.x ->> 4, '{NEW_THANKS_ID}', v_id::text), '{outbox.PENDING}', 0,
                   (v_item ->> 'moment')::timestamptz, false, (v_item ->> 'moment')::timestamptz
            FROM jsonb_array_elements(v_item -> 'deliveries') AS d(x)
            ON CONFLICT (dedupe_key) DO NOTHING;
            -- flows: [[workspace, day, from, to, count], …], written for the whole group below
            v_flows := v_flows || (v_item -> 'flows');
            RETURN QUERY SELECT v_n, 'created'::text, v_id, v_limit, NULL::text, NULL::text;
        EXCEPTION WHEN OTHERS THEN
            RETURN QUERY SELECT v_n, 'error'::text, NULL::int, NULL::int, SQLSTATE::text, SQLERRM::text;
        END;
    END LOOP;
    -- The day's rollup rows last, summed over the group and taken in sorted order (see the plan).
    INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count)
    SELECT (f ->> 0)::int, (f ->> 1)::date, (f ->> 2)::int, (f ->> 3)::int, sum((f ->> 4)::int)
    FROM jsonb_array_elements(v_flows) AS f GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (workspace_id, day, sender_department_id, recipient_department_id)
    DO UPDATE SET count = department_flow.count + excluded.count;
END
""")


async def _call_thanks_function(client: BaseDBAsyncClient, group: list[tuple[dict[str, Any], list[int]]]
                                ) -> list[dict[str, Any]]:
    """One call of ``_GIVE_THANKS`` for the thanks that arrived together (``core.pg.Batch``: group commit, one
    round trip, one transaction, one WAL flush, as ``core.sql`` groups SQLite's plans): each thanks's outcome
    row (``k_outcome``, ``k_thanks``, ``k_limit``, ``k_state``, ``k_error``), in order."""
    rows = await _GIVE_THANKS.call(client, [json.dumps([item for item, _ in group]),
                                            sorted({person for _, people in group for person in people})])
    outcomes = {int(row["k_item"]): dict(row) for row in rows}
    return [outcomes[n] for n in range(len(group))]


@dataclass(frozen=True)
class _Catalogue:
    """What the Python-side rules read from a workspace, with the fingerprint it had."""

    fingerprint: str
    settings: _Settings
    values: Rows
    projects: Rows

    def channel_project(self, channel_ref: str) -> dict[str, Any] | None:
        """The open project whose channel this is, in the plan's row shape."""
        for p in self.projects:
            if p["channel"] == channel_ref and p["status"] == "open":
                return {"project_id": p["id"], "project_key": p["key"], "project_name": p["name"]}
        return None


# Per database client (a test's database, a server's pool), per workspace id.
_catalogues: weakref.WeakKeyDictionary[BaseDBAsyncClient, dict[int, _Catalogue]] = weakref.WeakKeyDictionary()


# Clients whose role may not create functions: their thanks use the plan, their claps the statements (logged once).
_no_function: weakref.WeakSet[BaseDBAsyncClient] = weakref.WeakSet()


def _without_functions(client: BaseDBAsyncClient) -> None:
    """The role may not create the functions: say so once (what it costs, and the fix); from now on thanks and
    claps run their statements."""
    log.warning("thanks and claps take five round trips each on PostgreSQL: the database role may not create "
                "functions (GRANT CREATE ON SCHEMA to it for one)", exc_info=True)
    _no_function.add(client)


async def _read_catalogue(client: BaseDBAsyncClient, workspace_id: int) -> _Catalogue:
    async with client.acquire_connection() as connection:
        row = await connection.fetchrow(_CATALOGUE, workspace_id)
    settings = _Settings(int(row["daily_limit"]), int(row["max_message_length"]), bool(row["value_required"]),
                         row["feed_channel"], row["default_locale"])
    catalogue = _Catalogue(row["fingerprint"], settings, json.loads(row["value_rows"] or "[]"),
                           json.loads(row["project_rows"] or "[]"))
    _catalogues.setdefault(client, {})[workspace_id] = catalogue
    return catalogue


def _answered(checks: Generator[Statement, Rows, Any], catalogue: _Catalogue) -> Any:
    """Drive ``_checked`` with the catalogue instead of the database (it only asks for the projects)."""
    try:
        statement = next(checks)
        while True:
            assert statement[0] == _PROJECTS, statement[0]
            statement = checks.send(catalogue.projects)
    except StopIteration as done:
        return done.value


async def _write_in_one_round_trip(client: BaseDBAsyncClient, workspace: Workspace, sender: Member,
                                   people: Sequence[Member], value_tags: Sequence[str], text: str, moment: datetime,
                                   day: date, idempotency_key: str | None, channel_ref: str | None,
                                   notify_recipients: bool, project_tags: Sequence[str]) -> _Written | None:
    """What ``_thanks_plan`` writes, as one thanks of a call of ``_GIVE_THANKS`` (with the others arriving at
    the same time); None if the catalogue kept changing meanwhile (the caller then runs the plan)."""
    catalogue = _catalogues.get(client, {}).get(workspace.id)
    by_channel = bool(channel_ref) and not project_tags
    for _ in range(3):
        fresh = catalogue is None
        if catalogue is None:
            catalogue = await _read_catalogue(client, workspace.id)
        try:
            values, project_id, project = _answered(_checked(
                workspace, catalogue.settings, text, value_tags, project_tags, catalogue.values,
                catalogue.channel_project(channel_ref) if by_channel and channel_ref else None), catalogue)
        except KizunaError:
            if not fresh:  # refused by what this process knew: look again before saying no
                catalogue = None
                continue
            # A delivery we already accepted is answered with its thanks even if a setting changed since.
            replay = await _find_by_key(workspace.id, idempotency_key) if idempotency_key else None
            if replay is None:
                raise
            return _Written(replay, False, [])
        deliveries = _deliveries(workspace, catalogue.settings, NEW_THANKS_ID, people, channel_ref,
                                 notify_recipients, moment)
        flows = sorted(Counter((sender.department_id or NO_DEPARTMENT, m.department_id or NO_DEPARTMENT)
                               for m in people).items())
        item = {
            "workspace": workspace.id, "sender": sender.id, "sender_department": sender.department_id or NO_DEPARTMENT,
            "sender_name": sender.display_name, "text": text, "moment": moment.isoformat(), "day": day.isoformat(),
            "key": idempotency_key or None, "channel": channel_ref, "project": project_id,
            "fingerprint": catalogue.fingerprint, "platform": workspace.platform,
            "recipients": [[m.id, m.department_id or NO_DEPARTMENT, m.display_name] for m in people],
            "values": [v.id for v in values],
            "deliveries": [deliveries[i + 2:i + 7] for i in range(0, len(deliveries), 12)],
            "flows": [[workspace.id, day.isoformat(), a, b, n] for (a, b), n in flows],
        }
        try:
            row = await Batch.of(client, "thanks", partial(_call_thanks_function, client)).submit(
                (item, [sender.id, *(m.id for m in people)]))
        except FunctionUnavailable:
            _without_functions(client)
            return None
        outcome, thanks_id, limit = row["k_outcome"], row["k_thanks"], row["k_limit"]
        if outcome == "created":
            return _Written(int(thanks_id), True, values, project)
        if outcome == "replay":
            return _Written(int(thanks_id), False, [])
        if outcome == "limit":
            raise DailyLimitReached(limit=int(limit))
        if outcome == "error":
            # This thanks broke a constraint (its savepoint rolled back its rows; the group's others stand).
            if str(row["k_state"]).startswith("23"):
                raise IntegrityError(row["k_error"])
            raise ThanksWriteFailed(f"{row['k_state']}: {row['k_error']}")
        catalogue = None  # stale: a setting, value or project changed since it was read
    return None


class ThanksWriteFailed(Exception):
    """PostgreSQL refused one thanks of a group for a reason other than a constraint (its SQLSTATE and message)."""


async def load_thanks_view(workspace: Workspace, thanks_id: int) -> ThanksView:
    """A thanks of this workspace with its people and values, or ``ThanksNotFound`` (three reads: the
    thanks with its sender and project, its recipients, its values)."""
    if not is_row_id(thanks_id):
        raise ThanksNotFound()
    thanks = await Thanks.get_or_none(id=thanks_id, workspace_id=workspace.id).select_related("sender", "project")
    if thanks is None:
        raise ThanksNotFound()
    links = await ThanksRecipient.filter(thanks_id=thanks.id).order_by("position").select_related("recipient")
    value_links = await ThanksValue.filter(thanks_id=thanks.id).order_by("position").select_related("value")
    return ThanksView(
        id=thanks.id, workspace_id=workspace.id, sender=member_ref(thanks.sender),
        recipients=tuple(member_ref(link.recipient) for link in links),
        values=tuple(to_ref(link.value) for link in value_links),
        message=thanks.message, created_at=thanks.created_at, clap_count=thanks.clap_count,
        project=ProjectRef(thanks.project.key, thanks.project.name) if thanks.project else None,
    )


# Whether a thanks of the workspace is the member's own (sent or received); no row if there is no such thanks.
_OWN = ("SELECT t.sender_id = ? OR EXISTS (SELECT 1 FROM thanks_recipient r WHERE r.thanks_id = t.id "
        "AND r.recipient_id = ?) AS own FROM thanks t WHERE t.id = ? AND t.workspace_id = ?")
# PostgreSQL, for a role that may not create ``_CLAP_OR_UNCLAP`` (below): the clap and its count in one statement
# (its own transaction); a row when something changed.
_CLAP = ("WITH c AS (INSERT INTO clap (thanks_id, member_id, created_at) VALUES ($1, $2, $3) "
         "ON CONFLICT (thanks_id, member_id) DO NOTHING RETURNING thanks_id) "
         "UPDATE thanks SET clap_count = clap_count + 1 WHERE id IN (SELECT thanks_id FROM c) RETURNING id")
_UNCLAP = ("WITH c AS (DELETE FROM clap WHERE thanks_id = $1 AND member_id = $2 RETURNING thanks_id) "
           "UPDATE thanks SET clap_count = clap_count - 1 WHERE id IN (SELECT thanks_id FROM c) RETURNING id")


async def _check_clappable(sql: Sql, workspace: Workspace, thanks_id: int, member: Member) -> None:
    """``ThanksNotFound`` or ``ClapOwnThanks``, in one read."""
    if not is_row_id(thanks_id):
        raise ThanksNotFound()
    rows = await sql.rows(_OWN, [member.id, member.id, thanks_id, workspace.id])
    if not rows:
        raise ThanksNotFound()
    if rows[0]["own"]:
        raise ClapOwnThanks()


async def _changed_on_postgres(sql: Sql, statement: str, params: list[object]) -> bool | None:
    """Run a clap's one-statement write on PostgreSQL (a role that may not create ``_CLAP_OR_UNCLAP``); None
    elsewhere, or inside a caller's transaction."""
    if not sql.own_postgres_statements:
        return None
    return bool(await fetch(sql.client, statement, params))


# ---- PostgreSQL: a clap in one round trip --------------------------------------------------------------
#
# The statements above cost a clap five round trips on PostgreSQL (the read, the write, the card's three reads).
# Here they are one call: the same check (``_OWN``), the same write (``_CLAP``/``_UNCLAP``), and what the card
# shows, read in the same call as ``load_thanks_view`` reads it. A clap locks the thanks row (its count) and
# writes one clap row, nothing else: no member row, so it never waits in a circle with a thanks (which locks
# people in id order, then inserts).

_CLAP_OR_UNCLAP = ServerFunction(
    "kizuna_clap",
    "p_workspace int, p_thanks int, p_member int, p_clap boolean, p_at timestamptz",
    # One row: the outcome ('not found', 'own', 'done'); when done, whether the clap changed anything, and the
    # thanks as ``load_thanks_view`` builds it (recipients and values as JSON arrays, in their order).
    "TABLE(k_outcome text, k_changed boolean, k_sender int, k_sender_user text, k_sender_name text, k_message text, "
    "k_created_at timestamptz, k_clap_count int, k_project_key text, k_project_name text, k_recipients json, "
    "k_values json)",
    """
DECLARE
    v_own boolean;
BEGIN
    -- As _OWN: no row when the thanks is not this workspace's.
    SELECT t.sender_id = p_member OR EXISTS (SELECT 1 FROM thanks_recipient r WHERE r.thanks_id = t.id
                                             AND r.recipient_id = p_member)
    INTO v_own FROM thanks t WHERE t.id = p_thanks AND t.workspace_id = p_workspace;
    IF NOT FOUND OR v_own THEN
        k_outcome := CASE WHEN v_own THEN 'own' ELSE 'not found' END;
        RETURN NEXT;
        RETURN;
    END IF;
    -- As _CLAP and _UNCLAP: a clap already there (or not) changes nothing.
    IF p_clap THEN
        WITH c AS (INSERT INTO clap (thanks_id, member_id, created_at) VALUES (p_thanks, p_member, p_at)
                   ON CONFLICT (thanks_id, member_id) DO NOTHING RETURNING thanks_id)
        UPDATE thanks SET clap_count = clap_count + 1 WHERE id IN (SELECT thanks_id FROM c);
    ELSE
        WITH c AS (DELETE FROM clap WHERE thanks_id = p_thanks AND member_id = p_member RETURNING thanks_id)
        UPDATE thanks SET clap_count = clap_count - 1 WHERE id IN (SELECT thanks_id FROM c);
    END IF;
    k_changed := FOUND;
    -- As load_thanks_view: the thanks with its sender and project, its recipients and values in their order.
    -- This statement sees the count just written, and the row stays locked until the call commits.
    RETURN QUERY
    SELECT 'done'::text, k_changed, s.id, s.platform_user_id::text, s.display_name::text, t.message, t.created_at,
           t.clap_count, p.key::text, p.name::text,
           (SELECT json_agg(json_build_array(m.id, m.platform_user_id, m.display_name) ORDER BY r.position, r.id)
            FROM thanks_recipient r JOIN member m ON m.id = r.recipient_id WHERE r.thanks_id = t.id),
           (SELECT json_agg(json_build_object('value_id', v.id, 'key', v.key, 'name_en', v.name_en, 'name_ja',
                                              v.name_ja, 'emoji', v.emoji, 'description_en', v.description_en,
                                              'description_ja', v.description_ja, 'active', v.active)
                            ORDER BY tv.position, tv.id)
            FROM thanks_value tv JOIN value v ON v.id = tv.value_id WHERE tv.thanks_id = t.id)
    FROM thanks t JOIN member s ON s.id = t.sender_id LEFT JOIN project p ON p.id = t.project_id
    WHERE t.id = p_thanks;
END
""")


async def _in_one_round_trip(sql: Sql, workspace: Workspace, thanks_id: int, member: Member,
                             add: bool) -> ClapResult | None:
    """A clap (``add``) or an unclap as one call of ``_CLAP_OR_UNCLAP``, or its rule's error; None where it cannot
    run (SQLite, a caller's transaction, a role that may not create functions: the statements above run)."""
    if not sql.own_postgres_statements or sql.client in _no_function:
        return None
    if not is_row_id(thanks_id):
        raise ThanksNotFound()
    try:
        rows = await _CLAP_OR_UNCLAP.call(sql.client, [workspace.id, thanks_id, member.id, add, datetime.now(UTC)])
    except FunctionUnavailable:
        _without_functions(sql.client)
        return None
    row = rows[0]
    if row["k_outcome"] == "not found":
        raise ThanksNotFound()
    if row["k_outcome"] == "own":
        raise ClapOwnThanks()
    project = ProjectRef(row["k_project_key"], row["k_project_name"]) if row["k_project_key"] is not None else None
    view = ThanksView(
        id=thanks_id, workspace_id=workspace.id,
        sender=MemberRef(row["k_sender"], row["k_sender_user"], row["k_sender_name"]),
        recipients=tuple(MemberRef(*person) for person in json.loads(row["k_recipients"])),
        values=tuple(to_ref(_value_row(value)) for value in json.loads(row["k_values"] or "[]")),
        message=row["k_message"], created_at=row["k_created_at"].astimezone(UTC), clap_count=row["k_clap_count"],
        project=project,
    )
    return ClapResult(view, bool(row["k_changed"]))


async def clap(workspace: Workspace, thanks_id: int, member: Member) -> ClapResult:
    """Add ``member``'s 👏 to a thanks; a second clap by the same member changes nothing."""
    sql = Sql()
    done = await _in_one_round_trip(sql, workspace, thanks_id, member, add=True)
    if done is not None:
        return done
    await _check_clappable(sql, workspace, thanks_id, member)
    try:
        changed = await _changed_on_postgres(sql, _CLAP, [thanks_id, member.id, datetime.now(UTC)])
        if changed is None:
            async with in_transaction():
                await Clap.create(thanks_id=thanks_id, member_id=member.id)
                await Thanks.filter(id=thanks_id).update(clap_count=F("clap_count") + 1)
            changed = True
    except IntegrityError:
        changed = False
    return ClapResult(await load_thanks_view(workspace, thanks_id), changed)


async def unclap(workspace: Workspace, thanks_id: int, member: Member) -> ClapResult:
    """Take ``member``'s 👏 back."""
    sql = Sql()
    done = await _in_one_round_trip(sql, workspace, thanks_id, member, add=False)
    if done is not None:
        return done
    await _check_clappable(sql, workspace, thanks_id, member)
    changed = await _changed_on_postgres(sql, _UNCLAP, [thanks_id, member.id])
    if changed is None:
        async with in_transaction():
            deleted = await Clap.filter(thanks_id=thanks_id, member_id=member.id).delete()
            if deleted:
                await Thanks.filter(id=thanks_id).update(clap_count=F("clap_count") - 1)
        changed = bool(deleted)
    return ClapResult(await load_thanks_view(workspace, thanks_id), changed)
