"""DateTime text as Newtonsoft writes it, with the 100-ns tick a Python datetime cannot hold."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given

from durable_storage._datetimes import DotNetDateTime, extra_ticks, format_datetime, parse_datetime, to_utc
from tests.strategies import datetimes, offsets

PDT = timezone(timedelta(hours=-7))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2023-03-24T20:53:05.9093518Z", DotNetDateTime(2023, 3, 24, 20, 53, 5, 909351, timezone.utc, extra_ticks=8)),
        ("2018-04-13T01:24:59.931852Z", datetime(2018, 4, 13, 1, 24, 59, 931852, timezone.utc)),
        ("2016-04-05T17:18:40.9632Z", datetime(2016, 4, 5, 17, 18, 40, 963200, timezone.utc)),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=timezone.utc)),
        ("2018-04-13T14:45:41.1620057-07:00", DotNetDateTime(2018, 4, 13, 14, 45, 41, 162005, PDT, extra_ticks=7)),
        ("2024-01-01T08:30:00", datetime(2024, 1, 1, 8, 30)),
        ("0001-01-01T00:00:00", datetime.min),
        ("9999-12-31T23:59:59.9999999Z", DotNetDateTime(9999, 12, 31, 23, 59, 59, 999999, timezone.utc, extra_ticks=9)),
    ],
    ids=["7-digits", "6-digits", "trimmed", "whole-second", "local", "unspecified", "min", "max"],
)
def test_real_dotnet_datetimes_read_and_write_back_unchanged(text: str, value: datetime) -> None:
    parsed = parse_datetime(text)

    assert parsed == value
    assert parsed.utcoffset() == value.utcoffset()
    assert extra_ticks(parsed) == extra_ticks(value)
    assert format_datetime(parsed) == text


def test_a_local_time_at_utc_plus_zero_keeps_its_offset_rather_than_becoming_z() -> None:
    assert format_datetime(parse_datetime("2024-01-01T00:00:00+00:00")) == "2024-01-01T00:00:00+00:00"


def test_a_datetimeoffset_always_writes_its_offset() -> None:
    # The StartTime values of a serialized trace context look like this (serializable-trace-context-w3c.json).
    assert format_datetime(parse_datetime("2019-05-03T23:43:27.6728211+00:00"), offset=True) == (
        "2019-05-03T23:43:27.6728211+00:00"
    )
    assert format_datetime(datetime(2024, 1, 1, tzinfo=timezone.utc), offset=True) == "2024-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-01-01", "must be yyyy-MM-ddTHH:mm:ss"),
        ("2024-01-01 00:00:00Z", "must be yyyy-MM-ddTHH:mm:ss"),
        ("2024-01-01T00:00:00.12345678Z", "must be yyyy-MM-ddTHH:mm:ss"),  # .NET writes at most 7 digits
        ("\uff12\uff10\uff12\uff14-01-01T00:00:00", "must be yyyy-MM-ddTHH:mm:ss"),  # full-width digits
        ("2024-02-30T00:00:00Z", "day is out of range"),
    ],
)
def test_other_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_datetime(text)


def test_an_offset_with_seconds_cannot_be_written() -> None:
    odd = datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30)))

    with pytest.raises(ValueError, match="whole minutes"):
        format_datetime(odd)


def test_the_extra_tick_is_kept_by_utc_conversion_copy_and_pickle_but_not_compared() -> None:
    local = DotNetDateTime(2024, 1, 1, 1, 0, 0, 5, PDT, extra_ticks=3)

    assert extra_ticks(to_utc(local)) == 3
    assert to_utc(local) == datetime(2024, 1, 1, 8, 0, 0, 5, timezone.utc)
    assert extra_ticks(copy.deepcopy(local)) == 3
    assert extra_ticks(pickle.loads(pickle.dumps(local))) == 3
    assert "extra_ticks=3" in repr(local)


def test_a_naive_value_is_taken_as_utc() -> None:
    assert to_utc(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_extra_ticks_must_be_below_a_microsecond() -> None:
    with pytest.raises(ValueError, match="must be 0-9"):
        DotNetDateTime(2024, 1, 1, extra_ticks=10)


@given(datetimes(offsets))
def test_any_datetime_survives_format_and_parse(value: datetime) -> None:
    parsed = parse_datetime(format_datetime(value))

    assert (parsed, parsed.utcoffset(), extra_ticks(parsed)) == (value, value.utcoffset(), extra_ticks(value))
