"""A history builder for orchestrator unit tests without storage.

Write the history an orchestration would have, one step per call, then run the orchestrator over it with
:func:`~durable_storage.testing.run_orchestrator`::

    h = HistoryBuilder("order-1").started("hello", input=["Tokyo"]).activity_completed("say_hello", "Hi")
    result = run_orchestrator(hello, h)

The step methods (``activity_completed``, ``activity_failed``, ``timer_fired``, ``sub_orchestration_completed``
with a name, ``event_raised`` ...) frame episodes as a worker does: a result arrives in a later episode than the
call it answers. The low-level methods (``scheduled``, ``completed(id, ...)``, ``episode`` ...) append exactly
the event they name, for tests that pin an exact history.

Times advance by one second per event unless told otherwise; scheduling events get sequence ids in order
unless an ``id`` is given. ``new()`` marks where this episode's new events begin (everything before is past).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from durable_storage import _json
from durable_storage.history import (
    ContinueAsNewEvent,
    EventRaisedEvent,
    EventSentEvent,
    ExecutionCompletedEvent,
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
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["HistoryBuilder", "split_at_last_episode"]

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

    def timer_fired(self, id: int | None = None, fire_at: datetime | None = None) -> HistoryBuilder:
        """TimerFired of timer ``id``.

        Without ``id``: the oldest timer created and not fired yet fires, in a new episode if it was created in
        this one; when there is none, a timer due at ``fire_at`` (default: now) is created and fires in the next
        episode, which starts at its due time.
        """
        if id is not None:
            return self._add(TimerFiredEvent(timestamp=self._time(), timer_id=id, fire_at=fire_at or self._time()))
        index = self._pending(TimerCreatedEvent, None)
        if index is None:
            self.timer_created(fire_at or self.now)
            index = len(self.events) - 1
        created = self.events[index]
        assert isinstance(created, TimerCreatedEvent)
        self._answer(index, at=max(self.now, created.fire_at))
        return self._add(TimerFiredEvent(timestamp=self._time(), timer_id=created.event_id, fire_at=created.fire_at))

    def sub_orchestration_completed(
        self, id: int | str, result: Any = None, *, instance_id: str | None = None, input: Any = None
    ) -> HistoryBuilder:
        """SubOrchestrationInstanceCompleted of child ``id`` with ``result``.

        With an orchestrator name instead of an id, the oldest child of that name still running completes (in a
        new episode if it started in this one); when there is none, it is started first (``instance_id``,
        ``input``) and completes in the next episode.
        """
        task_id = self._child(id, instance_id, input)
        return self._add(
            SubOrchestrationInstanceCompletedEvent(
                timestamp=self._time(), task_scheduled_id=task_id, result=_json.dumps(result)
            )
        )

    def sub_orchestration_failed(
        self, id: int | str, reason: str, details: str | None = None, *, instance_id: str | None = None
    ) -> HistoryBuilder:
        """SubOrchestrationInstanceFailed of child ``id`` (an id or a name, as in ``sub_orchestration_completed``)."""
        task_id = self._child(id, instance_id, None)
        return self._add(
            SubOrchestrationInstanceFailedEvent(
                timestamp=self._time(), task_scheduled_id=task_id, reason=reason, details=details
            )
        )

    def _child(self, id_or_name: int | str, instance_id: str | None, input: Any) -> int:
        if isinstance(id_or_name, int):
            return id_or_name
        index = self._pending(SubOrchestrationInstanceCreatedEvent, id_or_name)
        if index is None:
            child = instance_id or f"{self.instance_id}:{self._next_id}"
            self.sub_orchestration_created(id_or_name, child, input)
            index = len(self.events) - 1
        self._answer(index)
        return self.events[index].event_id

    # --- steps: one call per thing the orchestration did or received ----------------------------------------

    def activity_scheduled(self, name: str, input: Any = None, *, id: int | None = None) -> HistoryBuilder:
        """The orchestration called activity ``name`` with ``input`` (TaskScheduled); see :meth:`activity_completed`."""
        return self.scheduled(name, input, id=id)

    def activity_completed(self, name: str, result: Any = None, *, input: Any = None) -> HistoryBuilder:
        """Activity ``name`` returned ``result``.

        The oldest call of ``name`` without a result gets it (in a new episode if the call was made in this one),
        so ``activity_scheduled`` twice and then ``activity_completed`` twice is a fan-out. When no call is
        waiting, the call is recorded first (with ``input``) and its result arrives in the next episode: one
        ``activity_completed`` per step writes a sequential orchestration's history.
        """
        index = self._call(name, input)
        return self.completed(self.events[index].event_id, result)

    def activity_failed(
        self,
        name: str,
        reason: str = "",
        details: str | None = None,
        *,
        input: Any = None,
        error_type: str | None = None,
    ) -> HistoryBuilder:
        """Activity ``name`` raised: TaskFailed with ``reason`` (the message) and ``details``, paired as
        :meth:`activity_completed` pairs results; ``error_type`` adds the structured failure details."""
        index = self._call(name, input)
        return self.failed(self.events[index].event_id, reason, details, error_type=error_type)

    def execution_completed(
        self,
        output: Any = None,
        *,
        status: OrchestrationRuntimeStatus = OrchestrationRuntimeStatus.Completed,
        failure: FailureDetails | None = None,
        id: int | None = None,
    ) -> HistoryBuilder:
        """The execution ended with ``status`` and ``output`` (ExecutionCompleted, or ContinueAsNew), then the
        episode's OrchestratorCompleted. ``id`` defaults to the next sequence id, as the code's completion takes."""
        event_id = self._id(id)
        text = _json.dumps(output) if output is not None else None
        if status is OrchestrationRuntimeStatus.ContinuedAsNew:
            self._add(ContinueAsNewEvent(event_id=event_id, timestamp=self._time(), result=text))
        else:
            self._add(
                ExecutionCompletedEvent(
                    event_id=event_id,
                    timestamp=self._time(),
                    orchestration_status=status,
                    result=text,
                    failure_details=failure,
                )
            )
        return self.orchestrator_completed()

    def _call(self, name: str, input: Any) -> int:
        index = self._pending(TaskScheduledEvent, name)
        if index is None:
            self.scheduled(name, input)
            index = len(self.events) - 1
        self._answer(index)
        return index

    def _pending(self, kind: type[HistoryEvent], name: str | None) -> int | None:
        """The index of the oldest scheduling event of ``kind`` (and ``name``) that has no result yet."""
        answered = {
            e.timer_id if isinstance(e, TimerFiredEvent) else e.task_scheduled_id
            for e in self.events
            if isinstance(e, _RESULT_EVENTS)
        }
        for index, event in enumerate(self.events):
            if isinstance(event, kind) and event.event_id not in answered and getattr(event, "name", None) == name:
                return index
        return None

    def _answer(self, scheduling_index: int, at: datetime | None = None) -> None:
        # A result is delivered in a later episode than the call it answers: a worker records the call at the end
        # of an episode, and the result is a message that starts another one.
        if not any(isinstance(e, OrchestratorStartedEvent) for e in self.events[scheduling_index + 1 :]):
            self.episode(at)

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

    # --- reading it back ------------------------------------------------------------------------------------

    def split(self) -> tuple[list[HistoryEvent], list[HistoryEvent]]:
        """The past events and this episode's new ones: as :meth:`new` marked them, or else the last episode
        (from the last OrchestratorStarted) is new, as it is when a worker runs it."""
        if self._new_from is not None:
            return self.past, self.new_events
        return split_at_last_episode(self.events)


def split_at_last_episode(events: Sequence[HistoryEvent]) -> tuple[list[HistoryEvent], list[HistoryEvent]]:
    """``events`` split before their last OrchestratorStarted: (past, the last episode's events)."""
    starts = [i for i, e in enumerate(events) if isinstance(e, OrchestratorStartedEvent)]
    cut = starts[-1] if starts else 0
    return list(events[:cut]), list(events[cut:])


_RESULT_EVENTS = (
    TaskCompletedEvent,
    TaskFailedEvent,
    TimerFiredEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceFailedEvent,
)
