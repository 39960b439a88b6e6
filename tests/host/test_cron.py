"""Timer schedules: NCRONTAB as NCrontab reads it, TimeSpans as .NET reads them, occurrences on the local clock."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from durable_storage.errors import ConfigurationError
from durable_storage.host._cron import CronSchedule, IntervalSchedule, parse_schedule

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")  # 2024: clocks spring forward on March 10 at 02:00, fall back on Nov 3


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


# (expression, moment, next occurrence), computed by hand: 2024-01-01 is a Monday.
OCCURRENCES = [
    ("0 */5 * * * *", utc(2024, 1, 1, 10, 3), utc(2024, 1, 1, 10, 5)),
    ("*/15 * * * * *", utc(2024, 1, 1, 10, 0, 50), utc(2024, 1, 1, 10, 1)),
    ("0 0 * * * *", utc(2024, 1, 1, 10, 0), utc(2024, 1, 1, 11, 0)),  # strictly after
    ("0 0 * * * *", utc(2024, 1, 1, 10, 0, 0) + timedelta(microseconds=1), utc(2024, 1, 1, 11, 0)),
    ("5 * * * *", utc(2024, 1, 1, 10, 5), utc(2024, 1, 1, 11, 5)),  # 5 fields: no seconds
    ("0 30 9 * * 1-5", utc(2024, 1, 5, 10, 0), utc(2024, 1, 8, 9, 30)),  # Friday after 9:30 -> Monday
    ("0 30 9 * * Mon-Fri", utc(2024, 1, 5, 10, 0), utc(2024, 1, 8, 9, 30)),
    ("0 30 9 * * mon-FRIDAY", utc(2024, 1, 5, 10, 0), utc(2024, 1, 8, 9, 30)),  # any case, any prefix
    ("0 0 0 * * 0", utc(2024, 1, 1), utc(2024, 1, 7)),  # 0 = Sunday
    ("0 0 0 * * Sat", utc(2024, 1, 1), utc(2024, 1, 6)),
    ("0 0 0 * * T", utc(2024, 1, 1), utc(2024, 1, 2)),  # 'T' is the first name it prefixes: Tuesday
    ("0 0 0 1 J *", utc(2024, 1, 1), utc(2025, 1, 1)),  # 'J' = January
    ("0 0 0 1 Ju *", utc(2024, 1, 1), utc(2024, 6, 1)),  # 'Ju' = June
    ("0 0 0 13 * Fri", utc(2024, 1, 1), utc(2024, 9, 13)),  # day AND weekday, as NCrontab: Friday the 13th
    ("0 0 0 1 * Mon", utc(2024, 1, 1), utc(2024, 4, 1)),  # not "the 1st or any Monday" as Vixie cron has it
    ("0 0 12 * Jan,Jul Sun", utc(2024, 1, 1), utc(2024, 1, 7, 12)),
    ("0 0 0 29 Feb *", utc(2024, 3, 1), utc(2028, 2, 29)),
    ("0 0 0 29 Feb Mon", utc(2024, 1, 1), utc(2044, 2, 29)),
    ("0 0 0 31 * *", utc(2024, 1, 31), utc(2024, 3, 31)),  # months without a 31st are skipped
    ("10-20/5 0 0 * * *", utc(2024, 1, 1, 0, 0, 10), utc(2024, 1, 1, 0, 0, 15)),
    ("50-10 0 0 * * *", utc(2024, 1, 1), utc(2024, 1, 1, 0, 0, 10)),  # a reversed range is swapped: 10-50
    ("45/10 0 0 * * *", utc(2024, 1, 1, 0, 0, 46), utc(2024, 1, 1, 0, 0, 55)),  # 45 to 59 step 10
    ("*/0 * * * * *", utc(2024, 1, 1), utc(2024, 1, 1, 0, 0, 1)),  # step 0 counts as 1
    ("1,3,5 * * * * *", utc(2024, 1, 1, 0, 0, 3), utc(2024, 1, 1, 0, 0, 5)),
    ("0 0 0 * * *", utc(2024, 12, 31, 12), utc(2025, 1, 1)),
    ("0 0 0 1 1 *", utc(2024, 1, 1, 0, 0, 1), utc(2025, 1, 1)),
    ("  0  0 0 1 1 *  ", utc(2024, 1, 1, 0, 0, 1), utc(2025, 1, 1)),  # any whitespace between fields
]


@pytest.mark.parametrize(("expression", "moment", "expected"), OCCURRENCES)
def test_next_occurrence(expression: str, moment: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(expression).next_after(moment) == expected


def test_the_answer_is_in_the_zone_of_the_moment() -> None:
    paris = ZoneInfo("Europe/Paris")
    moment = datetime(2024, 1, 1, 8, 59, tzinfo=paris)
    assert CronSchedule.parse("0 0 9 * * *").next_after(moment) == datetime(2024, 1, 1, 9, tzinfo=paris)
    assert CronSchedule.parse("0 0 9 * * *").next_after(moment).tzinfo is paris


# Daylight saving: as the WebJobs CronSchedule does it, in America/New_York.
DST = [
    # The skipped hour: 02:30 does not exist on March 10 and fires at 03:30 new time, then daily at 02:30.
    ("0 30 2 * * *", (2024, 3, 10, 1, 0, 0), (2024, 3, 10, 7, 30)),
    ("0 30 2 * * *", (2024, 3, 10, 3, 30, 0), (2024, 3, 11, 6, 30)),
    ("0 */30 * * * *", (2024, 3, 10, 1, 45, 0), (2024, 3, 10, 7, 0)),  # 02:00 -> 03:00 EDT
    # The repeated hour: an interval schedule fires in both, a point-in-time one only in the first.
    ("0 */30 * * * *", (2024, 11, 3, 1, 45, 0), (2024, 11, 3, 6, 0)),  # 01:45 EDT -> 01:00 EST
    ("0 0 * * * *", (2024, 11, 3, 1, 0, 0), (2024, 11, 3, 6, 0)),  # 01:00 EDT -> 01:00 EST
    ("0 0 * * * *", (2024, 11, 3, 1, 0, 1), (2024, 11, 3, 7, 0)),  # 01:00 EST -> 02:00 EST
    ("0 30 1 * * *", (2024, 11, 3, 0, 0, 0), (2024, 11, 3, 5, 30)),  # 01:30 EDT
    ("0 30 1 * * *", (2024, 11, 3, 1, 30, 0), (2024, 11, 4, 6, 30)),  # not 01:30 EST: the next day
    ("0 30 1 * * *", (2024, 11, 3, 1, 0, 1), (2024, 11, 4, 6, 30)),  # started in EST: already ran in EDT
]


@pytest.mark.parametrize(("expression", "moment", "expected"), DST)
def test_daylight_saving(expression: str, moment: tuple[int, ...], expected: tuple[int, ...]) -> None:
    *fields, fold = moment
    start = datetime(*fields[:5], tzinfo=NEW_YORK, fold=fold)  # type: ignore[misc]
    found = CronSchedule.parse(expression).next_after(start)
    assert found.astimezone(UTC) == utc(*expected)
    assert found.tzinfo is NEW_YORK


def test_an_interval_schedule_runs_through_the_repeated_hour_once_each() -> None:
    schedule = CronSchedule.parse("0 0,30 * * * *")
    moment = datetime(2024, 11, 3, 0, 15, tzinfo=NEW_YORK)
    seen = []
    for _ in range(6):
        moment = schedule.next_after(moment)
        seen.append(moment.astimezone(UTC).strftime("%H:%M"))
    assert seen == ["04:30", "05:00", "05:30", "06:00", "06:30", "07:00"]  # 00:30 EDT ... 02:00 EST, each once


@pytest.mark.parametrize(
    ("expression", "often"),
    [("* * * * * *", True), ("*/30 * * * * *", True), ("0 * * * * *", False), ("* * * * *", False),
     ("0,59 * * * * *", True), ("00:00:59", True), ("00:01:00", False)],
)  # fmt: skip
def test_fires_often_is_more_than_once_in_the_next_minute(expression: str, often: bool) -> None:
    assert parse_schedule(expression).fires_often(utc(2024, 1, 1, 0, 0, 30)) is often


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("00:05:00", timedelta(minutes=5)),
        ("01:00", timedelta(hours=1)),
        ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("00:00:30.5", timedelta(seconds=30.5)),
        ("7", timedelta(days=7)),  # a bare number is days
        ("24:00:00", timedelta(days=24)),  # .NET's quirk: hours above 23 read as d:hh:mm, not one day
        ("25:00:00", timedelta(days=25)),
    ],
)
def test_timespan_schedules(expression: str, interval: timedelta) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.interval == interval
    assert schedule.next_after(utc(2024, 1, 1)) == utc(2024, 1, 1) + interval


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "timer schedule '' is invalid: must be an NCRONTAB expression"),
        ("0 0 * * *  * 2024", "has 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}) or 5"),
        ("* * * *", "timer schedule '* * * *' is invalid: an NCRONTAB expression has 6 fields"),
        ("* * * *", "or 5 without seconds, not 4"),
        ("61 * * * * *", "timer schedule '61 * * * * *' is invalid: second 61 is out of range: must be 0-59"),
        ("0 0 24 * * *", "hour 24 is out of range: must be 0-23"),
        ("0 0 0 0 * *", "day 0 is out of range: must be 1-31"),
        ("0 0 0 * 13 *", "month 13 is out of range: must be 1-12"),
        ("0 0 0 * * 7", "day-of-week 7 is out of range: must be 0-6"),
        ("0 0 0 * Foo *", "month 'Foo' is invalid: must be a number or a name (January, February"),
        ("0 0 0 * * Mo-Fx", "day-of-week 'Fx' is invalid"),
        ("x * * * * *", "second 'x' is invalid: must be a number"),
        ("*/x * * * * *", "second step 'x' is invalid: must be digits"),
        ("1,,2 * * * * *", "second '' is invalid"),
        ("-1 * * * * *", "second '-1' is invalid"),
        ("0 0 0 30 Feb *", "timer schedule '0 0 0 30 Feb *' never occurs"),
        ("0 0 0 31 Apr,Jun *", "never occurs"),
        ("-00:05:00", "or a positive TimeSpan '[d.]hh:mm[:ss]'"),
        ("00:00:00", "or a positive TimeSpan"),
        ("00:60:00", "or a positive TimeSpan"),
        ("every minute", "timer schedule 'every minute' is invalid: an NCRONTAB expression has 6 fields"),
        ("soon", "timer schedule 'soon' is invalid: must be an NCRONTAB expression"),
    ],
)
def test_invalid_schedules_name_the_expression_and_the_rule(expression: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_schedule(expression)
    assert message in str(raised.value)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="must carry a time zone"):
        CronSchedule.parse("* * * * * *").next_after(datetime(2024, 1, 1))


# Hypothesis: random fields against a brute-force reference that knows nothing of the parser's shortcuts.
def field(low: int, high: int) -> st.SearchStrategy[tuple[str, frozenset[int]]]:
    values = st.integers(low, high)
    single = values.map(lambda v: (str(v), frozenset({v})))
    star = st.integers(1, high - low + 1).map(
        lambda step: (f"*/{step}", frozenset(range(low, high + 1, step))) if step > 1 else ("*", frozenset())
    )
    span = st.tuples(values, values, st.integers(1, 7)).map(
        lambda t: (f"{t[0]}-{t[1]}/{t[2]}", frozenset(range(min(t[:2]), max(t[:2]) + 1, t[2])))
    )
    part = st.one_of(single, star, span)
    return st.lists(part, min_size=1, max_size=3).map(
        lambda parts: (",".join(p[0] for p in parts), frozenset().union(*(p[1] or range(low, high + 1) for p in parts)))
    )


FIELDS = st.tuples(field(0, 59), field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6))


def reference_next(sets: list[frozenset[int]], moment: datetime) -> datetime | None:
    seconds, minutes, hours, days, months, weekdays = sets
    start = moment.replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
    for offset in range(3 * 366):
        day = start.date() + timedelta(days=offset)
        if day.day in days and day.month in months and (day.weekday() + 1) % 7 in weekdays:
            times = [time(h, m, s) for h, m, s in itertools.product(hours, minutes, seconds)]
            later = [t for t in times if day != start.date() or t >= start.time()]
            if later:
                return datetime.combine(day, min(later), tzinfo=UTC)
    return None


@given(FIELDS, st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
def test_next_occurrence_matches_a_brute_force_search(
    fields: tuple[tuple[str, frozenset[int]], ...], moment: datetime
) -> None:
    expression = " ".join(text for text, _ in fields)
    moment = moment.replace(tzinfo=UTC)
    expected = reference_next([values for _, values in fields], moment)
    assume(expected is not None)  # sparse schedules beyond the reference's three-year horizon
    assert CronSchedule.parse(expression).next_after(moment) == expected


@given(st.sampled_from(["0 */7 * * * *", "*/20 * * * * *", "0 0 */3 * * *", "0 30 1 * * *", "0 0 2 * * Sun"]),
       st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31)))  # fmt: skip
def test_occurrences_increase_in_a_zone_with_daylight_saving(expression: str, start: datetime) -> None:
    schedule = CronSchedule.parse(expression)
    moment = start.replace(tzinfo=NEW_YORK)
    for _ in range(5):
        found = schedule.next_after(moment)
        assert found.astimezone(UTC) > moment.astimezone(UTC)
        moment = found


def test_names_every_field_of_a_valid_expression() -> None:
    schedule = CronSchedule.parse("0 15 10 * Jan-Mar Mon")
    assert (schedule.seconds, schedule.minutes, schedule.hours) == ((0,), (15,), (10,))
    assert schedule.months == {1, 2, 3} and schedule.weekdays == {1} and len(schedule.days) == 31
    assert not schedule.is_interval and CronSchedule.parse("0 */5 * * * *").is_interval
    assert repr(schedule) == "CronSchedule('0 15 10 * Jan-Mar Mon')"
    assert date(2024, 1, 1).isoweekday() == 1  # the tables above assume 2024-01-01 is a Monday
