"""Type and range checks of settings, shared by every options class and the client's arguments; pure.

Each error is a :class:`~durable_storage.errors.ConfigurationError` naming the setting, its value and the range it
must fall in, raised before anything is contacted. ``True`` is no number of seconds, ``'10'`` no integer, and
``inf`` or ``nan`` no duration: an infinite lease or polling interval would let a worker say "running" and never
do anything (issue 17 item 7), so every number must also be finite and inside its range.
"""

from __future__ import annotations

import math
import reprlib
import sys
from datetime import timedelta
from typing import TypeVar

from durable_storage.errors import ConfigurationError

__all__ = ["check_duration", "check_instance", "check_int", "check_number", "check_seconds", "show"]

T = TypeVar("T")

_SHOWN = 60


def show(value: object) -> str:
    """``repr(value)`` cut to 60 characters, for error messages (a hostile value may be megabytes long)."""
    try:
        text = repr(value)
    except RecursionError:  # a value nested thousands deep: reprlib stops after a few levels
        text = reprlib.repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _rule(low: float, high: float | None, *, above: bool) -> str:
    start = f"greater than {low:g}" if above else f"at least {low:g}"
    if high is None:
        return start
    return f"{start} and at most {high:g}" if above else f"{low:g} to {high:g}"


def check_int(value: object, what: str, *, low: int, high: int | None = None) -> int:
    """``value`` if it is an int (not a bool) from ``low`` to ``high`` (no upper bound when None)."""
    if isinstance(value, bool) or not isinstance(value, int) or not _inside(value, low, high, above=False):
        rule = _rule(low, high, above=False)
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be an integer, {rule}")
    return value


def check_number(
    value: object, what: str, *, unit: str, low: float = 0.0, high: float | None, above: bool = False
) -> float:
    """``value`` as a float if it is a finite int or float (not a bool) in the range.

    Args:
        value: the setting's value.
        what: the setting's name, as the caller spells it.
        unit: what the number counts, for the message (``seconds``, ``USD``).
        low: the smallest value allowed (excluded when ``above``).
        high: the largest value allowed, or None for no upper bound (infinity is refused all the same).
        above: True when ``low`` itself is not allowed.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _inside(value, low, high, above=above):
        rule = _rule(low, high, above=above)
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be a finite number of {unit}, {rule}")
    return float(value)


def check_seconds(value: object, what: str, *, low: float = 0.0, high: float | None, above: bool = False) -> float:
    """``value`` as a float if it is a finite number of seconds in the range (see :func:`check_number`)."""
    return check_number(value, what, unit="seconds", low=low, high=high, above=above)


def _inside(value: float, low: float, high: float | None, *, above: bool) -> bool:
    # NaN compares False with everything, so it is refused by the isfinite test, not by the comparisons; an int
    # is always finite (and math.isfinite would overflow on a huge one).
    if (isinstance(value, float) and not math.isfinite(value)) or value < low or (above and value == low):
        return False
    return value <= (sys.float_info.max if high is None else high)


def check_duration(value: object, what: str, *, low: timedelta, high: timedelta, above: bool = False) -> timedelta:
    """``value`` if it is a ``timedelta`` in the range (``low`` excluded when ``above``)."""
    if not isinstance(value, timedelta) or value < low or (above and value == low) or value > high:
        start = f"longer than {low}" if above else f"at least {low}"
        raise ConfigurationError(f"{what} {show(value)} is invalid: must be a timedelta {start} and at most {high}")
    return value


def check_instance(value: object, what: str, kind: type[T], *, optional: bool = False) -> T | None:
    """``value`` if it is a ``kind`` (or None when ``optional``): an options object passed where one belongs."""
    if (value is None and optional) or isinstance(value, kind):
        return value
    allowed = f"a {kind.__name__} or None" if optional else f"a {kind.__name__}"
    raise ConfigurationError(f"{what} {show(value)} is invalid: must be {allowed}")
