"""History events: what an orchestration's History table holds and what its queue messages carry; pure.

One frozen dataclass per DurableTask.Core history class, with the .NET class name and its ``[DataMember]``s as
snake_case fields in .NET declaration order (storage-layout.md §4, history-event-fields.md §3).
Payloads (``input``, ``result`` ...) stay JSON text: they are decoded where the user's types are known. Every
event has the base fields ``event_id`` (-1 unless it records an action), ``is_played`` and ``timestamp``.

Events decoded from a queue message keep the JSON object they came from in the private ``_source`` field, so that
re-encoding them reproduces the writer's layout and the members a newer writer added. It takes no part in equality.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from types import MappingProxyType
from typing import ClassVar

from durable_storage.models import OrchestrationRuntimeStatus

__all__ = [
    "EVENT_CLASSES",
    "ContinueAsNewEvent",
    "DistributedTraceContext",
    "EventRaisedEvent",
    "EventSentEvent",
    "EventType",
    "ExecutionCompletedEvent",
    "ExecutionResumedEvent",
    "ExecutionRewoundEvent",
    "ExecutionStartedEvent",
    "ExecutionSuspendedEvent",
    "ExecutionTerminatedEvent",
    "FailureDetails",
    "GenericEvent",
    "HistoryEvent",
    "HistoryStateEvent",
    "OrchestrationInstance",
    "OrchestratorCompletedEvent",
    "OrchestratorStartedEvent",
    "ParentInstance",
    "SubOrchestrationInstanceCompletedEvent",
    "SubOrchestrationInstanceCreatedEvent",
    "SubOrchestrationInstanceFailedEvent",
    "TaskCompletedEvent",
    "TaskFailedEvent",
    "TaskScheduledEvent",
    "TimerCreatedEvent",
    "TimerFiredEvent",
]


class EventType(IntEnum):
    """DurableTask.Core's ``EventType``: append-only, and its numbers go on the wire (storage-layout.md §4)."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2  # never written by DurableTask.Core: it has no event class
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20
    ExecutionRewound = 21


@dataclass(frozen=True, slots=True)
class OrchestrationInstance:
    """An instance ID and one execution of it; ``execution_id`` None means "the current execution"."""

    instance_id: str
    execution_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParentInstance:
    """The orchestration that started a sub-orchestration, and the action id the child answers to."""

    name: str
    orchestration_instance: OrchestrationInstance
    task_schedule_id: int
    version: str | None = None


@dataclass(frozen=True, slots=True)
class FailureDetails:
    """Why an activity, sub-orchestration or orchestration failed; ``properties`` holds raw JSON values."""

    error_type: str
    error_message: str
    stack_trace: str | None = None
    inner_failure: FailureDetails | None = None
    is_non_retriable: bool = False
    properties: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class DistributedTraceContext:
    """A W3C trace context (``traceparent``/``tracestate``) handed from a parent span to a child."""

    trace_parent: str
    trace_state: str | None = None
    id: str | None = None
    span_id: str | None = None
    activity_start_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEvent:
    """The base of every history event."""

    event_type: ClassVar[EventType]
    event_id: int = -1
    is_played: bool = False
    timestamp: datetime
    _source: Mapping[str, object] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionStartedEvent(HistoryEvent):
    """An execution began: the first event after OrchestratorStarted, and the body of a start message."""

    event_type: ClassVar[EventType] = EventType.ExecutionStarted
    orchestration_instance: OrchestrationInstance
    parent_instance: ParentInstance | None = None
    name: str
    version: str | None = None
    input: str | None = None
    tags: Mapping[str, str] | None = None
    correlation: str | None = None
    parent_trace_context: DistributedTraceContext | None = None
    scheduled_start_time: datetime | None = None
    generation: int | None = None
    generate_new_trace: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionCompletedEvent(HistoryEvent):
    """The execution ended as Completed, Failed or Terminated."""

    event_type: ClassVar[EventType] = EventType.ExecutionCompleted
    orchestration_status: OrchestrationRuntimeStatus
    result: str | None = None
    failure_details: FailureDetails | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueAsNewEvent(ExecutionCompletedEvent):
    """The execution restarts itself; ``result`` is the new input (a subclass of ExecutionCompleted, as in .NET)."""

    event_type: ClassVar[EventType] = EventType.ContinueAsNew
    orchestration_status: OrchestrationRuntimeStatus = OrchestrationRuntimeStatus.ContinuedAsNew


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionTerminatedEvent(HistoryEvent):
    """A client asked to terminate the instance; ``input`` is the reason."""

    event_type: ClassVar[EventType] = EventType.ExecutionTerminated
    input: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskScheduledEvent(HistoryEvent):
    """The orchestration scheduled an activity; ``event_id`` is the action id."""

    event_type: ClassVar[EventType] = EventType.TaskScheduled
    name: str
    version: str | None = None
    input: str | None = None
    parent_trace_context: DistributedTraceContext | None = None
    tags: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCompletedEvent(HistoryEvent):
    """An activity returned ``result`` for the TaskScheduled whose ``event_id`` is ``task_scheduled_id``."""

    event_type: ClassVar[EventType] = EventType.TaskCompleted
    task_scheduled_id: int
    result: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskFailedEvent(HistoryEvent):
    """An activity raised; ``reason``/``details`` are the legacy text, ``failure_details`` the structured form."""

    event_type: ClassVar[EventType] = EventType.TaskFailed
    task_scheduled_id: int
    reason: str | None = None
    details: str | None = None
    failure_details: FailureDetails | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubOrchestrationInstanceCreatedEvent(HistoryEvent):
    """The orchestration started a child orchestration; ``event_id`` is the action id."""

    event_type: ClassVar[EventType] = EventType.SubOrchestrationInstanceCreated
    name: str
    version: str | None = None
    instance_id: str
    input: str | None = None
    client_span_id: str | None = None
    tags: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubOrchestrationInstanceCompletedEvent(HistoryEvent):
    """A child orchestration completed with ``result``."""

    event_type: ClassVar[EventType] = EventType.SubOrchestrationInstanceCompleted
    task_scheduled_id: int
    result: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubOrchestrationInstanceFailedEvent(HistoryEvent):
    """A child orchestration failed or was terminated."""

    event_type: ClassVar[EventType] = EventType.SubOrchestrationInstanceFailed
    task_scheduled_id: int
    reason: str | None = None
    details: str | None = None
    failure_details: FailureDetails | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerCreatedEvent(HistoryEvent):
    """The orchestration created a durable timer due at ``fire_at`` (UTC)."""

    event_type: ClassVar[EventType] = EventType.TimerCreated
    fire_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerFiredEvent(HistoryEvent):
    """The timer whose TimerCreated ``event_id`` is ``timer_id`` fired."""

    event_type: ClassVar[EventType] = EventType.TimerFired
    timer_id: int
    fire_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestratorStartedEvent(HistoryEvent):
    """An episode began; its ``timestamp`` is the orchestration's current time during replay."""

    event_type: ClassVar[EventType] = EventType.OrchestratorStarted


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestratorCompletedEvent(HistoryEvent):
    """An episode ended."""

    event_type: ClassVar[EventType] = EventType.OrchestratorCompleted


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSentEvent(HistoryEvent):
    """The orchestration sent the event ``name`` to ``instance_id``; ``event_id`` is the action id."""

    event_type: ClassVar[EventType] = EventType.EventSent
    instance_id: str
    name: str
    input: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRaisedEvent(HistoryEvent):
    """An external event ``name`` arrived with ``input``."""

    event_type: ClassVar[EventType] = EventType.EventRaised
    name: str
    input: str | None = None
    parent_trace_context: DistributedTraceContext | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericEvent(HistoryEvent):
    """A message that only wakes the instance up (used to revive a rewound instance)."""

    event_type: ClassVar[EventType] = EventType.GenericEvent
    data: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryStateEvent(HistoryEvent):
    """A snapshot of OrchestrationState, kept as JSON text; the Azure Storage provider never writes it."""

    event_type: ClassVar[EventType] = EventType.HistoryState
    state: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionSuspendedEvent(HistoryEvent):
    """A client suspended the instance."""

    event_type: ClassVar[EventType] = EventType.ExecutionSuspended
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionResumedEvent(HistoryEvent):
    """A client resumed the suspended instance."""

    event_type: ClassVar[EventType] = EventType.ExecutionResumed
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRewoundEvent(HistoryEvent):
    """A new-style rewind request (DurableTask.Core); the Azure Storage provider's own rewind does not use it."""

    event_type: ClassVar[EventType] = EventType.ExecutionRewound
    reason: str | None = None
    parent_execution_id: str | None = None
    instance_id: str | None = None
    parent_trace_context: DistributedTraceContext | None = None


EVENT_CLASSES: Mapping[EventType, type[HistoryEvent]] = MappingProxyType(
    {
        cls.event_type: cls
        for cls in (
            ExecutionStartedEvent,
            ExecutionCompletedEvent,
            ExecutionTerminatedEvent,
            TaskScheduledEvent,
            TaskCompletedEvent,
            TaskFailedEvent,
            SubOrchestrationInstanceCreatedEvent,
            SubOrchestrationInstanceCompletedEvent,
            SubOrchestrationInstanceFailedEvent,
            TimerCreatedEvent,
            TimerFiredEvent,
            OrchestratorStartedEvent,
            OrchestratorCompletedEvent,
            EventSentEvent,
            EventRaisedEvent,
            ContinueAsNewEvent,
            GenericEvent,
            HistoryStateEvent,
            ExecutionSuspendedEvent,
            ExecutionResumedEvent,
            ExecutionRewoundEvent,
        )
    }
)
"""The class of each event type; ExecutionFailed has none."""
