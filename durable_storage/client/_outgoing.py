"""The queue messages a client sends, built as DurableTask.Core's TaskHubClient builds them (storage-layout.md §9).

A client message has the sender ``{"InstanceId": "", "ExecutionId": ""}`` and no episode. A start names the new
execution; every other message has ExecutionId null, meaning "whichever execution is current" (storage-layout.md §9.2).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from durable_storage._envelope import MessageData, TaskMessage
from durable_storage.history import (
    ExecutionStartedEvent,
    HistoryEvent,
    OrchestrationInstance,
)

__all__ = ["CLIENT_SENDER", "MAX_START_DELAY", "instance_message", "new_id", "start_delay", "start_message"]

CLIENT_SENDER = OrchestrationInstance("", "")
MAX_START_DELAY = timedelta(days=6)
"""The longest delay a start message is sent with. Queue visibility stops at 7 days; Durable Functions caps its
delays at 6 (``MaximumDelayTime``) so that a message always surfaces before its time. A later start surfaces early,
and the worker sends it again, delayed by what remains of ``ScheduledStartTime`` (storage-layout.md §8)."""


def new_id() -> str:
    """A new instance or execution ID: 32 lowercase hex digits, as .NET's ``Guid.NewGuid().ToString("N")``."""
    return uuid.uuid4().hex


def start_delay(scheduled_start_time: datetime | None, now: datetime) -> float:
    """Seconds to hide a start message: until ``scheduled_start_time`` (never negative), at most 6 days."""
    if scheduled_start_time is None:
        return 0.0
    return min(max(scheduled_start_time - now, timedelta(0)), MAX_START_DELAY).total_seconds()


def start_message(
    *,
    instance_id: str,
    execution_id: str,
    name: str,
    version: str | None,
    input: str | None,
    now: datetime,
    scheduled_start_time: datetime | None,
    generation: int,
) -> MessageData:
    """The ExecutionStarted message of a new execution (TaskHubClient ``InternalCreateOrchestrationInstance``)."""
    instance = OrchestrationInstance(instance_id, execution_id)
    event = ExecutionStartedEvent(
        timestamp=now,
        orchestration_instance=instance,
        name=name,
        version=version,
        input=input,
        scheduled_start_time=scheduled_start_time,
        generation=generation,
    )
    return _envelope(TaskMessage(event=event, orchestration_instance=instance))


def instance_message(instance_id: str, event: HistoryEvent) -> MessageData:
    """``event`` addressed to the current execution of ``instance_id`` (raise, terminate, suspend, resume, rewind)."""
    return _envelope(TaskMessage(event=event, orchestration_instance=OrchestrationInstance(instance_id, None)))


def _envelope(task_message: TaskMessage) -> MessageData:
    return MessageData(activity_id=uuid.uuid4(), task_message=task_message, sender=CLIENT_SENDER)
