"""Which messages of a received batch an episode takes: their order, duplicates, and results that came early.

Pure functions of the batch and the instance's history (no I/O), used by the orchestration dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.message_channel import Received
from durable_storage.history import (
    EventType,
    ExecutionStartedEvent,
    HistoryEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TimerFiredEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = [
    "RESULTS",
    "SCHEDULING",
    "abandon_delay",
    "event_of",
    "first_start",
    "for_other_executions",
    "new_instance_row",
    "ordered",
    "result_id",
    "screen",
]

RESULTS = (
    TaskCompletedEvent,
    TaskFailedEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceFailedEvent,
    TimerFiredEvent,
)
SCHEDULING = frozenset({EventType.TaskScheduled, EventType.TimerCreated, EventType.SubOrchestrationInstanceCreated})


def abandon_delay(dequeue_count: int) -> float:
    # The reference's back-off: 2^n seconds, at most 10 minutes (storage-layout.md §3.5).
    return float(min(2 ** min(dequeue_count, 10), 600))


def event_of(received: Received) -> HistoryEvent:
    assert received.data is not None and received.data.task_message is not None
    return received.data.task_message.event


def ordered(batch: list[Received]) -> list[Received]:
    # Insertion time, then the sender's sequence number (storage-layout.md §5.1 step 4); a start goes first (as Core).
    def key(received: Received) -> tuple[int, float, int]:
        inserted = received.message.inserted_on
        data = received.data
        starts_first = (
            0 if data and data.task_message and isinstance(data.task_message.event, ExecutionStartedEvent) else 1
        )
        return starts_first, inserted.timestamp() if inserted else 0.0, data.sequence_number if data else 0

    return sorted(batch, key=key)


def screen(
    batch: Sequence[Received],
    discard: list[Received],
    execution_id: str | None,
    *,
    scheduled: set[int],
    start: ExecutionStartedEvent | None,
    finished: set[int],
) -> tuple[list[Received], list[Received]]:
    """Split ``batch`` into messages for this episode and results that arrived before their scheduling event.

    A second result for a task that already has one (an activity run again after a crash or a lost lease) goes
    to ``discard``: history keeps one result per task (reliability.md T09).
    """
    keep: list[Received] = []
    later: list[Received] = []
    for received in batch:
        if received in discard:
            continue
        event = event_of(received)
        if isinstance(event, ExecutionStartedEvent):
            if event is start:
                keep.append(received)
            continue
        message = received.data.task_message if received.data else None
        target = message.orchestration_instance.execution_id if message is not None else None
        if target and execution_id and target != execution_id:
            discard.append(received)  # for an older execution: Core drops it
        elif isinstance(event, RESULTS) and result_id(event) in finished:
            discard.append(received)  # a duplicate result
        elif isinstance(event, RESULTS) and result_id(event) not in scheduled and start is None:
            later.append(received)  # sent before the sender's history was written (storage-layout.md §5.4 step 3)
        else:
            if isinstance(event, RESULTS):
                finished.add(result_id(event))
            keep.append(received)
    return keep, later


def result_id(event: HistoryEvent) -> int:
    if isinstance(event, TimerFiredEvent):
        return event.timer_id
    return int(getattr(event, "task_scheduled_id", -1))


def for_other_executions(batch: Sequence[Received], execution_id: str | None) -> bool:
    """Whether ``batch`` has a message (other than a start) addressed to an execution other than ``execution_id``."""
    for received in batch:
        message = received.data.task_message if received.data else None
        if message is None or isinstance(message.event, ExecutionStartedEvent):
            continue
        target = message.orchestration_instance.execution_id
        if target and target != execution_id:
            return True
    return False


def first_start(batch: Sequence[Received]) -> ExecutionStartedEvent | None:
    """The start, when ``batch`` is nothing but the first start of an instance (generation 0: not a re-create)."""
    events = [event_of(r) for r in batch]
    first = events[0]
    if not isinstance(first, ExecutionStartedEvent) or (first.generation or 0) != 0:
        return None
    execution_id = first.orchestration_instance.execution_id
    for event in events[1:]:
        # Copies of the same start may come along; anything else needs the history to be screened.
        if not isinstance(event, ExecutionStartedEvent) or event.orchestration_instance.execution_id != execution_id:
            return None
    return first


def new_instance_row(record: InstanceRecord | None, start: ExecutionStartedEvent) -> bool:
    """No row yet (the client writes it right after sending), or the Pending row of this very start."""
    return record is None or (
        record.execution_id == start.orchestration_instance.execution_id
        and record.runtime_status is OrchestrationRuntimeStatus.Pending
    )
