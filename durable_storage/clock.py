"""Wall-clock time, read in one place so that fault tests can skew a process's clock (reliability.md §5.1, T11).

Every wall-clock read of the library goes through :func:`utcnow`: the timestamps in History events, the times in
the Instances table, a lease row's ``ExpiresAt``, a timer's ``FireAt``. Durations and deadlines inside one process
use ``time.monotonic()`` and are never skewed.

Machines' clocks differ, so no decision compares this clock with a time another process wrote:

- a lease counts as expired when its row has not changed for a lease interval of our own monotonic time (or when
  its ``ExpiresAt`` is further in the past than any plausible skew), never by ``ExpiresAt`` alone;
- a timer message that surfaces before its ``FireAt`` by our clock is hidden again only when the queue's own
  (server) time agrees that it is early;
- out-of-order and duplicate screening compares IDs, never times.

``DS_CLOCK_SKEW_S`` (test-only, seconds, may be negative or fractional) shifts this process's wall clock; it is read
once, at the first call. :func:`set_skew` does the same for in-process tests.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta, timezone

from durable_storage.errors import ConfigurationError

__all__ = ["CLOCK_SKEW_VARIABLE", "set_skew", "skew", "utcnow"]

CLOCK_SKEW_VARIABLE = "DS_CLOCK_SKEW_S"

_skew: timedelta | None = None


def _from_environment() -> timedelta:
    raw = os.environ.get(CLOCK_SKEW_VARIABLE, "").strip()
    if not raw:
        return timedelta(0)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or abs(seconds) > 86_400:
        raise ConfigurationError(
            f"{CLOCK_SKEW_VARIABLE}={raw!r} is invalid: must be a number of seconds between -86400 and 86400"
        )
    return timedelta(seconds=seconds)


def skew() -> timedelta:
    """How far this process's wall clock is shifted from the machine's (zero unless a test asked)."""
    global _skew
    if _skew is None:
        _skew = _from_environment()
    return _skew


def set_skew(seconds: float) -> None:
    """Shift this process's wall clock by ``seconds`` from now on (tests only)."""
    if not math.isfinite(seconds):
        raise ConfigurationError(f"clock skew {seconds!r} is invalid: must be a finite number of seconds")
    global _skew
    _skew = timedelta(seconds=seconds)


def utcnow() -> datetime:
    """The current UTC time as this process sees it: timezone-aware, shifted by :func:`skew`."""
    return datetime.now(timezone.utc) + skew()
