"""Recurrence: wall-clock times across DST, n-th weekdays, offsets and the next-reminder walk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.meetings.recurrence import (
    Override,
    RecurrenceError,
    Repeat,
    Series,
    build_rule,
    classify_rule,
    format_offset,
    neutral_recurrence,
    next_reminder,
    occurrences,
    parse_local,
    parse_offsets,
    start_of_time,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def series(start: str, tz: str, repeat: str, **kw) -> Series:
    local = parse_local(start)
    return Series(local, tz, build_rule(repeat, local), **kw)


def starts(s: Series, after: datetime, n: int, overrides=None) -> list[datetime]:
    return [o.starts_at for o in occurrences(s, overrides or {}, after, n)]


def test_weekly_meeting_keeps_its_local_time_across_the_berlin_spring_change():
    # Europe/Berlin goes from UTC+1 to UTC+2 on Sunday 2026-03-29.
    s = series("2026-03-16 10:00", "Europe/Berlin", "weekly")
    assert starts(s, utc(2026, 3, 1), 3) == [utc(2026, 3, 16, 9), utc(2026, 3, 23, 9), utc(2026, 3, 30, 8)]


def test_weekly_meeting_across_the_berlin_autumn_change():
    s = series("2026-10-19 10:00", "Europe/Berlin", "weekly")
    assert starts(s, utc(2026, 10, 1), 2) == [utc(2026, 10, 19, 8), utc(2026, 10, 26, 9)]


def test_new_york_meetings_follow_both_dst_changes():
    # America/New_York: DST starts 2026-03-08, ends 2026-11-01.
    spring = series("2026-03-06 09:00", "America/New_York", "weekly")
    assert starts(spring, utc(2026, 3, 1), 2) == [utc(2026, 3, 6, 14), utc(2026, 3, 13, 13)]
    autumn = series("2026-10-30 09:00", "America/New_York", "weekly")
    assert starts(autumn, utc(2026, 10, 1), 2) == [utc(2026, 10, 30, 13), utc(2026, 11, 6, 14)]


def test_tokyo_has_no_dst_so_utc_times_never_move():
    s = series("2026-01-05 10:00", "Asia/Tokyo", "monthly-nth-weekday")
    got = starts(s, utc(2026, 1, 1), 12)
    assert all(t.hour == 1 and t.minute == 0 for t in got)
    assert [t.weekday() for t in got] == [0] * 12  # 10:00 Monday in Tokyo is 01:00 Monday UTC


def test_a_wall_clock_time_inside_the_spring_gap_moves_forward():
    s = series("2026-03-29 02:30", "Europe/Berlin", "none")
    # 02:30 does not exist that night; it is 03:30 CEST = 01:30 UTC.
    assert starts(s, utc(2026, 3, 1), 5) == [utc(2026, 3, 29, 1, 30)]


def test_first_monday_of_the_month():
    start = parse_local("2026-12-07 10:00")
    assert build_rule("monthly-nth-weekday", start) == "FREQ=MONTHLY;BYDAY=+1MO"
    s = series("2026-12-07 10:00", "Asia/Tokyo", "monthly-nth-weekday")
    days = [o.key[:10] for o in occurrences(s, {}, utc(2026, 12, 1), 5)]
    assert days == ["2026-12-07", "2027-01-04", "2027-02-01", "2027-03-01", "2027-04-05"]


def test_a_fifth_weekday_becomes_the_last_one_and_the_31st_the_last_day():
    assert build_rule(Repeat.MONTHLY_NTH_WEEKDAY, parse_local("2026-12-29 10:00")) == "FREQ=MONTHLY;BYDAY=-1TU"
    assert build_rule(Repeat.MONTHLY, parse_local("2026-12-31 10:00")) == "FREQ=MONTHLY;BYMONTHDAY=-1"
    s = series("2026-12-31 10:00", "UTC", "monthly")
    assert [o.key[:10] for o in occurrences(s, {}, utc(2026, 12, 1), 3)] == ["2026-12-31", "2027-01-31",
                                                                           "2027-02-28"]


def test_biweekly_and_until():
    s = series("2026-12-01 10:00", "UTC", "biweekly", until_local=parse_local("2027-01-01 00:00").date())
    assert [o.key[:10] for o in occurrences(s, {}, utc(2026, 11, 1), 10)] == ["2026-12-01", "2026-12-15",
                                                                            "2026-12-29"]


def test_classify_and_neutral_recurrence_round_trip():
    start = parse_local("2026-12-07 10:00")
    for choice in (Repeat.NONE, Repeat.WEEKLY, Repeat.BIWEEKLY, Repeat.MONTHLY, Repeat.MONTHLY_NTH_WEEKDAY):
        assert classify_rule(build_rule(choice, start), start) is choice
    assert classify_rule("FREQ=WEEKLY;BYDAY=MO,TH", start) is Repeat.CUSTOM
    nth = neutral_recurrence(build_rule(Repeat.MONTHLY_NTH_WEEKDAY, start), start)
    assert nth is not None and nth.frequency == "MONTHLY" and nth.by_n_weekday == (1, 0)
    assert neutral_recurrence(build_rule(Repeat.BIWEEKLY, start), start).interval == 2


@pytest.mark.parametrize("rule", ["FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=1", "DTSTART:20260101T000000\nFREQ=DAILY",
                                  "nonsense", ""])
def test_sub_daily_or_broken_custom_rules_are_refused(rule):
    with pytest.raises(RecurrenceError):
        build_rule(Repeat.CUSTOM, parse_local("2026-12-07 10:00"), rule)


def test_offsets_in_both_languages():
    assert parse_offsets("1d,15m") == (1440, 15)
    assert parse_offsets("1日、15分") == (1440, 15)
    assert parse_offsets("2h 30") == (120, 30)
    assert parse_offsets([15, 1440, 15]) == (1440, 15)
    assert [format_offset(m) for m in (1440, 90, 15)] == ["1d", "1h30m", "15m"]
    for bad in ("soon", "1y", "1d,2d,3d,4d,5d,6d"):
        with pytest.raises(RecurrenceError):
            parse_offsets(bad)


def test_next_reminder_walks_offsets_then_occurrences_and_honours_skip_and_move():
    s = series("2026-12-07 10:00", "Asia/Tokyo", "weekly")
    keys = []
    after = start_of_time(utc(2026, 12, 1))
    for _ in range(4):
        reminder = next_reminder(s, {}, (1440, 15), after)
        assert reminder is not None
        keys.append((reminder.at, reminder.key.occurrence, reminder.key.offset))
        after = reminder.key
    assert keys == [
        (utc(2026, 12, 6, 1), "2026-12-07T10:00", 1440), (utc(2026, 12, 7, 0, 45), "2026-12-07T10:00", 15),
        (utc(2026, 12, 13, 1), "2026-12-14T10:00", 1440), (utc(2026, 12, 14, 0, 45), "2026-12-14T10:00", 15),
    ]
    overrides = {"2026-12-07T10:00": Override(skipped=True),
                 "2026-12-14T10:00": Override(moved_to=parse_local("2026-12-15 16:00"))}
    first = next_reminder(s, overrides, (1440, 15), start_of_time(utc(2026, 12, 1)))
    assert first is not None and first.key.occurrence == "2026-12-14T10:00"
    assert first.at == utc(2026, 12, 15, 7) - timedelta(days=1)
    assert first.occurrence.moved
