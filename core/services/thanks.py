"""Giving thanks and clapping: every rule about who may thank whom lives here, once."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
    MessageTooLong,
    NoRecipients,
    SelfThanksNotAllowed,
    ThanksNotFound,
    TooManyRecipients,
    TooManyValues,
    ValueRequired,
)
from core.models import NO_DEPARTMENT, Clap, Member, Thanks, ThanksRecipient, ThanksValue, Value, Workspace
from core.services.values import resolve_value_tags, to_ref
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
    if idempotency_key:
        existing = await Thanks.get_or_none(workspace_id=workspace.id, idempotency_key=idempotency_key)
        if existing is not None:
            return ThanksResult(await load_thanks_view(workspace, existing.id), created=False)

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
    if len(text) > workspace.max_message_length:
        raise MessageTooLong(max=workspace.max_message_length, length=len(text))
    values = await resolve_value_tags(workspace, value_tags)
    if len(values) > MAX_VALUES:
        raise TooManyValues(max=MAX_VALUES)
    if workspace.value_required and not values:
        raise ValueRequired(available=" ".join(f"#{v.key}" for v in await _active_values(workspace)))

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    day = local_day(moment, sender.timezone or workspace.timezone)
    try:
        async with in_transaction() as conn:
            if conn.capabilities.support_for_update:
                # Serialises one sender's thanks, so two at once cannot both pass the daily limit.
                await Member.select_for_update().filter(id=sender.id).values_list("id", flat=True)
            sent_today = await Thanks.filter(workspace_id=workspace.id, sender_id=sender.id, local_day=day).count()
            if sent_today >= workspace.daily_limit:
                raise DailyLimitReached(limit=workspace.daily_limit)
            thanks = await Thanks.create(
                workspace_id=workspace.id, sender_id=sender.id, message=text, created_at=moment,
                local_day=day, idempotency_key=idempotency_key or None, channel_ref=channel_ref,
            )
            sender_department = sender.department_id or NO_DEPARTMENT
            await ThanksRecipient.bulk_create([
                ThanksRecipient(thanks_id=thanks.id, recipient_id=m.id, position=i, workspace_id=workspace.id,
                                sender_id=sender.id, created_at=moment, sender_department_id=sender_department,
                                recipient_department_id=m.department_id or NO_DEPARTMENT)
                for i, m in enumerate(people)
            ])
            if values:
                await ThanksValue.bulk_create([
                    ThanksValue(thanks_id=thanks.id, value_id=v.id, position=i) for i, v in enumerate(values)
                ])
            await Member.filter(id=sender.id).update(sent_count=F("sent_count") + 1)
            await Member.filter(id__in=[m.id for m in people]).update(received_count=F("received_count") + 1)
            flows = Counter((sender_department, m.department_id or NO_DEPARTMENT) for m in people)
            await _add_flows(conn, workspace.id, day, flows)
            await _enqueue_deliveries(workspace, thanks, people, channel_ref, notify_recipients)
    except IntegrityError:
        if idempotency_key:
            # The same event, delivered twice at the same moment: the other one won.
            existing = await Thanks.get_or_none(workspace_id=workspace.id, idempotency_key=idempotency_key)
            if existing is not None:
                return ThanksResult(await load_thanks_view(workspace, existing.id), created=False)
        raise
    view = ThanksView(
        id=thanks.id, workspace_id=workspace.id, sender=member_ref(sender),
        recipients=tuple(member_ref(m) for m in people), values=tuple(to_ref(v) for v in values),
        message=text, created_at=moment, clap_count=0,
    )
    return ThanksResult(view, created=True)


async def _enqueue_deliveries(workspace: Workspace, thanks: Thanks, people: Sequence[Member],
                              channel_ref: str | None, notify_recipients: bool) -> None:
    if workspace.feed_channel and workspace.feed_channel != channel_ref:
        await outbox.enqueue(workspace, workspace.platform, f"channel:{workspace.feed_channel}", "feed",
                             {"type": "thanks", "thanks_id": thanks.id, "audience": "feed"},
                             locale=workspace.default_locale, dedupe_key=f"feed:{thanks.id}")
    if notify_recipients:
        for m in people:
            if m.notifications_enabled:
                await outbox.enqueue(workspace, workspace.platform, f"member:{m.platform_user_id}", "notification",
                                     {"type": "thanks", "thanks_id": thanks.id, "audience": "recipient"},
                                     locale=m.locale or workspace.default_locale,
                                     dedupe_key=f"notify:{thanks.id}:{m.id}")


async def _active_values(workspace: Workspace) -> list[Value]:
    return await Value.filter(workspace_id=workspace.id, active=True).order_by("position", "id")


async def _add_flows(client: BaseDBAsyncClient, workspace_id: int, day: date,
                     flows: Counter[tuple[int, int]]) -> None:
    postgres = client.capabilities.dialect == "postgres"
    marks = ("$1", "$2", "$3", "$4", "$5") if postgres else ("?",) * 5
    sql = (
        "INSERT INTO department_flow (workspace_id, day, sender_department_id, recipient_department_id, count) "
        f"VALUES ({', '.join(marks)}) ON CONFLICT (workspace_id, day, sender_department_id, "
        "recipient_department_id) DO UPDATE SET count = department_flow.count + excluded.count"
    )
    day_param: object = day if postgres else day.isoformat()
    for (from_dept, to_dept), count in flows.items():
        await client.execute_query(sql, [workspace_id, day_param, from_dept, to_dept, count])


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
