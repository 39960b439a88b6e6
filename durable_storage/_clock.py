"""Wall-clock time, and the clock a task hub reads it from, so that tests can skew one (reliability.md §5.1, T11).

Every wall-clock read of a task hub's client, worker and storage layer goes through its ``clock`` (``TaskHub(...,
clock=...)``, :func:`utcnow` by default): the timestamps in History events, the times in the Instances table, a
lease row's ``ExpiresAt``, a timer's ``FireAt``. Durations and deadlines inside one process use
``time.monotonic()`` and are never skewed.

Machines' clocks differ, so no decision compares this clock with a time another process wrote:

- a lease counts as expired when its row has not changed for a lease interval of our own monotonic time (or when
  its ``ExpiresAt`` is further in the past than any plausible skew), never by ``ExpiresAt`` alone;
- a timer message that surfaces before its ``FireAt`` by our clock is hidden again only when the queue's own
  (server) time agrees that it is early;
- out-of-order and duplicate screening compares IDs, never times.

A :class:`SkewedClock` is the machine's clock shifted by a fixed amount: a fault test gives one to a hub (or a
worker process gets one from ``durable-storage worker --clock-skew SECONDS``) to play a machine whose clock is off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from durable_storage.errors import ConfigurationError

__all__ = ["MAX_SKEW_SECONDS", "Clock", "SkewedClock", "utcnow"]

Clock = Callable[[], datetime]
"""What a hub reads the wall clock from: a function returning the current UTC time, timezone-aware."""
MAX_SKEW_SECONDS = 86_400.0
"""The largest skew a :class:`SkewedClock` takes: a day is already far past what any lease or timer tolerates."""


def utcnow() -> datetime:
    """The machine's current UTC time, timezone-aware."""
    return datetime.now(timezone.utc)


class SkewedClock:
    """The machine's UTC clock shifted by ``seconds`` (may be negative or fractional), as a :data:`Clock`.

    Raises:
        ConfigurationError: ``seconds`` is not a finite number within a day.
    """

    __slots__ = ("skew",)

    def __init__(self, seconds: float) -> None:
        is_number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
        if not is_number or not math.isfinite(seconds) or abs(seconds) > MAX_SKEW_SECONDS:
            raise ConfigurationError(
                f"clock skew {seconds!r} is invalid: must be a number of seconds between -86400 and 86400"
            )
        self.skew = timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return utcnow() + self.skew

    def __repr__(self) -> str:
        return f"SkewedClock({self.skew.total_seconds():g})"
