"""Recurrence: RFC 5545 rules through python-dateutil, in an IANA time zone through zoneinfo.

Rules are expanded over *local wall-clock* times and only then placed in the time zone, so a
10:00 meeting stays at 10:00 local time across a DST change. A wall-clock time that does not exist
(the spring-forward gap) moves forward by the gap; an ambiguous one (fall back) is the first.
Pure functions only: no database here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Sub-daily rules would turn a meeting series into a flood of reminders.
_ALLOWED_FREQS = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"}
# Safety net when walking a rule (e.g. a rule whose occurrences are all skipped).
MAX_STEPS = 5000


class Repeat(StrEnum):
    """The repeat choices people pick from; anything else is a custom RRULE."""

    NONE = "none"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    MONTHLY_NTH_WEEKDAY = "monthly-nth-weekday"
    CUSTOM = "custom"


class RecurrenceError(ValueError):
    """A rule, a time or a time zone that cannot be used; ``reason`` says which."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or RecurrenceError("timezone")."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RecurrenceError("timezone", name) from None


def parse_local(text: str) -> datetime:
    """``2026-12-07 10:00`` / ``2026-12-07T10:00`` / ``2026/12/07 10:00`` → a naive local datetime."""
    cleaned = text.strip().replace("/", "-").replace("　", " ")
    cleaned = re.sub(r"\s+", " ", cleaned).replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise RecurrenceError("start", text) from None
    if moment.tzinfo is not None:
        raise RecurrenceError("start", text)
    return moment.replace(second=0, microsecond=0)


def local_key(moment: datetime) -> str:
    """A naive local datetime as an occurrence key (``2026-12-07T10:00``)."""
    return moment.strftime(LOCAL_FORMAT)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall-clock time in ``tz`` as an aware UTC datetime (gap → forward, fold → first)."""
    return local.replace(tzinfo=tz).astimezone(UTC)


def to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """An aware datetime as a naive local wall-clock time in ``tz``."""
    return moment.astimezone(tz).replace(tzinfo=None)


def nth_weekday(day: date) -> int:
    """Which weekday of its month ``day`` is: 1..4, or -1 for a fifth one ("last")."""
    n = (day.day - 1) // 7 + 1
    return -1 if n == 5 else n


def build_rule(repeat: Repeat | str, start: datetime, custom: str | None = None) -> str:
    """The RRULE text (without DTSTART) for a repeat choice that starts at local ``start``."""
    try:
        choice = Repeat(repeat)
    except ValueError:
        raise RecurrenceError("repeat", str(repeat)) from None
    weekday = _WEEKDAYS[start.weekday()]
    if choice is Repeat.NONE:
        return ""
    if choice is Repeat.WEEKLY:
        return f"FREQ=WEEKLY;BYDAY={weekday}"
    if choice is Repeat.BIWEEKLY:
        return f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday}"
    if choice is Repeat.MONTHLY:
        last_day = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        # A series started on the 31st (or any last day) keeps to the month's last day.
        day = -1 if start.day > 28 and start.day == last_day.day else start.day
        return f"FREQ=MONTHLY;BYMONTHDAY={day}"
    if choice is Repeat.MONTHLY_NTH_WEEKDAY:
        return f"FREQ=MONTHLY;BYDAY={nth_weekday(start.date()):+d}{weekday}"
    return normalise_custom_rule(custom or "", start)


def normalise_custom_rule(text: str, start: datetime) -> str:
    """Check a hand-written RRULE (``RRULE:`` prefix optional); sub-daily or DTSTART rules are refused."""
    rule = text.strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:]
    rule = rule.upper().replace(" ", "")
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    if not rule or parts.get("FREQ") not in _ALLOWED_FREQS or "DTSTART" in rule:
        raise RecurrenceError("rrule", text)
    try:
        rrulestr(rule, dtstart=start)
    except (ValueError, TypeError):
        raise RecurrenceError("rrule", text) from None
    return rule


def classify_rule(rule: str, start: datetime) -> Repeat:
    """Which repeat choice ``rule`` is (for display and edit forms), CUSTOM if none."""
    if not rule:
        return Repeat.NONE
    for choice in (Repeat.WEEKLY, Repeat.BIWEEKLY, Repeat.MONTHLY, Repeat.MONTHLY_NTH_WEEKDAY):
        if build_rule(choice, start) == rule:
            return choice
    return Repeat.CUSTOM


@dataclass(frozen=True)
class Series:
    """Everything needed to expand a meeting's occurrences."""

    start_local: datetime
    timezone: str
    rule: str = ""
    until_local: date | None = None
    duration_minutes: int = 60

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def rrule(self) -> rrule:
        """The dateutil rule over naive local times."""
        if not self.rule:
            return rrule(DAILY, count=1, dtstart=self.start_local)
        parsed = rrulestr(self.rule, dtstart=self.start_local)
        assert isinstance(parsed, rrule)
        return parsed

    def originals_from(self, local_from: datetime) -> Iterator[datetime]:
        """Original occurrence starts (naive local) at or after ``local_from``, in order."""
        for start in self.rrule().xafter(local_from, inc=True):
            if self.until_local is not None and start.date() > self.until_local:
                return
            yield start

    def contains(self, local_start: datetime) -> bool:
        """True if ``local_start`` is an original occurrence of the series."""
        if self.until_local is not None and local_start.date() > self.until_local:
            return False
        return local_start in self.rrule()


@dataclass(frozen=True)
class Override:
    """A skipped or moved occurrence (``moved_to`` is a naive local time)."""

    skipped: bool = False
    moved_to: datetime | None = None


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: its key (original local start) and when it really starts, in UTC."""

    key: str
    starts_at: datetime
    ends_at: datetime
    moved: bool = False


def occurrence_at(series: Series, key: str, override: Override | None) -> Occurrence | None:
    """The occurrence named ``key`` (None if it is not part of the series or is skipped)."""
    try:
        original = datetime.strptime(key, LOCAL_FORMAT)
    except ValueError:
        return None
    if not series.contains(original) or (override is not None and override.skipped):
        return None
    return _occurrence(series, original, override)


def _occurrence(series: Series, original: datetime, override: Override | None) -> Occurrence:
    local = override.moved_to if override is not None and override.moved_to is not None else original
    starts = to_utc(local, series.tz)
    return Occurrence(local_key(original), starts, starts + timedelta(minutes=series.duration_minutes),
                      moved=local != original)


def occurrences(series: Series, overrides: Mapping[str, Override], after: datetime,
                limit: int = 10) -> list[Occurrence]:
    """Up to ``limit`` occurrences that end after the aware ``after``, by real start; skips left out."""
    tz = series.tz
    found: list[Occurrence] = []
    # Moved occurrences can land anywhere, so they are considered separately.
    for key, override in overrides.items():
        if override.moved_to is not None and not override.skipped:
            occ = occurrence_at(series, key, override)
            if occ is not None and occ.ends_at > after:
                found.append(occ)
    margin = timedelta(minutes=series.duration_minutes) + timedelta(days=1)
    originals = 0
    for steps, original in enumerate(series.originals_from(to_local(after - margin, tz))):
        if steps > MAX_STEPS:
            break
        exception = overrides.get(local_key(original))
        if exception is not None and (exception.skipped or exception.moved_to is not None):
            continue
        occ = _occurrence(series, original, None)
        if occ.ends_at <= after:
            continue
        found.append(occ)
        originals += 1
        # Originals come in order: the first ``limit`` of them and the moved ones hold the answer.
        if originals >= limit:
            break
    found.sort(key=lambda o: (o.starts_at, o.key))
    return found[:limit]


def held_before(series: Series, overrides: Mapping[str, Override], before: datetime) -> int:
    """How many occurrences started before the aware ``before`` (skipped ones left out, a moved one
    counted where it went): how many times the meeting met, as far as its calendar says."""
    count = sum(1 for key, override in overrides.items()
                if override.moved_to is not None and not override.skipped
                and (occ := occurrence_at(series, key, override)) is not None and occ.starts_at < before)
    for steps, original in enumerate(series.originals_from(series.start_local)):
        if steps > MAX_STEPS or to_utc(original, series.tz) >= before + timedelta(days=1):
            break
        exception = overrides.get(local_key(original))
        if exception is not None and (exception.skipped or exception.moved_to is not None):
            continue
        if _occurrence(series, original, None).starts_at < before:
            count += 1
    return count


@dataclass(frozen=True, order=True)
class ReminderKey:
    """When a reminder is due, for which occurrence, how many minutes ahead: ordered in that order."""

    at: datetime
    occurrence: str
    offset: int


@dataclass(frozen=True)
class Reminder:
    """One reminder of one occurrence."""

    key: ReminderKey
    occurrence: Occurrence

    @property
    def at(self) -> datetime:
        return self.key.at


def start_of_time(moment: datetime) -> ReminderKey:
    """A bound below every reminder due at or after ``moment``."""
    return ReminderKey(moment, "", -1)


def next_reminder(series: Series, overrides: Mapping[str, Override], offsets: Sequence[int],
                  after: ReminderKey) -> Reminder | None:
    """The first reminder ordered after ``after`` (by time, then occurrence key, then offset)."""
    if not offsets:
        return None
    tz = series.tz
    low, high = min(offsets), max(offsets)
    best: Reminder | None = None

    def consider(occ: Occurrence) -> None:
        nonlocal best
        for offset in offsets:
            key = ReminderKey(occ.starts_at - timedelta(minutes=offset), occ.key, offset)
            if key > after and (best is None or key < best.key):
                best = Reminder(key, occ)

    for key, override in overrides.items():
        if override.moved_to is not None and not override.skipped:
            occ = occurrence_at(series, key, override)
            if occ is not None:
                consider(occ)
    # An occurrence starting before after.at + low cannot have a reminder at or after after.at.
    earliest_start = after.at + timedelta(minutes=low)
    local_from = to_local(earliest_start, tz) - timedelta(days=1)  # DST margin
    for steps, original in enumerate(series.originals_from(local_from)):
        if steps > MAX_STEPS:
            break
        starts = to_utc(original, tz)
        if best is not None and starts - timedelta(minutes=high) > best.at:
            break
        exception = overrides.get(local_key(original))
        if exception is not None and (exception.skipped or exception.moved_to is not None):
            continue
        consider(_occurrence(series, original, None))
    return best


def next_end(series: Series, overrides: Mapping[str, Override], after: datetime,
             after_occurrence: str = "") -> Occurrence | None:
    """The first occurrence whose end comes after ``(after, after_occurrence)`` (by end, then key).

    An end is a "reminder" ``duration`` minutes *after* the start, so ``next_reminder`` with that
    one negative offset finds it, moved occurrences and skips included.
    """
    offset = -series.duration_minutes
    found = next_reminder(series, overrides, (offset,), ReminderKey(after, after_occurrence, offset))
    return found.occurrence if found is not None else None


# One part of a length of time: a number (a decimal point allowed) and its unit; "半" adds a half.
_DURATION_PART = re.compile(
    r"\s*(?P<number>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>weeks?|wks?|w|週間|週|days?|d|日|hours?|hrs?|h|時間|minutes?|mins?|m|分)?(?P<half>半)?\s*")
_UNIT_MINUTES = {"w": 7 * 1440, "週": 7 * 1440, "d": 1440, "日": 1440, "h": 60, "時": 60, "m": 1, "分": 1}


def parse_duration(text: str) -> int:
    """A length of time in whole minutes: ``90``, ``90m``, ``1h30m``, ``1h 30m``, ``1.5h``, ``1時間30分``,
    ``１時間半`` (full-width too). A bare number is minutes; units go from the largest to the smallest,
    each once. Anything else (``1h30``, ``1x``, ``1.33h``…) is ``RecurrenceError("duration")``."""
    normalized = unicodedata.normalize("NFKC", text).strip().lower()
    minutes, position, last_unit = Decimal(0), 0, None
    while position < len(normalized):
        match = _DURATION_PART.match(normalized, position)
        if match is None or match.end() == position:
            raise RecurrenceError("duration", text)
        unit = match["unit"]
        if unit is None and (match["half"] or position or match.end() < len(normalized)):
            raise RecurrenceError("duration", text)  # a bare number is the whole length or nothing
        size = _UNIT_MINUTES[unit[0]] if unit else 1
        if last_unit is not None and size >= last_unit:
            raise RecurrenceError("duration", text)  # 30m1h, 1h1h
        minutes += (Decimal(match["number"]) + (Decimal("0.5") if match["half"] else 0)) * size
        position, last_unit = match.end(), size
    if position == 0 or minutes != minutes.to_integral_value():
        raise RecurrenceError("duration", text)
    return int(minutes)


def parse_offsets(text: str | Sequence[int] | None) -> tuple[int, ...]:
    """``"1d,15m"`` / ``"2h 30m"`` / ``"1日,15分"`` / ``[1440, 15]`` → minutes, largest first, no duplicates.

    Commas and spaces separate reminders; each is a ``parse_duration`` length without spaces
    (``1h30m``, ``1時間30分``).
    """
    if text is None:
        return ()
    if not isinstance(text, str):
        values = [int(v) for v in text]
    else:
        try:
            values = [parse_duration(part) for part in re.split(r"[,、，\s]+", unicodedata.normalize("NFKC", text))
                      if part]
        except RecurrenceError:
            raise RecurrenceError("remind", text) from None
        if not values:
            raise RecurrenceError("remind", text)
    if any(v < 0 or v > 60 * 24 * 60 for v in values) or len(values) > 5:
        raise RecurrenceError("remind", str(text))
    return tuple(sorted(set(values), reverse=True))


def format_offset(minutes: int) -> str:
    """``1440`` → ``1d``, ``90`` → ``1h30m``, ``15`` → ``15m`` (the syntax ``parse_offsets`` reads)."""
    if minutes == 0:
        return "0m"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n)


@dataclass(frozen=True)
class NeutralRecurrence:
    """A rule in the terms chat platforms' event APIs use (e.g. Discord's recurrence subset).

    ``frequency`` is YEARLY/MONTHLY/WEEKLY/DAILY, weekdays are 0 = Monday; ``by_n_weekday`` is
    ``(n, weekday)``. None fields are unset.
    """

    frequency: str
    interval: int = 1
    by_weekday: tuple[int, ...] | None = None
    by_n_weekday: tuple[int, int] | None = None
    by_month_day: tuple[int, ...] | None = None


def neutral_recurrence(rule: str, start: datetime) -> NeutralRecurrence | None:
    """``rule`` in neutral terms if it is one of the simple repeat choices, else None."""
    choice = classify_rule(rule, start)
    if choice in (Repeat.NONE, Repeat.CUSTOM):
        return None
    if choice in (Repeat.WEEKLY, Repeat.BIWEEKLY):
        return NeutralRecurrence("WEEKLY", 2 if choice is Repeat.BIWEEKLY else 1, by_weekday=(start.weekday(),))
    if choice is Repeat.MONTHLY:
        day = int(rule.rsplit("=", 1)[1])
        return NeutralRecurrence("MONTHLY", by_month_day=(day,))
    return NeutralRecurrence("MONTHLY", by_n_weekday=(nth_weekday(start.date()), start.weekday()))


__all__ = [
    "DAILY", "MONTHLY", "WEEKLY", "YEARLY", "NeutralRecurrence", "Occurrence", "Override", "RecurrenceError",
    "Reminder", "ReminderKey", "Repeat", "Series", "build_rule", "classify_rule", "format_offset", "held_before",
    "local_key",
    "neutral_recurrence", "next_end", "next_reminder", "occurrence_at", "occurrences", "parse_duration", "parse_local",
    "parse_offsets",
    "start_of_time", "to_local", "to_utc", "zone",
]
