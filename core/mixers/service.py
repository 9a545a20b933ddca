"""Mixer services: create a mixer, join, leave, pause, skip, invite a department; form a round.

Every rule lives here once and raises a typed, localised error. The rhythm is the meetings'
recurrence (an RFC 5545 rule over local wall-clock times in an IANA time zone). Each mixer keeps
only its next round to form (``next_round_at`` = the round's start minus ``announce_minutes``);
``core.mixers.scheduler`` reads what is due.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import outbox
from core.clock import aware
from core.errors import UnknownDepartment
from core.i18n import fold
from core.meetings import errors as meeting_errors
from core.meetings.recurrence import (
    LOCAL_FORMAT,
    RecurrenceError,
    Repeat,
    Series,
    build_rule,
    local_key,
    occurrences,
    parse_duration,
    parse_local,
    to_local,
    zone,
)
from core.mixers import errors
from core.mixers.grouping import MAX_GROUP_SIZE, MIN_GROUP_SIZE, Participant, PastMeeting, form_groups
from core.mixers.models import ACTIVE, ENDED, Mixer, MixerGroup, MixerGroupMember, MixerParticipant, MixerRound
from core.models import DepartmentFlow, Member, Workspace, is_row_id
from core.services.members import find_department
from core.views import MemberRef

MAX_NAME = 200
MAX_PLACE = 500
DEFAULT_GROUP_SIZE = 4
DEFAULT_ANNOUNCE = 24 * 60
# How far back rounds count as "met recently", and thanks as "lately".
HISTORY_ROUNDS = 26
THANKS_WINDOW = timedelta(days=90)
ROUND_KIND = "mixer"
# The day's reminder with "We met" / "We couldn't": this long before the round starts.
DAY_REMINDER = timedelta(hours=1)
# Platforms that give each group a space of its own (address ``mixergroup:<round id>:<group number>``).
GROUP_SPACES = frozenset({"discord"})
GROUP_ADDRESS = "mixergroup"
INVITE_KIND = "mixer_invite"
DAY_KIND = "mixer_day"

_REPEATS: dict[str, Repeat] = {
    "none": Repeat.NONE, "once": Repeat.NONE, "単発": Repeat.NONE, "一回": Repeat.NONE,
    "weekly": Repeat.WEEKLY, "毎週": Repeat.WEEKLY,
    "biweekly": Repeat.BIWEEKLY, "every-other-week": Repeat.BIWEEKLY, "fortnightly": Repeat.BIWEEKLY,
    "隔週": Repeat.BIWEEKLY,
    "monthly": Repeat.MONTHLY, "毎月": Repeat.MONTHLY,
    "monthly-nth-weekday": Repeat.MONTHLY_NTH_WEEKDAY, "第n曜日": Repeat.MONTHLY_NTH_WEEKDAY,
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MixerView:
    """A mixer as surfaces and cards see it."""

    id: int
    name: str
    start_local: str
    timezone: str
    rrule: str
    group_size: int
    place: str
    announce_minutes: int
    channel: str
    status: str
    participants: int
    next_round: str | None
    next_round_at: datetime | None
    next_round_starts_at: datetime | None
    joined: bool = False
    paused_until: date | None = None
    skipping: str | None = None


@dataclass(frozen=True)
class GroupView:
    """One group of a round: its number and its members (ids, platform ids and names)."""

    number: int
    member_ids: tuple[int, ...]
    platform_user_ids: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class RoundView:
    """A formed round: the mixer, when it starts, its groups and who was left over."""

    id: int
    mixer_id: int
    mixer_name: str
    channel: str
    place: str
    timezone: str
    occurrence: str
    starts_at: datetime
    groups: tuple[GroupView, ...]
    unmatched: tuple[str, ...]


# ---- helpers -----------------------------------------------------------------------------------


def series_of(mixer: Mixer) -> Series:
    """The recurrence of ``mixer`` (a round lasts an hour, for the meetings' expansion)."""
    return Series(datetime.strptime(mixer.start_local, LOCAL_FORMAT), mixer.timezone, mixer.rrule, None, 60)


def _plan_next(mixer: Mixer, after_key: str | None, now: datetime) -> None:
    """Set the next round to form: the first occurrence after ``after_key`` that starts after ``now``."""
    series = series_of(mixer)
    lead = timedelta(minutes=mixer.announce_minutes)
    mixer.next_round_at = None
    mixer.next_round_occurrence = None
    if mixer.status != ACTIVE:
        return
    for occurrence in occurrences(series, {}, now, limit=60):
        if after_key is not None and occurrence.key <= after_key:
            continue
        if occurrence.starts_at <= now:
            continue
        # Announced ``lead`` before the start, but never before the plan is made.
        mixer.next_round_at = max(occurrence.starts_at - lead, now)
        mixer.next_round_occurrence = occurrence.key
        return


def _group_size(value: int | str | None) -> int:
    if value is None or value == "":
        return DEFAULT_GROUP_SIZE
    try:
        size = int(str(value).strip())
    except ValueError:
        raise errors.InvalidGroupSize(size=str(value)[:20], low=MIN_GROUP_SIZE, high=MAX_GROUP_SIZE) from None
    if not MIN_GROUP_SIZE <= size <= MAX_GROUP_SIZE:
        raise errors.InvalidGroupSize(size=str(size), low=MIN_GROUP_SIZE, high=MAX_GROUP_SIZE)
    return size


def _announce(value: int | str | None) -> int:
    if value is None or value == "":
        return DEFAULT_ANNOUNCE
    if isinstance(value, int):
        minutes = value
    else:
        try:
            minutes = parse_duration(value)
        except RecurrenceError:
            raise errors.InvalidAnnounce(announce=value[:30]) from None
    if not 0 <= minutes <= 14 * 24 * 60:
        raise errors.InvalidAnnounce(announce=str(value)[:30])
    return minutes


def _rule(repeat: str | None, start: datetime) -> str:
    if repeat is None or repeat == "":
        choice = Repeat.BIWEEKLY
    else:
        found = _REPEATS.get(fold(repeat).replace(" ", "-").replace("_", "-"))
        if found is None:
            raise meeting_errors.InvalidRepeat(repeat=repeat[:80])
        choice = found
    return build_rule(choice, start)


async def _get(workspace: Workspace, mixer_id: int | str) -> Mixer:
    text = str(mixer_id).strip().lstrip("#")
    if not text.isdecimal() or not is_row_id(int(text)):
        raise errors.MixerNotFound(mixer=text[:20])
    mixer = await Mixer.get_or_none(id=int(text), workspace_id=workspace.id)
    if mixer is None:
        raise errors.MixerNotFound(mixer=text[:20])
    return mixer


def _require_active(mixer: Mixer) -> None:
    if mixer.status != ACTIVE:
        raise errors.MixerEnded(name=mixer.name)


async def _view(mixer: Mixer, member: Member | None = None) -> MixerView:
    count = await MixerParticipant.filter(mixer_id=mixer.id).count()
    mine = await MixerParticipant.get_or_none(mixer_id=mixer.id, member_id=member.id) if member else None
    starts = None
    if mixer.next_round_occurrence:
        starts = parse_local(mixer.next_round_occurrence).replace(tzinfo=zone(mixer.timezone)).astimezone(UTC)
    return MixerView(
        mixer.id, mixer.name, mixer.start_local, mixer.timezone, mixer.rrule, mixer.group_size, mixer.place,
        mixer.announce_minutes, mixer.channel, mixer.status, count, mixer.next_round_occurrence,
        mixer.next_round_at, starts, joined=mine is not None, paused_until=mine.paused_until if mine else None,
        skipping=mine.skip_occurrence if mine else None,
    )


# ---- what people do ----------------------------------------------------------------------------


async def create_mixer(
    workspace: Workspace, actor: Member, *, name: str, start: str, channel: str | None,
    timezone: str | None = None, repeat: str | None = None, group_size: int | str | None = None,
    place: str = "", announce: int | str | None = None, now: datetime | None = None,
) -> MixerView:
    """A new mixer in ``channel``; its first round starts at local ``start`` (biweekly by default)."""
    moment = aware(now)
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise errors.InvalidMixerName(limit=MAX_NAME)
    if not channel:
        raise errors.MixerChannelRequired()
    tz_name = timezone or workspace.timezone or "UTC"
    try:
        zone(tz_name)
    except RecurrenceError:
        raise meeting_errors.InvalidTimezone(timezone=tz_name[:64]) from None
    try:
        local = parse_local(start)
    except RecurrenceError:
        raise meeting_errors.InvalidMeetingStart(start=start[:40]) from None
    size = _group_size(group_size)
    lead = _announce(announce)
    mixer = Mixer(
        workspace_id=workspace.id, name=cleaned, start_local=local_key(local), timezone=tz_name,
        rrule=_rule(repeat, local), group_size=size, place=" ".join(place.split())[:MAX_PLACE],
        announce_minutes=lead, channel=channel, organiser_id=actor.id,
    )
    _plan_next(mixer, None, moment)
    if mixer.next_round_occurrence is None:
        raise errors.MixerHasNoFutureRound(start=start[:40])
    await mixer.save()
    return await _view(mixer, actor)


async def get_mixer(workspace: Workspace, mixer_id: int | str, member: Member | None = None) -> MixerView:
    """One mixer, as ``member`` sees it (whether they joined, paused or skip the next round)."""
    return await _view(await _get(workspace, mixer_id), member)


async def list_mixers(workspace: Workspace, member: Member | None = None) -> list[MixerView]:
    """The workspace's active mixers."""
    rows = await Mixer.filter(workspace_id=workspace.id, status=ACTIVE).order_by("id")
    return [await _view(row, member) for row in rows]


async def join_mixer(workspace: Workspace, member: Member, mixer_id: int | str) -> MixerView:
    """Join a mixer (always by one's own choice); joining twice is refused."""
    mixer = await _get(workspace, mixer_id)
    _require_active(mixer)
    _, created = await MixerParticipant.get_or_create(mixer_id=mixer.id, member_id=member.id)
    if not created:
        raise errors.AlreadyJoined(name=mixer.name)
    return await _view(mixer, member)


async def leave_mixer(workspace: Workspace, member: Member, mixer_id: int | str) -> MixerView:
    """Leave a mixer; rounds already formed keep their groups."""
    mixer = await _get(workspace, mixer_id)
    deleted = await MixerParticipant.filter(mixer_id=mixer.id, member_id=member.id).delete()
    if not deleted:
        raise errors.NotJoined(name=mixer.name)
    return await _view(mixer, member)


async def _participant(workspace: Workspace, member: Member, mixer_id: int | str) -> tuple[Mixer, MixerParticipant]:
    mixer = await _get(workspace, mixer_id)
    row = await MixerParticipant.get_or_none(mixer_id=mixer.id, member_id=member.id)
    if row is None:
        raise errors.NotJoined(name=mixer.name)
    return mixer, row


async def pause_mixer(workspace: Workspace, member: Member, mixer_id: int | str, until: date | str, *,
                      now: datetime | None = None) -> MixerView:
    """Sit out every round up to and including the local day ``until`` (not in the past)."""
    mixer, row = await _participant(workspace, member, mixer_id)
    if isinstance(until, str):
        try:
            day = date.fromisoformat(until.strip().replace("/", "-"))
        except ValueError:
            raise errors.InvalidPauseDate(date=until[:20]) from None
    else:
        day = until
    today = to_local(aware(now), zone(mixer.timezone)).date()
    if day < today:
        raise errors.PauseInThePast(date=day.isoformat())
    row.paused_until = day
    await row.save(update_fields=["paused_until"])
    return await _view(mixer, member)


async def skip_next_round(workspace: Workspace, member: Member, mixer_id: int | str) -> MixerView:
    """Sit out the next round only."""
    mixer, row = await _participant(workspace, member, mixer_id)
    _require_active(mixer)
    if mixer.next_round_occurrence is None:
        raise errors.MixerHasNoFutureRound(start=mixer.start_local)
    row.skip_occurrence = mixer.next_round_occurrence
    await row.save(update_fields=["skip_occurrence"])
    return await _view(mixer, member)


async def end_mixer(workspace: Workspace, actor: Member, mixer_id: int | str) -> MixerView:
    """End a mixer (its organiser or an admin); no further rounds are formed."""
    mixer = await _get(workspace, mixer_id)
    if mixer.organiser_id != actor.id and not actor.is_admin:
        raise errors.NotMixerOrganiser()
    mixer.status = ENDED
    mixer.next_round_at = None
    mixer.next_round_occurrence = None
    mixer.schedule_version += 1
    await mixer.save()
    return await _view(mixer, actor)


async def invite_department(workspace: Workspace, mixer_id: int | str, department: str) -> tuple[MixerView, int]:
    """Send an invitation 1:1 to every member of ``department`` who has not joined (admins only,
    checked by the application layer). Joining stays voluntary: nobody is added. Returns how many
    were invited; an invitation is sent once per person and mixer."""
    mixer = await _get(workspace, mixer_id)
    _require_active(mixer)
    dept = await find_department(workspace, department)
    if dept is None:
        raise UnknownDepartment(name=department[:100])
    joined = {r.member_id for r in await MixerParticipant.filter(mixer_id=mixer.id)}
    people = await Member.filter(workspace_id=workspace.id, department_id=dept.id, is_bot=False).order_by("id")
    invited = 0
    async with in_transaction():
        for person in people:
            if person.id in joined:
                continue
            queued = await outbox.enqueue(
                workspace, workspace.platform, f"member:{person.platform_user_id}", INVITE_KIND,
                {"type": "mixer_invite", "mixer_id": mixer.id}, locale=person.locale or workspace.default_locale,
                dedupe_key=f"mixer:{mixer.id}:invite:{person.id}")
            if queued is not None:
                invited += 1
    return await _view(mixer), invited


# ---- forming a round ---------------------------------------------------------------------------


async def _thanks_between_departments(workspace_id: int, until: datetime) -> dict[tuple[str, str], float]:
    since = (until - THANKS_WINDOW).date()
    rows = await DepartmentFlow.filter(workspace_id=workspace_id, day__gte=since).values_list(
        "sender_department_id", "recipient_department_id", "count")
    flows: dict[tuple[str, str], float] = defaultdict(float)
    for sender, recipient, count in rows:
        flows[str(sender), str(recipient)] += count
    return dict(flows)


async def _history(mixer: Mixer) -> list[PastMeeting]:
    rounds = await MixerRound.filter(mixer_id=mixer.id).order_by("-occurrence").limit(HISTORY_ROUNDS)
    past: list[PastMeeting] = []
    for age, previous in enumerate(rounds, start=1):
        members = await MixerGroupMember.filter(group__round_id=previous.id).values_list("group_id", "member_id")
        by_group: dict[int, list[int]] = defaultdict(list)
        for group_id, member_id in members:
            by_group[group_id].append(member_id)
        for ids in by_group.values():
            for x, a in enumerate(ids):
                for b in ids[x + 1:]:
                    past.append(PastMeeting(str(a), str(b), age))
    return past


async def form_round(mixer: Mixer, occurrence: str, starts_at: datetime) -> MixerRound | None:
    """Form the groups of ``occurrence`` and queue their announcements (call inside the claim's
    transaction). None when the round was formed already."""
    if await MixerRound.exists(mixer_id=mixer.id, occurrence=occurrence):
        return None
    day = parse_local(occurrence).date()
    rows = await MixerParticipant.filter(mixer_id=mixer.id).filter(
        Q(paused_until__isnull=True) | Q(paused_until__lt=day)).select_related("member")
    taking_part = [r for r in rows if r.skip_occurrence != occurrence]
    people = [Participant(str(r.member_id), str(r.member.department_id) if r.member.department_id else None)
              for r in taking_part]
    seed = f"{mixer.id}:{occurrence}"
    groups = form_groups(people, size=mixer.group_size, seed=seed, history=await _history(mixer),
                         thanks=await _thanks_between_departments(mixer.workspace_id, starts_at))
    grouped = {int(m) for g in groups for m in g}
    unmatched = [r.member_id for r in taking_part if r.member_id not in grouped]
    round_ = await MixerRound.create(mixer_id=mixer.id, occurrence=occurrence, starts_at=starts_at, seed=seed,
                                     unmatched=unmatched, reminder_at=starts_at - DAY_REMINDER if groups else None)
    for number, ids in enumerate(groups, start=1):
        group = await MixerGroup.create(round_id=round_.id, number=number)
        await MixerGroupMember.bulk_create([MixerGroupMember(group_id=group.id, member_id=int(m)) for m in ids])
    workspace = await Workspace.get(id=mixer.workspace_id)
    await outbox.enqueue(workspace, workspace.platform, f"channel:{mixer.channel}", ROUND_KIND,
                         {"type": "mixer_round", "round_id": round_.id}, locale=workspace.default_locale,
                         dedupe_key=f"mixer:{round_.id}:channel")
    if workspace.platform in GROUP_SPACES:
        # One space per group (a Discord private thread in the mixer's channel, its members added).
        for number in range(1, len(groups) + 1):
            await outbox.enqueue(workspace, workspace.platform, f"{GROUP_ADDRESS}:{round_.id}:{number}", ROUND_KIND,
                                 {"type": "mixer_round", "round_id": round_.id, "group": number},
                                 locale=workspace.default_locale, dedupe_key=f"mixer:{round_.id}:group:{number}")
    elif workspace.platform != "console":
        # Each member hears of their own group 1:1 (on Teams the channel post names, never pings).
        members = {r.member_id: r.member for r in taking_part}
        for number, ids in enumerate(groups, start=1):
            for m in ids:
                person = members[int(m)]
                await outbox.enqueue(
                    workspace, workspace.platform, f"member:{person.platform_user_id}", ROUND_KIND,
                    {"type": "mixer_round", "round_id": round_.id, "group": number, "member_id": person.id},
                    locale=person.locale or workspace.default_locale,
                    dedupe_key=f"mixer:{round_.id}:member:{person.id}")
    return round_


async def load_round(workspace: Workspace, round_id: int) -> RoundView:
    """A formed round with its groups, names as they are now."""
    round_ = await MixerRound.get_or_none(id=round_id, mixer__workspace_id=workspace.id).select_related("mixer")
    if round_ is None:
        raise errors.MixerNotFound(mixer=str(round_id))
    mixer = round_.mixer
    groups = await MixerGroup.filter(round_id=round_.id).order_by("number")
    rows = await MixerGroupMember.filter(group__round_id=round_.id).select_related("member").order_by("id")
    by_group: dict[int, list[Member]] = defaultdict(list)
    for row in rows:
        by_group[row.group_id].append(row.member)
    views = tuple(
        GroupView(g.number, tuple(m.id for m in by_group[g.id]), tuple(m.platform_user_id for m in by_group[g.id]),
                  tuple(m.display_name or m.platform_user_id for m in by_group[g.id]))
        for g in groups)
    left = await Member.filter(id__in=list(round_.unmatched)) if round_.unmatched else []
    return RoundView(round_.id, mixer.id, mixer.name, mixer.channel, mixer.place, mixer.timezone, round_.occurrence,
                     round_.starts_at, views, tuple(m.display_name or m.platform_user_id for m in left))


_MET_WORDS = {
    "yes": True, "y": True, "met": True, "we met": True, "会えた": True, "会った": True, "はい": True,
    "no": False, "n": False, "couldn't": False, "couldnt": False, "not": False, "会えなかった": False,
    "いいえ": False,
}


def parse_met(text: str) -> bool:
    """``yes``/``met``/``会えた`` → True, ``no``/``couldn't``/``会えなかった`` → False."""
    answer = _MET_WORDS.get(fold(text).strip())
    if answer is None:
        raise errors.InvalidMetAnswer(answer=text[:20])
    return answer


async def answer_met(workspace: Workspace, member: Member, round_id: int | str, met: bool) -> RoundView:
    """Record "we met" (True) or "we couldn't" (False) for ``member``'s group of a round."""
    text = str(round_id).strip().lstrip("#")
    if not text.isdecimal() or not is_row_id(int(text)):
        raise errors.NotInRound(round=text[:20])
    row = await MixerGroupMember.get_or_none(group__round_id=int(text), member_id=member.id,
                                             group__round__mixer__workspace_id=workspace.id)
    if row is None:
        raise errors.NotInRound(round=text[:20])
    round_id = int(text)
    row.met = met
    row.answered_at = _now()
    await row.save(update_fields=["met", "answered_at"])
    return await load_round(workspace, round_id)


async def group_space(round_id: int, number: int) -> str | None:
    """The platform object made for a group (a Discord thread id), if one was made."""
    group = await MixerGroup.get_or_none(round_id=round_id, number=number)
    return group.external_id if group is not None else None


async def set_group_space(round_id: int, number: int, external_id: str) -> None:
    """Remember the platform object made for a group, so a retried delivery does not make another."""
    await MixerGroup.filter(round_id=round_id, number=number).update(external_id=external_id)


async def queue_day_reminder(round_: MixerRound) -> None:
    """Queue the day's reminder of a round (call inside the claim's transaction), once per group:
    in the group's own space where the platform has one, else 1:1 to each member (the console: the
    channel)."""
    mixer = await Mixer.get(id=round_.mixer_id)
    workspace = await Workspace.get(id=mixer.workspace_id)
    groups = await MixerGroup.filter(round_id=round_.id).order_by("number")
    base = {"type": "mixer_day", "round_id": round_.id}
    if workspace.platform == "console":
        await outbox.enqueue(workspace, workspace.platform, f"channel:{mixer.channel}", DAY_KIND, base,
                             locale=workspace.default_locale, dedupe_key=f"mixer:{round_.id}:day")
        return
    for group in groups:
        payload = {**base, "group": group.number}
        if workspace.platform in GROUP_SPACES:
            await outbox.enqueue(workspace, workspace.platform, f"{GROUP_ADDRESS}:{round_.id}:{group.number}",
                                 DAY_KIND, payload, locale=workspace.default_locale,
                                 dedupe_key=f"mixer:{round_.id}:day:{group.number}")
            continue
        for row in await MixerGroupMember.filter(group_id=group.id).select_related("member"):
            person = row.member
            await outbox.enqueue(workspace, workspace.platform, f"member:{person.platform_user_id}", DAY_KIND,
                                 payload, locale=person.locale or workspace.default_locale,
                                 dedupe_key=f"mixer:{round_.id}:day:member:{person.id}")


async def my_group(workspace: Workspace, member: Member, round_id: int | str) -> tuple[RoundView, list[MemberRef]]:
    """The round and the people of ``member``'s group in it (``NotInRound`` if they were in none)."""
    text = str(round_id).strip().lstrip("#")
    if not text.isdecimal() or not is_row_id(int(text)):
        raise errors.NotInRound(round=text[:20])
    row = await MixerGroupMember.get_or_none(group__round_id=int(text), member_id=member.id,
                                             group__round__mixer__workspace_id=workspace.id)
    if row is None:
        raise errors.NotInRound(round=text[:20])
    people = await MixerGroupMember.filter(group_id=row.group_id).select_related("member").order_by("id")
    refs = [MemberRef(p.member.id, p.member.platform_user_id, p.member.display_name) for p in people]
    return await load_round(workspace, int(text)), refs
