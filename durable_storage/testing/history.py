"""A history builder for orchestrator unit tests without storage.

    h = HistoryBuilder("order-1").started("hello", input=["Tokyo"]).scheduled("say_hello").new().completed(0, "Hi")
    result = replay(hello, instance_id="order-1", past_events=h.past, new_events=h.new_events)

Times advance by one second per event unless told otherwise; scheduling events get sequence ids in order
unless an ``id`` is given. ``new()`` marks where this episode's new events begin (everything before is past).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from durable_storage import _json
from durable_storage.history import (
    EventRaisedEvent,
    EventSentEvent,
    ExecutionResumedEvent,
    ExecutionStartedEvent,
    ExecutionSuspendedEvent,
    ExecutionTerminatedEvent,
    FailureDetails,
    HistoryEvent,
    OrchestrationInstance,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
    ParentInstance,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceCreatedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)

__all__ = ["HistoryBuilder"]

_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


class HistoryBuilder:
    """Builds a history event by event; every method returns the builder."""

    def __init__(
        self,
        instance_id: str = "instance",
        *,
        execution_id: str = "0123456789abcdef0123456789abcdef",
        start: datetime = _START,
        step: timedelta = timedelta(seconds=1),
    ) -> None:
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.now = start
        self.step = step
        self.events: list[HistoryEvent] = []
        self._next_id = 0
        self._new_from: int | None = None

    # --- the split between past and new -----------------------------------------------------------------------

    def new(self) -> HistoryBuilder:
        """Mark the following events as this episode's new events."""
        self._new_from = len(self.events)
        return self

    @property
    def past(self) -> list[HistoryEvent]:
        """Events before :meth:`new` (all of them when it was not called)."""
        return self.events[: self._new_from] if self._new_from is not None else list(self.events)

    @property
    def new_events(self) -> list[HistoryEvent]:
        """Events after :meth:`new`."""
        return self.events[self._new_from :] if self._new_from is not None else []

    # --- framing --------------------------------------------------------------------------------------------

    def _add(self, event: HistoryEvent) -> HistoryBuilder:
        self.events.append(event)
        self.now += self.step
        return self

    def _time(self) -> datetime:
        return self.now

    def started(
        self,
        name: str,
        input: Any = None,
        *,
        version: str | None = "",
        parent: tuple[str, str, int] | None = None,
        raw_input: str | None = None,
    ) -> HistoryBuilder:
        """OrchestratorStarted + ExecutionStarted of ``name``; ``parent`` = (instance, execution, task schedule id)."""
        self.orchestrator_started()
        parent_instance = (
            ParentInstance(
                name="parent",
                orchestration_instance=OrchestrationInstance(parent[0], parent[1]),
                task_schedule_id=parent[2],
            )
            if parent
            else None
        )
        return self._add(
            ExecutionStartedEvent(
                timestamp=self._time(),
                orchestration_instance=OrchestrationInstance(self.instance_id, self.execution_id),
                parent_instance=parent_instance,
                name=name,
                version=version,
                input=raw_input if raw_input is not None else _json.dumps(input),
            )
        )

    def orchestrator_started(self, at: datetime | None = None) -> HistoryBuilder:
        """An OrchestratorStarted (optionally at ``at``): the replay clock moves to it."""
        if at is not None:
            self.now = at
        return self._add(OrchestratorStartedEvent(timestamp=self._time()))

    def orchestrator_completed(self) -> HistoryBuilder:
        """An OrchestratorCompleted."""
        return self._add(OrchestratorCompletedEvent(timestamp=self._time()))

    def episode(self, at: datetime | None = None) -> HistoryBuilder:
        """End one episode and start the next: OrchestratorCompleted + OrchestratorStarted."""
        return self.orchestrator_completed().orchestrator_started(at)

    # --- scheduling events ----------------------------------------------------------------------------------

    def _id(self, id_: int | None) -> int:
        chosen = self._next_id if id_ is None else id_
        self._next_id = max(self._next_id, chosen + 1)
        return chosen

    def scheduled(self, name: str, input: Any = None, *, id: int | None = None) -> HistoryBuilder:
        """TaskScheduled of activity ``name``."""
        return self._add(
            TaskScheduledEvent(event_id=self._id(id), timestamp=self._time(), name=name, input=_json.dumps(input))
        )

    def timer_created(self, fire_at: datetime, *, id: int | None = None) -> HistoryBuilder:
        """TimerCreated firing at ``fire_at``."""
        return self._add(TimerCreatedEvent(event_id=self._id(id), timestamp=self._time(), fire_at=fire_at))

    def sub_orchestration_created(
        self,
        name: str,
        instance_id: str,
        input: Any = None,
        *,
        id: int | None = None,
    ) -> HistoryBuilder:
        """SubOrchestrationInstanceCreated of ``name`` as ``instance_id``."""
        return self._add(
            SubOrchestrationInstanceCreatedEvent(
                event_id=self._id(id),
                timestamp=self._time(),
                name=name,
                instance_id=instance_id,
                input=_json.dumps(input),
            )
        )

    def event_sent(self, instance_id: str, name: str, input: str | None, *, id: int | None = None) -> HistoryBuilder:
        """EventSent ``name`` to ``instance_id``; ``input`` is the raw text."""
        return self._add(
            EventSentEvent(
                event_id=self._id(id), timestamp=self._time(), instance_id=instance_id, name=name, input=input
            )
        )

    # --- results --------------------------------------------------------------------------------------------

    def completed(self, id: int, result: Any = None) -> HistoryBuilder:
        """TaskCompleted of task ``id`` with ``result`` (JSON-encoded here)."""
        return self._add(TaskCompletedEvent(timestamp=self._time(), task_scheduled_id=id, result=_json.dumps(result)))

    def failed(
        self, id: int, reason: str, details: str | None = None, *, error_type: str | None = None
    ) -> HistoryBuilder:
        """TaskFailed of task ``id``."""
        failure = FailureDetails(error_type=error_type, error_message=reason) if error_type else None
        return self._add(
            TaskFailedEvent(
                timestamp=self._time(), task_scheduled_id=id, reason=reason, details=details, failure_details=failure
            )
        )

    def timer_fired(self, id: int, fire_at: datetime | None = None) -> HistoryBuilder:
        """TimerFired of timer ``id``."""
        return self._add(TimerFiredEvent(timestamp=self._time(), timer_id=id, fire_at=fire_at or self._time()))

    def sub_orchestration_completed(self, id: int, result: Any = None) -> HistoryBuilder:
        """SubOrchestrationInstanceCompleted of child ``id``."""
        return self._add(
            SubOrchestrationInstanceCompletedEvent(
                timestamp=self._time(), task_scheduled_id=id, result=_json.dumps(result)
            )
        )

    def sub_orchestration_failed(self, id: int, reason: str, details: str | None = None) -> HistoryBuilder:
        """SubOrchestrationInstanceFailed of child ``id``."""
        return self._add(
            SubOrchestrationInstanceFailedEvent(
                timestamp=self._time(), task_scheduled_id=id, reason=reason, details=details
            )
        )

    def event_raised(self, name: str, data: Any = None, *, raw: str | None = None) -> HistoryBuilder:
        """EventRaised ``name`` with ``data`` (JSON-encoded here, or ``raw`` text)."""
        text = raw if raw is not None else _json.dumps(data)
        return self._add(EventRaisedEvent(timestamp=self._time(), name=name, input=text))

    def terminated(self, reason: str | None = None) -> HistoryBuilder:
        """ExecutionTerminated with ``reason``."""
        return self._add(ExecutionTerminatedEvent(timestamp=self._time(), input=_json.dumps(reason)))

    def suspended(self, reason: str | None = None) -> HistoryBuilder:
        """ExecutionSuspended."""
        return self._add(ExecutionSuspendedEvent(timestamp=self._time(), reason=reason))

    def resumed(self, reason: str | None = None) -> HistoryBuilder:
        """ExecutionResumed."""
        return self._add(ExecutionResumedEvent(timestamp=self._time(), reason=reason))
