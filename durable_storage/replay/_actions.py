"""What an orchestration asks the runtime to do: the output of a replay, as a delta against history; pure.

Each action carries the sequence id (the DTFx EventId) that its scheduling event gets in history: one counter from
0 per execution, shared by every kind of action (storage-layout.md §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from durable_storage.history import EventRaisedEvent, FailureDetails
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = [
    "Action",
    "Completion",
    "CreateSubOrchestrationAction",
    "CreateTimerAction",
    "ScheduleTaskAction",
    "SendEventAction",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTaskAction:
    """Run an activity (history: TaskScheduled). ``input`` is JSON text."""

    id: int
    name: str
    input: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTimerAction:
    """Wake the orchestration at ``fire_at`` (history: TimerCreated). UTC, at most the queue's maximum delay away."""

    id: int
    fire_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateSubOrchestrationAction:
    """Start a child orchestration (history: SubOrchestrationInstanceCreated)."""

    id: int
    name: str
    instance_id: str
    input: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SendEventAction:
    """Raise event ``name`` on ``instance_id`` (history: EventSent): entity calls, signals and lock messages."""

    id: int
    instance_id: str
    name: str
    input: str | None = None
    scheduled_time: datetime | None = None


Action = ScheduleTaskAction | CreateTimerAction | CreateSubOrchestrationAction | SendEventAction


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion:
    """How an execution ended (history: ExecutionCompleted or ContinueAsNew with EventId ``id``).

    Attributes:
        id: the sequence id of the completion, the EventId of its ExecutionCompleted event.
        status: Completed, Failed, ContinuedAsNew or Terminated.
        output: the JSON text of the return value (Completed), the reason (Terminated), or the new input
            (ContinuedAsNew).
        failure_details: what went wrong (Failed).
        carryover_events: external events received but not consumed, for the next execution (ContinuedAsNew).
    """

    id: int
    status: OrchestrationRuntimeStatus
    output: str | None = None
    failure_details: FailureDetails | None = None
    carryover_events: Sequence[EventRaisedEvent] = field(default_factory=tuple)
