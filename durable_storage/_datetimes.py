"""DateTime values as .NET writes them: Newtonsoft's round-trip text, and the 100-ns tick Python cannot hold; pure.

.NET keeps time in 100-ns ticks, Python in microseconds. A timestamp such as ``2023-03-24T20:53:05.9093518Z`` has a
seventh fractional digit that a plain :class:`~datetime.datetime` would drop, so the History rows and messages we
write back would differ from the ones .NET wrote. :class:`DotNetDateTime` carries that digit.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "STORABLE_MAX",
    "STORABLE_MIN",
    "STORABLE_RANGE",
    "DotNetDateTime",
    "clamp_storable",
    "extra_ticks",
    "format_datetime",
    "is_storable",
    "parse_datetime",
    "to_utc",
]

# Newtonsoft's DateTimeZoneHandling.RoundtripKind output; the fraction has 1-7 digits (history-event-fields.md §1).
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)
# A DateTime of kind Local in a zone at UTC+0 is written "+00:00", not "Z": a named zone keeps that apart from UTC.
_ZERO_OFFSET_NAME = "+00:00"
_ZERO_OFFSET = timezone(timedelta(0), _ZERO_OFFSET_NAME)

# An Azure Table Edm.DateTime holds 1601-01-01 to 9999-12-31 UTC; the service refuses anything earlier, and the table
# SDK writes a year below 1000 without its leading zeros (strftime's %Y), a row that no reader can parse again.
STORABLE_MIN = datetime(1601, 1, 1, tzinfo=timezone.utc)
"""The earliest time a table (and so any of our rows) can hold."""
STORABLE_MAX = datetime.max.replace(tzinfo=timezone.utc)
"""The latest time a table can hold that Python can represent."""
STORABLE_RANGE = "1601-01-01T00:00:00Z to 9999-12-31T23:59:59Z (UTC), the range of an Azure Table DateTime"


class DotNetDateTime(datetime):
    """A datetime that also keeps .NET's seventh fractional digit: ``extra_ticks`` 100-ns ticks (0-9).

    Arithmetic and ``replace`` return values without the extra ticks, as they cannot know them; comparison ignores
    them, so a DotNetDateTime equals the plain datetime with the same microseconds.
    """

    extra_ticks: int = 0  # a class default, because datetime's C methods build subclasses without calling __new__

    def __new__(cls, *args: Any, extra_ticks: int = 0, **kwargs: Any) -> DotNetDateTime:
        if not 0 <= extra_ticks <= 9:
            raise ValueError(f"extra_ticks {extra_ticks!r} is invalid: must be 0-9 (100-ns ticks below a microsecond)")
        value = super().__new__(cls, *args, **kwargs)
        value.extra_ticks = extra_ticks
        return value

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, extra_ticks={self.extra_ticks})"

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # copy and pickle would otherwise rebuild through datetime's own state and lose the tick.
        return (_rebuild, (datetime.__reduce_ex__(self, protocol)[1], self.extra_ticks))


def _rebuild(state: tuple[Any, ...], ticks: int) -> DotNetDateTime:
    return DotNetDateTime(*state, extra_ticks=ticks)


def extra_ticks(value: datetime) -> int:
    """The 100-ns ticks below the microsecond that ``value`` carries (0 for a plain datetime)."""
    return value.extra_ticks if isinstance(value, DotNetDateTime) else 0


def _with_ticks(value: datetime, ticks: int) -> datetime:
    if ticks == 0:
        return value if type(value) is datetime else _plain(value)
    return DotNetDateTime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        value.tzinfo,
        extra_ticks=ticks,
    )


def _plain(value: datetime) -> datetime:
    fields = (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
    return datetime(*fields, tzinfo=value.tzinfo)


def assume_utc(value: datetime) -> datetime:
    """``value`` timezone-aware, its offset kept; a naive value is taken to be UTC (as the tables show times)."""
    return value.replace(tzinfo=timezone.utc) if value.utcoffset() is None else value


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already (as .NET writes and reads it)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def plain_utc(value: datetime) -> datetime:
    """:func:`as_utc` as a plain ``datetime``, without extra ticks: what user code sees.

    A storage SDK's subclass (or our tick-keeping one) would leak into user code, and str() and strftime() would
    differ with the source a value came from.
    """
    v = as_utc(value)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=timezone.utc)


def utc_seconds_text(value: datetime) -> str:
    """``value`` in UTC to the whole second, ``2024-05-01T12:00:00Z``: .NET's ``ToString("s") + "Z"``."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime, keeping its extra ticks; a naive value is taken to be UTC already."""
    return _with_ticks(as_utc(value), extra_ticks(value))


def is_storable(value: datetime) -> bool:
    """True when a table can hold ``value`` (a naive value counts as UTC); compared without converting, so an offset
    that would carry the UTC time past year 1 or 9999 cannot overflow."""
    aware = assume_utc(value)
    return STORABLE_MIN <= aware <= STORABLE_MAX


def clamp_storable(value: datetime) -> datetime:
    """``value`` in UTC, moved into the storable range: a query bound that matches exactly the rows it matched."""
    aware = assume_utc(value)
    if aware < STORABLE_MIN:
        return STORABLE_MIN
    if aware > STORABLE_MAX:
        return STORABLE_MAX
    return to_utc(value)


def parse_datetime(text: str) -> datetime:
    """Read a .NET DateTime or DateTimeOffset text: ``Z`` gives UTC, ``+hh:mm`` that offset, no suffix a naive value.

    Raises:
        ValueError: ``text`` is not ``yyyy-MM-ddTHH:mm:ss[.f{1,7}][Z|±hh:mm]`` or names an impossible date.
    """
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"datetime {text!r} is invalid: must be yyyy-MM-ddTHH:mm:ss[.fffffff][Z|+hh:mm]")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = int((match[7] or "").ljust(7, "0"))
    value = datetime(year, month, day, hour, minute, second, fraction // 10, _zone(match[8]))
    return _with_ticks(value, fraction % 10)


def _zone(suffix: str | None) -> timezone | None:
    if suffix is None:
        return None
    if suffix == "Z":
        return timezone.utc
    if suffix in (_ZERO_OFFSET_NAME, "-00:00"):
        return _ZERO_OFFSET
    sign = -1 if suffix[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(suffix[1:3]), minutes=int(suffix[4:6])))


def format_datetime(value: datetime, *, offset: bool = False) -> str:
    """Write ``value`` as Newtonsoft does (history-event-fields.md §1).

    The fraction has at most 7 digits with trailing zeros removed, and none when it is zero. A DateTime
    (``offset=False``) ends with ``Z`` for UTC, ``+hh:mm`` for another offset and nothing when naive; a DateTimeOffset
    (``offset=True``) always ends with ``+hh:mm``.

    Raises:
        ValueError: the UTC offset has seconds, which .NET cannot write.
    """
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    fraction = value.microsecond * 10 + extra_ticks(value)
    if fraction:
        text += "." + f"{fraction:07d}".rstrip("0")
    return text + _suffix(value, offset=offset)


def _suffix(value: datetime, *, offset: bool) -> str:
    delta = value.utcoffset()
    if delta is None:
        return "+00:00" if offset else ""
    if not delta and not offset and value.tzname() != _ZERO_OFFSET_NAME:
        return "Z"
    if delta % timedelta(minutes=1):
        raise ValueError(f"UTC offset {delta} of {value.isoformat()} is invalid: .NET offsets are whole minutes")
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
