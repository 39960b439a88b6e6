"""Timer schedules as the Functions host reads them: NCRONTAB expressions and TimeSpan intervals; pure.

The host (WebJobs ``TimerSchedule.Create``, functions-host.md §6) tries NCrontab first, with seconds unless the
expression has exactly 5 fields, then .NET ``TimeSpan.TryParse``. NCrontab as it really behaves, not as cron does:

- fields ``{second} {minute} {hour} {day} {month} {day-of-week}`` (5 fields: no seconds, second 0);
- ``*``, values, ``a-b`` (a reversed range is swapped), ``a/n`` (from ``a`` to the maximum), ``*/n``, ``a-b/n``,
  lists ``x,y``; a step of 0 counts as 1;
- month and day-of-week names, case-insensitive, any prefix of the full name, the first match winning
  (``Mon``, ``Jan``, ``J`` = January); day-of-week 0-6, 0 = Sunday;
- a day must match BOTH the day-of-month and the day-of-week fields (Vixie cron matches either).

Occurrences are computed on the wall clock of the zone of the moment passed in (the host uses
``TimeZoneInfo.Local``). Across a daylight-saving change we do what the WebJobs ``CronSchedule`` does: a wall time
that does not exist (clocks spring forward) fires at the same offset as before the change, so 02:30 becomes 03:30;
a wall time that happens twice (clocks fall back) fires twice for an interval schedule (one with ``*``, ``-`` or
``/`` in its second, minute or hour field) and once, at its first instant, for a point-in-time one.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from durable_storage._datetimes import as_utc
from durable_storage.errors import ConfigurationError

__all__ = ["CronSchedule", "IntervalSchedule", "Schedule", "parse_schedule"]

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 exists in some years
# Every valid date falls on every weekday within one 400-year Gregorian cycle.
_SEARCH_DAYS = 146_097 + 366
# A clock moves by at most this much at a daylight-saving or zone change (2 h is the most seen).
_MAX_SHIFT = timedelta(hours=3)
_MINUTE = timedelta(minutes=1)


class Schedule(Protocol):
    """What the timer runner needs of a schedule."""

    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after the aware ``moment``, in ``moment``'s zone."""
        ...

    def fires_often(self, moment: datetime) -> bool:
        """True when it fires more than once in the minute after ``moment`` (the host then turns off its monitor)."""
        ...


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def parse(self, text: str) -> frozenset[int]:
        values: set[int] = set()
        for part in text.split(","):
            values |= self._part(part)
        return frozenset(values)

    def _part(self, text: str) -> set[int]:
        base, slash, step_text = text.partition("/")
        step = self._number(step_text, what="step") if slash else 1
        if base == "*":
            first, last = self.low, self.high
        elif "-" in base[1:]:
            start, _, end = base.partition("-")
            first, last = sorted((self._value(start), self._value(end)))  # NCrontab swaps a reversed range
        else:
            first = self._value(base)
            last = self.high if slash else first  # "5/15" runs from 5 to the maximum
        return set(range(first, last + 1, max(step, 1)))

    def _value(self, text: str) -> int:
        value = self._number(text, what="value") if text[:1].isdigit() else self._named(text)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name} {value} is out of range: must be {self.low}-{self.high}")
        return value

    def _named(self, text: str) -> int:
        for index, name in enumerate(self.names):
            if text and name.lower().startswith(text.lower()):
                return self.low + index
        allowed = f"a number or a name ({', '.join(self.names)})" if self.names else "a number"
        raise ValueError(f"{self.name} {text!r} is invalid: must be {allowed}")

    def _number(self, text: str, *, what: str) -> int:
        if not (text.isascii() and text.isdigit()):
            raise ValueError(f"{self.name} {what} {text!r} is invalid: must be digits")
        return int(text)


_SECOND = _Field("second", 0, 59)
_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 6, _DAYS),
)


@dataclass(frozen=True, eq=False)
class CronSchedule:
    """A parsed NCRONTAB expression. Build it with :meth:`parse`."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in NCrontab
    is_interval: bool

    @classmethod
    def parse(cls, expr: str) -> CronSchedule:
        """Parse a 6-field (seconds first) or 5-field NCRONTAB expression.

        Raises:
            ConfigurationError: the expression is not one; the message names it, the field and what is allowed.
        """
        fields = expr.split()
        if len(fields) not in (5, 6):
            raise ConfigurationError(
                f"timer schedule {expr!r} is invalid: an NCRONTAB expression has 6 fields "
                f"({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}) or 5 without seconds, "
                f"not {len(fields)}"
            )
        kinds = (_SECOND, *_FIELDS) if len(fields) == 6 else _FIELDS
        try:
            sets = [kind.parse(text) for kind, text in zip(kinds, fields, strict=True)]
        except ValueError as error:
            raise ConfigurationError(f"timer schedule {expr!r} is invalid: {error}") from None
        if len(fields) == 5:
            sets.insert(0, frozenset({0}))
        seconds, minutes, hours, days, months, weekdays = sets
        if not any(day <= _DAYS_IN_MONTH[month - 1] for month in months for day in days):
            raise ConfigurationError(f"timer schedule {expr!r} never occurs: no month of it has any of its days")
        # WebJobs CronSchedule: '*', '-' or '/' in the time-of-day fields makes it an interval schedule.
        time_fields = fields[: len(fields) - 3]
        return cls(
            expression=expr,
            seconds=tuple(sorted(seconds)),
            minutes=tuple(sorted(minutes)),
            hours=tuple(sorted(hours)),
            days=days,
            months=months,
            weekdays=weekdays,
            is_interval=any(mark in text for text in time_fields for mark in "*-/"),
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after the aware ``moment``, as an aware time in ``moment``'s zone."""
        zone = _zone_of(moment)
        after = as_utc(moment)  # aware datetimes of one zone compare by wall time, ignoring fold: compare in UTC
        best: datetime | None = None
        best_wall = limit = None
        # Near a clock change an instant later than `moment` may have an earlier wall time (the repeated hour), and a
        # later wall time an earlier instant (the skipped hour): widen the wall-time search by the change there.
        for wall in self._walls_after(moment.replace(tzinfo=None) - _clock_change_near(after, zone)):
            if best_wall is not None and limit is not None and wall - best_wall > limit:
                break
            for instant in self._instants(wall, zone):
                if instant > after and (best is None or instant < best):
                    best, best_wall = instant, wall
                    limit = limit if limit is not None else _clock_change_near(instant, zone)
        if best is None:  # pragma: no cover - parse refuses schedules that never occur
            raise AssertionError(f"no occurrence of {self.expression!r} after {moment.isoformat()}")
        return best.astimezone(zone)

    def fires_often(self, moment: datetime) -> bool:
        """True when it fires more than once in the minute after ``moment``."""
        first = self.next_after(moment)
        return self.next_after(first) <= moment + _MINUTE

    def _instants(self, wall: datetime, zone: tzinfo) -> list[datetime]:
        first, second = as_utc(wall.replace(tzinfo=zone, fold=0)), as_utc(wall.replace(tzinfo=zone, fold=1))
        if second <= first:
            # No repeated hour: one instant. fold=0 of a wall time in a spring-forward gap keeps the offset from
            # before the change, as .NET's DateTimeOffset does, so 02:30 fires at 03:30 new time.
            return [first]
        # The wall time happens twice (fall back): point-in-time schedules fire at the first instant only.
        return [first, second] if self.is_interval else [first]

    def _walls_after(self, start: datetime) -> Iterator[datetime]:
        """Matching wall times strictly after the naive ``start``, in order."""
        moment = start.replace(microsecond=0) + timedelta(seconds=1)
        day, earliest = moment.date(), moment.time()
        for _ in range(_SEARCH_DAYS):
            if self._matches(day):
                yield from (datetime.combine(day, at) for at in self._times_from(earliest))
            day += timedelta(days=1)
            earliest = time(0)

    def _matches(self, day: date) -> bool:
        # NCrontab requires both fields; isoweekday() % 7 counts from Sunday = 0.
        return day.month in self.months and day.day in self.days and day.isoweekday() % 7 in self.weekdays

    def _times_from(self, earliest: time) -> Iterator[time]:
        for hour in self.hours[bisect.bisect_left(self.hours, earliest.hour) :]:
            same_hour = hour == earliest.hour
            for minute in self.minutes[bisect.bisect_left(self.minutes, earliest.minute) if same_hour else 0 :]:
                same_minute = same_hour and minute == earliest.minute
                for second in self.seconds[bisect.bisect_left(self.seconds, earliest.second) if same_minute else 0 :]:
                    yield time(hour, minute, second)

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r})"


# .NET TimeSpan text: [-][d.]hh:mm[:ss[.fffffff]] or a whole number of days.
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d{1,7}))?)?", re.ASCII)


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule: every ``interval`` after the moment it is asked about (the host's ConstantSchedule)."""

    expression: str
    interval: timedelta

    @classmethod
    def parse(cls, expr: str) -> IntervalSchedule:
        """Parse ``[d.]hh:mm[:ss[.f]]`` or ``d`` as .NET ``TimeSpan.TryParse`` does.

        Quirk kept from .NET: ``hh:mm:ss`` with hours above 23 reads as ``d:hh:mm``, so ``25:00:00`` is 25 days.

        Raises:
            ConfigurationError: not a positive TimeSpan; the message names the expression.
        """
        text = expr.strip()
        interval = _timespan(text)
        if interval is None or interval <= timedelta(0):
            raise ConfigurationError(
                f"timer schedule {expr!r} is invalid: must be an NCRONTAB expression "
                "('{second} {minute} {hour} {day} {month} {day-of-week}', e.g. '0 */5 * * * *') "
                "or a positive TimeSpan '[d.]hh:mm[:ss]' (e.g. '00:05:00')"
            )
        return cls(expression=expr, interval=interval)

    def next_after(self, moment: datetime) -> datetime:
        """``moment`` plus the interval."""
        _zone_of(moment)
        return moment + self.interval

    def fires_often(self, moment: datetime) -> bool:
        """True when the interval is under a minute."""
        return self.interval < _MINUTE


def _timespan(text: str) -> timedelta | None:
    if text.isascii() and text.isdigit():
        return timedelta(days=int(text))
    match = _TIMESPAN.fullmatch(text)
    if match is None:
        return None
    days_text, first, second, third, fraction = match.groups()
    days, hours, minutes = int(days_text or 0), int(first), int(second)
    seconds = int(third or 0)
    if days_text is None and third is not None and fraction is None and hours > 23:
        days, hours, minutes, seconds = hours, minutes, seconds, 0  # .NET reads 'd:hh:mm' when hh cannot be hours
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    micro = int((fraction or "0").ljust(7, "0")) // 10
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds, microseconds=micro)


def parse_schedule(expr: str) -> CronSchedule | IntervalSchedule:
    """A timer schedule as the host reads one: NCRONTAB (5 or 6 fields) first, then a TimeSpan.

    Raises:
        ConfigurationError: neither; the message names the expression and both forms.
    """
    if not isinstance(expr, str):
        raise ConfigurationError(f"timer schedule {expr!r} is invalid: must be a string")
    if len(expr.split()) > 1:  # several words can only be NCRONTAB; one can only be a TimeSpan
        return CronSchedule.parse(expr)
    return IntervalSchedule.parse(expr)


def _zone_of(moment: datetime) -> tzinfo:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"moment {moment.isoformat()} is invalid: must carry a time zone")
    return moment.tzinfo


def _clock_change_near(instant: datetime, zone: tzinfo) -> timedelta:
    """How far the wall clock of ``zone`` moves within _MAX_SHIFT of the UTC ``instant`` (zero almost always)."""
    offsets = [(instant + delta).astimezone(zone).utcoffset() or timedelta(0) for delta in (-_MAX_SHIFT, _MAX_SHIFT)]
    here = instant.astimezone(zone).utcoffset() or timedelta(0)
    return max(abs(offset - here) for offset in offsets)
