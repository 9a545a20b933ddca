"""Meeting services: create, skip, move, pause, resume, edit, end; RSVPs; who may do what."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import UnknownDepartment
from core.meetings import errors, service
from core.meetings.models import Meeting

from .conftest import NOW


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_a_meeting_gets_default_reminders_and_its_first_reminder_planned(meeting):
    assert meeting.reminder_offsets == (1440, 15)
    assert meeting.departments == ("Sales", "Engineering")
    assert meeting.next_occurrence is not None and meeting.next_occurrence.starts_at == utc(2026, 12, 7, 1)
    row = await Meeting.get(id=meeting.id)
    assert (row.next_reminder_at, row.next_reminder_occurrence, row.next_reminder_offset) == (
        utc(2026, 12, 6, 1), "2026-12-07T10:00", 1440)


async def test_reminders_already_due_at_creation_are_not_planned(workspace, alice):
    view = await service.create_meeting(workspace, alice, title="Soon", start="2026-12-01 09:20",
                                        timezone="Asia/Tokyo", channel="c", now=utc(2026, 12, 1, 0, 10))
    # Starts at 00:20 UTC, created at 00:10: both reminders (1 day, 15 min) were due before it existed.
    assert view.next_reminder_at is None
    with pytest.raises(errors.InvalidMeetingStart):
        await service.create_meeting(workspace, alice, title="Past", start="2026-11-01 10:00", channel="c",
                                     now=NOW)


async def test_input_is_checked_with_friendly_errors(workspace, alice, departments):
    cases = [
        (dict(title=" "), errors.InvalidMeetingTitle),
        (dict(start="next monday"), errors.InvalidMeetingStart),
        (dict(timezone="Mars/Olympus"), errors.InvalidTimezone),
        (dict(repeat="hourly"), errors.InvalidRepeat),
        (dict(remind="soon"), errors.InvalidReminderOffsets),
        (dict(departments="Sales,Legal"), UnknownDepartment),
        (dict(channel=""), errors.MeetingChannelRequired),
        (dict(duration_minutes=0), errors.InvalidDuration),
    ]
    for change, error in cases:
        fields = dict(title="T", start="2026-12-07 10:00", channel="c") | change
        with pytest.raises(error) as caught:
            await service.create_meeting(workspace, alice, now=NOW, **fields)
        assert caught.value.localized("ja") != caught.value.localized("en")
    assert await Meeting.all().count() == 0


async def test_japanese_words_for_repeat_and_reminders(workspace, alice):
    view = await service.create_meeting(workspace, alice, title="定例", start="2026-12-07 10:00", repeat="毎月第n曜日",
                                        remind="1日,15分", channel="c", now=NOW)
    assert view.rrule == "FREQ=MONTHLY;BYDAY=+1MO" and view.reminder_offsets == (1440, 15)


async def test_skip_one_occurrence_keeps_the_series(workspace, alice, meeting):
    view = await service.skip_occurrence(workspace, alice, meeting.id, "2026-12-07", now=NOW)
    assert view.skipped == ("2026-12-07T10:00",)
    upcoming = await service.upcoming_occurrences(workspace, meeting.id, 2, now=NOW)
    assert [o.key for o in upcoming] == ["2027-01-04T10:00", "2027-02-01T10:00"]
    row = await Meeting.get(id=meeting.id)
    assert row.next_reminder_occurrence == "2027-01-04T10:00"
    with pytest.raises(errors.UnknownOccurrence):
        await service.skip_occurrence(workspace, alice, meeting.id, "2026-12-08", now=NOW)
    restored = await service.restore_occurrence(workspace, alice, meeting.id, "2026-12-07", now=NOW)
    assert restored.skipped == () and restored.next_occurrence.key == "2026-12-07T10:00"


async def test_move_one_occurrence_and_its_reminders_follow(workspace, alice, meeting):
    await service.move_occurrence(workspace, alice, meeting.id, "2027-01-04", "2027-01-05 15:00", now=NOW)
    upcoming = await service.upcoming_occurrences(workspace, meeting.id, 3, now=NOW)
    assert [(o.key, o.starts_at, o.moved) for o in upcoming] == [
        ("2026-12-07T10:00", utc(2026, 12, 7, 1), False),
        ("2027-01-04T10:00", utc(2027, 1, 5, 6), True),
        ("2027-02-01T10:00", utc(2027, 2, 1, 1), False),
    ]
    # A moved occurrence keeps its key, so RSVPs still find it.
    summary = await service.answer_rsvp(workspace, alice, meeting.id, "2027-01-04T10:00", "yes")
    assert summary.counts["yes"] == 1


async def test_rsvp_changes_and_is_counted_per_occurrence(workspace, alice, bob, carol, meeting):
    occ = "2026-12-07T10:00"
    await service.answer_rsvp(workspace, alice, meeting.id, occ, "yes")
    await service.answer_rsvp(workspace, bob, meeting.id, occ, "参加")
    summary = await service.answer_rsvp(workspace, carol, meeting.id, occ, "maybe")
    assert summary.counts == {"yes": 2, "maybe": 1, "no": 0}
    summary = await service.answer_rsvp(workspace, bob, meeting.id, occ, "no")
    assert summary.counts == {"yes": 1, "maybe": 1, "no": 1}
    assert summary.answer_of(bob.id) == "no"
    assert [p.display_name for p in await service.attendees(workspace, meeting.id, occ)] == ["Alice"]
    other = await service.rsvp_summary(workspace, meeting.id, "2027-01-04T10:00")
    assert other.counts == {"yes": 0, "maybe": 0, "no": 0}
    with pytest.raises(errors.InvalidRsvpAnswer):
        await service.answer_rsvp(workspace, alice, meeting.id, occ, "perhaps not")
    with pytest.raises(errors.UnknownOccurrence):
        await service.answer_rsvp(workspace, alice, meeting.id, "2026-12-08T10:00", "yes")
    await service.skip_occurrence(workspace, alice, meeting.id, occ, now=NOW)
    with pytest.raises(errors.OccurrenceSkipped):
        await service.answer_rsvp(workspace, alice, meeting.id, occ, "yes")


async def test_only_the_organiser_or_an_admin_changes_a_meeting(workspace, bob, admin, meeting):
    with pytest.raises(errors.NotMeetingOrganiser):
        await service.skip_occurrence(workspace, bob, meeting.id, "2026-12-07", now=NOW)
    with pytest.raises(errors.NotMeetingOrganiser):
        await service.edit_meeting(workspace, bob, meeting.id, title="Mine now", now=NOW)
    view = await service.edit_meeting(workspace, admin, meeting.id, title="Renamed", now=NOW)
    assert view.title == "Renamed"


async def test_pause_resume_edit_and_end(workspace, alice, meeting):
    paused = await service.pause_meeting(workspace, alice, meeting.id, now=NOW)
    assert paused.status == "paused" and paused.next_reminder_at is None
    # Resumed after the first occurrence's reminders were due: those are not sent afterwards.
    resumed = await service.resume_meeting(workspace, alice, meeting.id, now=utc(2026, 12, 7, 2))
    assert resumed.next_reminder_at == utc(2027, 1, 3, 1)
    edited = await service.edit_meeting(workspace, alice, meeting.id, start="2027-01-06 14:00", remind="2h",
                                        now=utc(2026, 12, 7, 2))
    # The first Wednesday now; one reminder 2 hours before.
    assert edited.rrule == "FREQ=MONTHLY;BYDAY=+1WE" and edited.reminder_offsets == (120,)
    assert edited.next_reminder_at == utc(2027, 1, 6, 3)
    ended = await service.end_meeting(workspace, alice, meeting.id, now=utc(2026, 12, 7, 2))
    assert ended.status == "ended" and ended.next_reminder_at is None and ended.next_occurrence is None
    with pytest.raises(errors.MeetingEnded):
        await service.resume_meeting(workspace, alice, meeting.id)
    assert await service.list_meetings(workspace, now=NOW) == []
    assert len(await service.list_meetings(workspace, include_ended=True, now=NOW)) == 1


async def test_meetings_belong_to_one_workspace(workspace, alice, meeting):
    from core.services.workspaces import ensure_workspace

    other = await ensure_workspace("console", "other")
    with pytest.raises(errors.MeetingNotFound):
        await service.get_meeting(other, meeting.id)
    assert await service.list_meetings(other) == []


async def test_only_the_organiser_or_an_admin_sees_who_answered(workspace, alice, bob, admin, meeting):
    occ = "2026-12-07T10:00"
    await service.answer_rsvp(workspace, bob, meeting.id, occ, "yes")
    with pytest.raises(errors.NotMeetingOrganiser):
        await service.rsvp_details(workspace, bob, meeting.id, occ)
    for viewer in (alice, admin):
        details = await service.rsvp_details(workspace, viewer, meeting.id, occ)
        assert [p.display_name for p in details.going] == ["Bob"]


async def test_the_same_create_event_twice_makes_one_meeting(workspace, alice):
    args = {"title": "Weekly sync", "start": "2026-12-07 10:00", "channel": "general", "repeat": "weekly",
            "now": NOW, "idempotency_key": "activity-1"}
    first = await service.create_meeting(workspace, alice, **args)
    again = await service.create_meeting(workspace, alice, **args)
    assert again.id == first.id
    assert await Meeting.filter(workspace_id=workspace.id).count() == 1
    other = await service.create_meeting(workspace, alice, **{**args, "idempotency_key": "activity-2"})
    assert other.id != first.id


@pytest.mark.parametrize("duration", ["90", "90m", "1h30m", "1h 30m", "1.5h", "1 hour 30 minutes", "1時間30分",
                                      "１時間３０分", "1時間半", 90])
async def test_a_length_is_read_whole(workspace, alice, duration):
    view = await service.create_meeting(workspace, alice, title="T", start="2026-12-07 10:00", channel="c",
                                        duration_minutes=duration, now=NOW)
    assert view.duration_minutes == 90
    edited = await service.edit_meeting(workspace, alice, view.id, duration_minutes="2h 15m", now=NOW)
    assert edited.duration_minutes == 135


@pytest.mark.parametrize("duration", ["1h30", "1h 30x", "an hour", "1.33h", "30m 1h", "1h, 30m", ""])
async def test_a_length_that_is_not_all_readable_is_refused(workspace, alice, duration):
    with pytest.raises(errors.UnreadableDuration) as caught:
        await service.create_meeting(workspace, alice, title="T", start="2026-12-07 10:00", channel="c",
                                     duration_minutes=duration, now=NOW)
    assert f"“{duration}”" in caught.value.localized("en") and f"「{duration}」" in caught.value.localized("ja")
    assert await Meeting.all().count() == 0


async def test_a_length_out_of_range_says_the_range(workspace, alice):
    for duration in ("0", "25h", 0):
        with pytest.raises(errors.InvalidDuration):
            await service.create_meeting(workspace, alice, title="T", start="2026-12-07 10:00", channel="c",
                                         duration_minutes=duration, now=NOW)


@pytest.mark.parametrize(("remind", "offsets"), [
    ("1d,15m", (1440, 15)), ("1日,15分", (1440, 15)), ("１日、１５分", (1440, 15)), ("1h30m,15m", (90, 15)),
    ("1時間30分", (90,)), ("2h 30m", (120, 30)),
])
async def test_reminder_offsets_in_both_languages(workspace, alice, remind, offsets):
    view = await service.create_meeting(workspace, alice, title="T", start="2026-12-07 10:00", channel="c",
                                        remind=remind, now=NOW)
    assert view.reminder_offsets == offsets


@pytest.mark.parametrize("remind", ["1d,15x", "1d,soon", "1h30", "1d,,x", "1.33h"])
async def test_reminder_offsets_that_are_not_all_readable_are_refused(workspace, alice, remind):
    with pytest.raises(errors.InvalidReminderOffsets):
        await service.create_meeting(workspace, alice, title="T", start="2026-12-07 10:00", channel="c",
                                     remind=remind, now=NOW)
