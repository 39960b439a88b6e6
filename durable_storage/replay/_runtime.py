"""What the context and tasks may ask of the replay engine: one narrow protocol; pure.

The context and the tasks never touch the engine's state. They see a :class:`ReplayRuntime` (as temporalio's
workflow context sees its instance only through one abstract runtime): the execution's identity and input, the
replay-safe time, the limits, and a few operations that give tasks their sequence ids. The engine implements it;
so can a test.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from durable_storage._settings import check_duration
from durable_storage.history import ExecutionStartedEvent, HistoryEvent

if TYPE_CHECKING:
    from durable_storage.replay._locks import CriticalSection
    from durable_storage.replay._tasks import AtomicTask, ExternalEventTask

__all__ = ["ExecutionInfo", "ReplayOptions", "ReplayRuntime"]

_REQUEST_NAMESPACE = "durable-storage-entity-request"
_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayOptions:
    """Limits the runtime imposes on orchestrations.

    Attributes:
        max_timer_duration: the longest single timer; longer ones become chains of sub-timers. Azure queues delay
            a message at most 7 days; Durable Functions uses 6.
        long_timer_interval: the length of each sub-timer of a long timer (Durable Functions: 3 days).
    """

    max_timer_duration: timedelta = timedelta(days=6)
    long_timer_interval: timedelta = timedelta(days=3)

    def __post_init__(self) -> None:
        # A timer longer than 7 days could never be scheduled: Azure queues delay a message at most that long.
        check_duration(self.max_timer_duration, "max_timer_duration", low=timedelta(0), high=_WEEK, above=True)
        check_duration(
            self.long_timer_interval, "long_timer_interval", low=timedelta(0), high=self.max_timer_duration, above=True
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionInfo:
    """Who this execution is and what it was started with (from its ExecutionStarted event).

    Attributes:
        instance_id: the orchestration's instance ID.
        execution_id: this execution's ID; None before ExecutionStarted is seen.
        parent_instance_id: the parent orchestration of a sub-orchestration, else None.
        version: the version the execution was started with.
        input: the input as JSON text.
    """

    instance_id: str
    execution_id: str | None = None
    parent_instance_id: str | None = None
    version: str | None = None
    input: str | None = None

    @classmethod
    def started(cls, instance_id: str, event: ExecutionStartedEvent) -> ExecutionInfo:
        """The execution ``event`` starts."""
        parent = event.parent_instance
        return cls(
            instance_id=instance_id,
            execution_id=event.orchestration_instance.execution_id,
            parent_instance_id=parent.orchestration_instance.instance_id if parent is not None else None,
            version=event.version,
            input=event.input,
        )

    def request_id(self, sequence_id: int) -> str:
        """A deterministic id for an entity request: the same on every replay, unique per execution and action."""
        name = f"{_REQUEST_NAMESPACE}/{self.instance_id}/{self.execution_id}/{sequence_id}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


class ReplayRuntime(Protocol):
    """The engine, as the context and the tasks see it."""

    @property
    def execution(self) -> ExecutionInfo:
        """The identity and input of the execution being replayed."""
        ...

    @property
    def input_type(self) -> type | None:
        """The type the orchestrator declared for its input (``orchestration_trigger(input_type=...)``), if any."""
        ...

    @property
    def current_utc_datetime(self) -> datetime:
        """The replay-safe time: the latest OrchestratorStarted timestamp seen."""
        ...

    @property
    def is_replaying(self) -> bool:
        """True while the code runs over events it has already seen in an earlier episode."""
        ...

    @property
    def options(self) -> ReplayOptions:
        """The timer limits."""
        ...

    @property
    def history(self) -> Sequence[HistoryEvent]:
        """Every event this replay runs over."""
        ...

    @property
    def locks(self) -> CriticalSection:
        """The entity locks this execution holds; the engine releases them when the execution ends."""
        ...

    def schedule(self, task: AtomicTask) -> None:
        """Give ``task`` the next sequence id and record its action; its result completes it later."""
        ...

    def wait_for_event(self, task: ExternalEventTask) -> None:
        """Make ``task`` wait for its external event; one that arrived earlier completes it at once."""
        ...

    def continue_as_new(self, new_input: str) -> None:
        """End the execution with a continue-as-new to ``new_input`` (JSON text) when the code next yields."""
        ...
