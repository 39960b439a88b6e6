"""Worker settings: concurrency, visibility, polling and leases (storage-layout.md §10 defaults where they fit)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from durable_storage._settings import check_instance, check_int, check_seconds, show
from durable_storage.errors import ConfigurationError
from durable_storage.replay import ReplayOptions

__all__ = ["WorkerOptions"]


def _default_worker_id() -> str:
    # Unique per process: two workers on one machine never share a lease identity (storage-layout.md §10 WorkerId).
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


_WEEK = 7 * 24 * 3600.0
# The most of each count; more would only exhaust threads, memory or the patience of a poisoned message.
_COUNTS = {"max_concurrent_activities": 10_000, "max_concurrent_orchestrations": 100_000, "max_dequeue_count": 1000}
# (low, high, low excluded) of each timing in seconds. Every one is finite and bounded: an infinite lease or
# polling interval lets a worker report "running" and never take or renew a partition.
_SECONDS: dict[str, tuple[float, float, bool]] = {
    # Azure queues hide a received message for at most 7 days.
    "control_queue_visibility": (1.0, _WEEK, False),
    "work_item_visibility": (1.0, _WEEK, False),
    "max_polling_interval": (0.0, 600.0, True),
    "min_polling_interval": (0.0, 600.0, True),
    # A crashed worker's partitions wait out its lease: an hour is already a long outage.
    "lease_interval": (1.0, 3600.0, False),
    "lease_renew_interval": (0.0, 3600.0, True),
    "drain_timeout": (0.0, 600.0, True),
    "max_clock_skew": (0.0, 86_400.0, False),
    "http_timeout": (0.0, 86_400.0, True),
    # An hour of replay is no replay: a deadline that long only delays noticing code that never returns.
    "replay_deadline": (0.0, 3600.0, True),
}


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    """How a worker dispatches.

    Attributes:
        worker_id: this process's identity in the Partitions table.
        max_concurrent_activities: activities run at once (a bounded thread pool runs the plain-function ones).
        max_concurrent_orchestrations: orchestration episodes run at once.
        control_queue_visibility: seconds a received control message stays hidden, renewed while it waits for or
            runs in its episode: the longest a killed worker's orchestration messages stay out of reach.
        work_item_visibility: seconds a received activity message stays hidden, renewed while the activity runs:
            the longest a killed worker's activities stay out of reach.
        max_polling_interval: the longest an idle queue waits between polls (seconds).
        min_polling_interval: the first wait after a queue turns empty (seconds).
        lease_interval: how long a partition lease lasts without renewal (seconds).
        lease_renew_interval: how often leases are renewed, free partitions claimed and the load balanced
            (seconds); a steal request or a release is followed up every second instead.
        max_dequeue_count: a message received more often than this without being completed goes to the
            quarantine, and the instance it was for fails (an activity's orchestration gets a TaskFailed).
        drain_timeout: the longest a partition handed to another worker (or released at shutdown) waits for its
            running episodes before it is released anyway (seconds).
        max_clock_skew: the largest difference between two workers' clocks to tolerate (seconds). Another
            worker's lease counts as expired once its row has not changed for ``lease_interval`` of this worker's
            own time, or once its ``ExpiresAt`` is more than this far in the past.
        http_timeout: seconds a ``context.call_http`` request may take when it names no timeout of its own (100,
            as .NET's HttpClient under Durable Functions); then its task fails.
        replay_deadline: the longest one replay of an orchestrator, or one batch of an entity's operations, may
            run (seconds; 5, where a 10,000-event history replays in under 0.1 s). Code that runs longer loops or
            blocks (``time.sleep``, ``input()``, a lock): the orchestration fails with a ``ReplayDeadlineError``
            naming the orchestrator, the instance and this setting (its parent is told), or each operation of the
            entity's batch fails with it and the entity's state stays as it was. Its thread is abandoned (asked to
            stop, left as a daemon) and a fresh one replays the others, so they keep their latency; at most 32
            abandoned threads may be alive at once, after which replays wait for one to end (logged at ERROR).
        replay: limits of the replay engine (timer lengths).
    """

    worker_id: str = field(default_factory=_default_worker_id)
    max_concurrent_activities: int = 10
    max_concurrent_orchestrations: int = 100
    # Short, and renewed at half time while held: a killed worker's messages surface within 30 s, its leases
    # expire within 30-50 s, so everything it held resumes elsewhere within a minute (the .NET provider: 5 minutes).
    control_queue_visibility: float = 30.0
    work_item_visibility: float = 30.0
    max_polling_interval: float = 1.0
    min_polling_interval: float = 0.05
    lease_interval: float = 30.0
    lease_renew_interval: float = 10.0
    drain_timeout: float = 60.0
    max_dequeue_count: int = 10
    max_clock_skew: float = 300.0
    http_timeout: float = 100.0
    replay_deadline: float = 5.0
    replay: ReplayOptions = field(default_factory=ReplayOptions)

    def __post_init__(self) -> None:
        if not self.worker_id or not isinstance(self.worker_id, str):
            raise ConfigurationError(f"worker_id {show(self.worker_id)} is invalid: must be a non-empty string")
        for name, most in _COUNTS.items():
            check_int(getattr(self, name), name, low=1, high=most)
        for name, (low, high, above) in _SECONDS.items():
            check_seconds(getattr(self, name), name, low=low, high=high, above=above)
        # The relations between settings, once each is known to be a number in its own range.
        check_seconds(self.min_polling_interval, "min_polling_interval", high=self.max_polling_interval, above=True)
        if self.lease_renew_interval >= self.lease_interval:
            raise ConfigurationError(
                f"lease_renew_interval {self.lease_renew_interval!r} is invalid: must be shorter than "
                f"lease_interval ({self.lease_interval!r})"
            )
        check_instance(self.replay, "replay", ReplayOptions)
