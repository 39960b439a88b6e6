"""Polling back-off for idle queues (storage-layout.md §11, with our faster bounds).

After a poll finds nothing the wait grows from ``minimum`` to ``maximum`` (doubling, with ±20 % jitter so that many
workers spread out); any message, or a local send to the queue, resets it so the next poll is immediate.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

__all__ = ["Backoff"]


class Backoff:
    """One queue's idle back-off; :meth:`wake` cuts a running wait short."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._current = 0.0
        self._woken = asyncio.Event()

    @property
    def interval(self) -> float:
        """The wait after the next empty poll (seconds); ``maximum`` once the queue has been idle a while."""
        return self._current

    def reset(self) -> None:
        """A poll found work: poll again at once."""
        self._current = 0.0

    def wake(self) -> None:
        """Something was sent to the queue: end the current wait and poll now."""
        self._current = 0.0
        self._woken.set()

    async def wait(self) -> None:
        """Wait after an empty poll, then lengthen the next wait."""
        # Even the first empty poll waits ``minimum``: polling again at once finds the queue empty again (one
        # wasted request per batch at load), and a message sent by this process wakes the wait anyway.
        delay = max(self._current, self.minimum)
        self._current = min(self.maximum, max(self.minimum, self._current * 2) * random.uniform(0.8, 1.2))
        if not self._woken.is_set():
            # A wake that came while the last poll was in flight is kept, not cleared: that poll may have missed
            # the message, so the next one goes out at once.
            with contextlib.suppress(asyncio.TimeoutError):  # asyncio's own on Python 3.10
                await asyncio.wait_for(self._woken.wait(), delay)
        self._woken.clear()
