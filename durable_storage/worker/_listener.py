"""The dequeue loop's state for one owned control queue, and how long it lets messages gather before a receive."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

from durable_storage.worker._polling import Backoff

__all__ = ["Listener"]

_BUSY_SESSIONS = 4  # instances with an episode in progress from which on a dequeue loop lingers before receiving
# A busy dequeue loop waits before each receive: 50 ms at first, up to 500 ms while receives come back thin (fewer
# than 8 messages), shorter again after full ones, and never more than 20 ms per instance it already has in hand (so
# the wait stays a fraction of the time the work in hand takes: at moderate load a hop waits a little, not 500 ms).
_MIN_LINGER = 0.05
_MAX_LINGER = 0.5
_LINGER_PER_SESSION = 0.02
_FEW_MESSAGES = 8
_MANY_MESSAGES = 24


@dataclass(eq=False)
class Listener:
    """The dequeue loop of one owned control queue."""

    queue: str
    valid_until: float  # time.monotonic() past which our lease may have expired (someone else may own the queue)
    backoff: Backoff
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    last_poll: float = field(default_factory=time.monotonic)
    last_dequeue: datetime | None = None
    linger: float = _MIN_LINGER

    def linger_for(self, in_hand: int) -> float:
        """How long to wait before the next receive, with ``in_hand`` instances busy (0: receive at once)."""
        if in_hand < _BUSY_SESSIONS:
            return 0.0
        return min(self.linger, _LINGER_PER_SESSION * in_hand)

    def adapt(self, received: int) -> None:
        """Under load, aim each receive at a batch: linger longer after a thin one, shorter after a full one."""
        if received < _FEW_MESSAGES:
            self.linger = min(_MAX_LINGER, self.linger * 1.5)
        elif received >= _MANY_MESSAGES:
            self.linger = max(_MIN_LINGER, self.linger / 2)

    @property
    def idle(self) -> float:
        """Seconds since the loop last went round."""
        return time.monotonic() - self.last_poll
