"""Mixer rules and the forming pass, on the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import UnknownDepartment
from core.meetings.errors import InvalidMeetingStart, InvalidRepeat, InvalidTimezone
from core.mixers import errors, scheduler, service
from core.mixers.models import MixerGroupMember, MixerRound
from core.models import Delivery
from core.services.members import ensure_member, set_department

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # a Tuesday


async def make(workspace, organiser, **options):
    fields = {"name": "Lunch", "start": "2026-12-09 12:00", "channel": "general", "timezone": "Asia/Tokyo",
              "now": NOW, **options}
    return await service.create_mixer(workspace, organiser, **fields)


async def test_create_plans_the_first_announcement_a_day_before(workspace, alice):
    mixer = await make(workspace, alice)
    assert mixer.group_size == 4 and mixer.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"
    assert mixer.next_round == "2026-12-09T12:00"
    assert mixer.next_round_at == datetime(2026, 12, 8, 3, 0, tzinfo=UTC)  # 12:00 JST − 1 day


@pytest.mark.parametrize(("options", "error"), [
    ({"group_size": 1}, errors.InvalidGroupSize),
    ({"group_size": 7}, errors.InvalidGroupSize),
    ({"group_size": "four"}, errors.InvalidGroupSize),
    ({"name": "  "}, errors.InvalidMixerName),
    ({"channel": None}, errors.MixerChannelRequired),
    ({"timezone": "Mars/Olympus"}, InvalidTimezone),
    ({"start": "someday"}, InvalidMeetingStart),
    ({"repeat": "hourly"}, InvalidRepeat),
    ({"announce": "1x"}, errors.InvalidAnnounce),
    ({"start": "2026-11-01 12:00", "repeat": "once"}, errors.MixerHasNoFutureRound),
])
async def test_bad_input_is_refused_in_both_languages_and_writes_nothing(workspace, alice, options, error):
    with pytest.raises(error) as raised:
        await make(workspace, alice, **options)
    assert raised.value.localized("ja") != raised.value.localized("en")
    assert not raised.value.localized("en").startswith("error.")
    assert await service.list_mixers(workspace) == []


async def test_join_twice_leave_pause_and_skip(workspace, alice, bob):
    mixer = await make(workspace, alice)
    await service.join_mixer(workspace, bob, mixer.id)
    with pytest.raises(errors.AlreadyJoined):
        await service.join_mixer(workspace, bob, mixer.id)
    with pytest.raises(errors.PauseInThePast):
        await service.pause_mixer(workspace, bob, mixer.id, date(2026, 11, 30), now=NOW)
    with pytest.raises(errors.InvalidPauseDate):
        await service.pause_mixer(workspace, bob, mixer.id, "next week", now=NOW)
    paused = await service.pause_mixer(workspace, bob, mixer.id, "2026-12-20", now=NOW)
    assert paused.paused_until == date(2026, 12, 20)
    skipping = await service.skip_next_round(workspace, bob, mixer.id)
    assert skipping.skipping == "2026-12-09T12:00"
    left = await service.leave_mixer(workspace, bob, mixer.id)
    assert not left.joined and left.participants == 0
    with pytest.raises(errors.NotJoined):
        await service.leave_mixer(workspace, bob, mixer.id)
    with pytest.raises(errors.MixerNotFound):
        await service.join_mixer(workspace, bob, 9999)


async def people(workspace, count, departments=("Sales", "Eng", "HR")):
    admin = await ensure_member(workspace, "hr-admin", display_name="Admin")
    admin.is_admin = True
    await admin.save()
    members = []
    for i in range(count):
        member = await ensure_member(workspace, f"u{i:02d}", display_name=f"User {i}")
        await set_department(workspace, admin, member, departments[i % len(departments)])
        members.append(await member.__class__.get(id=member.id))
    return members


async def test_a_round_is_formed_once_and_announced_once(workspace, alice):
    mixer = await make(workspace, alice)
    members = await people(workspace, 9)
    for member in members:
        await service.join_mixer(workspace, member, mixer.id)
    await service.skip_next_round(workspace, members[0], mixer.id)
    assert (await scheduler.run_due(NOW)).formed == []  # not due yet
    due = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    first = await scheduler.run_due(due)
    again = await scheduler.run_due(due + timedelta(minutes=1))
    assert len(first.formed) == 1 and again.formed == []
    rows = await MixerGroupMember.filter(group__round_id=first.formed[0]).values_list("group_id", "member_id")
    placed = sorted(m for _, m in rows)
    assert placed == sorted(m.id for m in members[1:])  # everyone but the one who skips, once
    sizes = {}
    for group_id, _ in rows:
        sizes[group_id] = sizes.get(group_id, 0) + 1
    assert sorted(sizes.values()) == [4, 4]
    assert await Delivery.filter(kind="mixer").count() == 1  # console: the channel post only
    view = await service.get_mixer(workspace, mixer.id)
    assert view.next_round == "2026-12-23T12:00"


async def test_the_next_round_avoids_the_pairs_that_met(workspace, alice):
    mixer = await make(workspace, alice, group_size=2, repeat="weekly")
    members = await people(workspace, 6)
    for member in members:
        await service.join_mixer(workspace, member, mixer.id)
    moment = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    seen: set[frozenset[int]] = set()
    for week in range(3):
        result = await scheduler.run_due(moment + timedelta(weeks=week))
        assert len(result.formed) == 1
        rows = await MixerGroupMember.filter(group__round_id=result.formed[0]).values_list("group_id", "member_id")
        groups: dict[int, set[int]] = {}
        for group_id, member_id in rows:
            groups.setdefault(group_id, set()).add(member_id)
        for pair in groups.values():
            assert frozenset(pair) not in seen
            seen.add(frozenset(pair))
    assert await MixerRound.filter(mixer_id=mixer.id).count() == 3


async def test_invite_a_department_invites_once_and_adds_nobody(workspace, alice):
    mixer = await make(workspace, alice)
    members = await people(workspace, 6, departments=("Sales", "Eng"))
    await service.join_mixer(workspace, members[0], mixer.id)  # in Sales, already in
    _, invited = await service.invite_department(workspace, mixer.id, "sales")
    assert invited == 2
    _, again = await service.invite_department(workspace, mixer.id, "Sales")
    assert again == 0
    assert (await service.get_mixer(workspace, mixer.id)).participants == 1
    with pytest.raises(UnknownDepartment):
        await service.invite_department(workspace, mixer.id, "Legal")


async def test_two_passes_at_once_form_the_round_once(workspace, alice):
    import asyncio

    mixer = await make(workspace, alice)
    for member in await people(workspace, 6):
        await service.join_mixer(workspace, member, mixer.id)
    due = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    results = await asyncio.gather(*(scheduler.run_due(due) for _ in range(4)))
    assert sum(len(r.formed) for r in results) == 1
    assert await MixerRound.filter(mixer_id=mixer.id).count() == 1
    assert await Delivery.filter(kind="mixer").count() == 1


async def test_a_round_that_has_started_is_not_formed_after_downtime(workspace, alice):
    mixer = await make(workspace, alice, repeat="weekly")
    for member in await people(workspace, 4):
        await service.join_mixer(workspace, member, mixer.id)
    # Down from before the announcement until after the lunch began.
    result = await scheduler.run_due(datetime(2026, 12, 9, 4, 0, tzinfo=UTC))
    assert result.formed == [] and result.missed == 1
    view = await service.get_mixer(workspace, mixer.id)
    assert view.next_round == "2026-12-16T12:00"  # the next one is planned as usual


async def test_paused_people_sit_out_until_their_date(workspace, alice):
    mixer = await make(workspace, alice, repeat="weekly")
    members = await people(workspace, 5)
    for member in members:
        await service.join_mixer(workspace, member, mixer.id)
    await service.pause_mixer(workspace, members[0], mixer.id, "2026-12-09", now=NOW)
    first = await scheduler.run_due(datetime(2026, 12, 8, 3, 0, tzinfo=UTC))
    placed = await MixerGroupMember.filter(group__round_id=first.formed[0]).values_list("member_id", flat=True)
    assert members[0].id not in placed and len(placed) == 4
    second = await scheduler.run_due(datetime(2026, 12, 15, 3, 0, tzinfo=UTC))
    placed = await MixerGroupMember.filter(group__round_id=second.formed[0]).values_list("member_id", flat=True)
    assert members[0].id in placed and len(placed) == 5


async def test_the_digest_mentions_the_last_round(workspace, alice):
    from cards.digest import digest_text
    from core.services.digest import build_digest
    from core.services.stats import Period

    mixer = await make(workspace, alice)
    members = await people(workspace, 6)
    for member in members:
        await service.join_mixer(workspace, member, mixer.id)
    [formed] = (await scheduler.run_due(datetime(2026, 12, 8, 3, 0, tzinfo=UTC))).formed
    await service.answer_met(workspace, members[0], formed, True)
    await service.answer_met(workspace, members[1], formed, False)
    digest = await build_digest(workspace, Period.WEEK, now=datetime(2026, 12, 15, tzinfo=UTC))
    [line] = digest.mixer_rounds
    assert (line.people, line.groups, line.met, line.answered) == (6, 2, 1, 2)
    assert line.department_pairs == 3  # Sales, Eng and HR: every pair sat together somewhere
    text = digest_text(digest, "en", workspace.timezone)
    assert "Shuffle lunch “Lunch”: 6 people in 2 groups" in text and "1 of 2 who answered met" in text
    earlier = await build_digest(workspace, Period.WEEK, now=datetime(2026, 12, 8, tzinfo=UTC))
    assert earlier.mixer_rounds == ()
