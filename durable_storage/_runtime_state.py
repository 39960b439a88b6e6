"""What a history says about its orchestration: status, start, end; pure (DTFx ``OrchestrationRuntimeState``).

The rules of ``SetMarkerEvents`` (storage-layout.md §4): ExecutionStarted makes it Running; the first
ExecutionCompleted sets its status, except that a later Terminated overrides ContinuedAsNew; Suspended and
Resumed toggle while it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from durable_storage.history import (
    ExecutionCompletedEvent,
    ExecutionResumedEvent,
    ExecutionStartedEvent,
    ExecutionSuspendedEvent,
    HistoryEvent,
    OrchestratorStartedEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["RuntimeState", "runtime_state"]

_Status = OrchestrationRuntimeStatus


@dataclass(frozen=True, slots=True)
class RuntimeState:
    """The summary of one execution's history.

    Attributes:
        status: None for an empty history (no ExecutionStarted).
        started: the ExecutionStarted event, if any.
        completed: the ExecutionCompleted (or ContinueAsNew) that decided the status, if any.
        episodes: the number of OrchestratorStarted events (.NET's "episode").
    """

    status: OrchestrationRuntimeStatus | None
    started: ExecutionStartedEvent | None
    completed: ExecutionCompletedEvent | None
    episodes: int

    @property
    def is_terminal(self) -> bool:
        """True when the execution ended (Completed, Failed, Canceled, Terminated or ContinuedAsNew)."""
        return self.completed is not None

    @property
    def output(self) -> str | None:
        """The Instances ``Output`` of the end: failure text, result, reason or new input (storage-layout.md §2.2)."""
        completed = self.completed
        if completed is None:
            return None
        details = completed.failure_details
        if details is not None:
            return f"{details.error_type}: {details.error_message}"
        return completed.result


def runtime_state(events: Sequence[HistoryEvent]) -> RuntimeState:
    """Summarise ``events`` (one execution's history, in order)."""
    started: ExecutionStartedEvent | None = None
    completed: ExecutionCompletedEvent | None = None
    suspended = False
    episodes = 0
    for event in events:
        if isinstance(event, OrchestratorStartedEvent):
            episodes += 1
        elif isinstance(event, ExecutionStartedEvent):
            started = started or event
        elif isinstance(event, ExecutionCompletedEvent):
            if completed is None or (
                completed.orchestration_status is _Status.ContinuedAsNew
                and event.orchestration_status is _Status.Terminated
            ):
                completed = event
        elif isinstance(event, ExecutionSuspendedEvent):
            suspended = True
        elif isinstance(event, ExecutionResumedEvent):
            suspended = False
    status: OrchestrationRuntimeStatus | None = None
    if completed is not None:
        status = completed.orchestration_status
    elif started is not None:
        status = _Status.Suspended if suspended else _Status.Running
    return RuntimeState(status, started, completed, episodes)
