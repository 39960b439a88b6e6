"""History events as a person reads them, in one line: for a non-determinism error, the replay gate and the
``durable-storage history`` table; pure.
"""

from __future__ import annotations

from durable_storage.history import (
    EventRaisedEvent,
    EventSentEvent,
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    ExecutionTerminatedEvent,
    HistoryEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceCreatedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)

__all__ = ["describe_event", "event_details"]

_SHOWN = 60  # characters of a payload shown in a line; the event itself (``--json``, ``--export``) has it all


def describe_event(event: HistoryEvent) -> str:
    """A scheduling event as a user reads it: ``TaskScheduled 'say_hello'``."""
    if isinstance(event, TaskScheduledEvent):
        return f"TaskScheduled {event.name!r}"
    if isinstance(event, SubOrchestrationInstanceCreatedEvent):
        return f"SubOrchestrationInstanceCreated {event.name!r}"
    if isinstance(event, EventSentEvent):
        return f"EventSent {event.name!r} to {event.instance_id!r}"
    if isinstance(event, TimerCreatedEvent):
        return "TimerCreated"
    return event.event_type.name


def event_details(event: HistoryEvent) -> str:
    """What a history event says, in one line: names, task ids and payloads (shortened)."""
    if isinstance(event, ExecutionStartedEvent):
        return f"{event.name} input={_short(event.input)}"
    if isinstance(event, (TaskScheduledEvent, SubOrchestrationInstanceCreatedEvent)):
        return f"{event.name} input={_short(event.input)}"
    if isinstance(event, (TaskCompletedEvent, SubOrchestrationInstanceCompletedEvent)):
        return f"task {event.task_scheduled_id} result={_short(event.result)}"
    if isinstance(event, (TaskFailedEvent, SubOrchestrationInstanceFailedEvent)):
        return f"task {event.task_scheduled_id} failed: {_short(event.reason)}"
    if isinstance(event, TimerCreatedEvent):
        return f"fires at {event.fire_at.isoformat()}"
    if isinstance(event, TimerFiredEvent):
        return f"timer {event.timer_id}"
    if isinstance(event, EventRaisedEvent):
        return f"{event.name} input={_short(event.input)}"
    if isinstance(event, EventSentEvent):
        return f"{event.name} to {event.instance_id} input={_short(event.input)}"
    if isinstance(event, ExecutionCompletedEvent):
        details = event.failure_details
        outcome = f"{details.error_type}: {details.error_message}" if details else _short(event.result)
        return f"{event.orchestration_status.name} {outcome}"
    if isinstance(event, ExecutionTerminatedEvent):
        return f"reason={_short(event.input)}"
    reason = getattr(event, "reason", None)
    return f"reason={_short(reason)}" if reason else ""


def _short(text: str | None) -> str:
    if text is None:
        return "null"
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
