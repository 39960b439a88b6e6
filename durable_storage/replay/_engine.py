"""Replay: run an orchestrator over its history and return what it wants done next; pure.

The algorithm is azure-functions-durable 1.7's (python-api.md §2.3) joined with DTFx's checks
(storage-layout.md §4): events are processed in order through a table of small handlers; the generator resumes
whenever the task it waits on completes; every scheduling event of the history must match the action the code
produced with the same sequence id, or the orchestration fails as non-deterministic. Actions whose ids have no
scheduling event in history are the new work: the delta this episode returns.
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from durable_storage import _json
from durable_storage._settings import check_duration
from durable_storage.errors import NonDeterminismError
from durable_storage.history import (
    EventRaisedEvent,
    EventSentEvent,
    EventType,
    ExecutionStartedEvent,
    ExecutionTerminatedEvent,
    HistoryEvent,
    OrchestratorStartedEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TimerFiredEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay._actions import Action, Completion
from durable_storage.replay._checks import check_scheduled
from durable_storage.replay._context import DurableOrchestrationContext, EntityCallTask
from durable_storage.replay._outcomes import failure_details, outcome, request_id_of
from durable_storage.replay._tasks import AtomicTask, ExternalEventTask, TaskBase, TaskState, TimerTask

__all__ = ["ReplayOptions", "ReplayResult", "Replayer", "replay"]

Orchestrator = Callable[[DurableOrchestrationContext], Any]
_REQUEST_NAMESPACE = "durable-storage-entity-request"
_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)
_SCHEDULING = frozenset(
    {EventType.TaskScheduled, EventType.TimerCreated, EventType.SubOrchestrationInstanceCreated, EventType.EventSent}
)
_PASS_WHILE_SUSPENDED = _SCHEDULING | {
    EventType.ExecutionResumed,
    EventType.ExecutionTerminated,
    EventType.OrchestratorStarted,
    EventType.OrchestratorCompleted,
}


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


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What one episode of an orchestration asks for.

    Attributes:
        actions: the new work, in sequence-id order: actions with no scheduling event in history yet.
        all_actions: every action the code produced in this replay, those already in history included.
        custom_status: the custom status as JSON text; None when unset or falsy (Durable Functions' rule).
        completion: how the execution ended, or None while it waits.
        is_suspended: True when the orchestration is suspended (new events wait for a resume).
    """

    actions: list[Action]
    all_actions: list[Action]
    custom_status: str | None
    completion: Completion | None
    is_suspended: bool = False
    carryover_events: list[EventRaisedEvent] = field(default_factory=list)


def replay(
    orchestrator: Orchestrator,
    *,
    instance_id: str,
    past_events: Sequence[HistoryEvent],
    new_events: Sequence[HistoryEvent],
    options: ReplayOptions | None = None,
) -> ReplayResult:
    """Replay ``orchestrator`` over ``past_events`` (already seen) and ``new_events`` (this episode).

    Never raises for anything the orchestrator or the history does: user exceptions and non-determinism end the
    execution as Failed with failure details.
    """
    replayer = Replayer(orchestrator, instance_id, options or ReplayOptions(), [*past_events, *new_events])
    return replayer.run(len(past_events))


class _Stop(Exception):
    """Ends event processing with a Failed completion (non-determinism)."""


class Replayer:
    """The state of one replay; tasks and the context call back into it to schedule work."""

    def __init__(
        self, orchestrator: Orchestrator, instance_id: str, options: ReplayOptions, history: list[HistoryEvent]
    ) -> None:
        self.orchestrator = orchestrator
        self.instance_id = instance_id
        self.options = options
        self.history = history
        self.context = DurableOrchestrationContext(self)
        self.current_utc_datetime = _EPOCH
        self.input: str | None = None
        self.parent_instance_id: str | None = None
        self.version: str | None = None
        self.execution_id: str | None = None
        self.sequence = 0
        self.produced: dict[int, Action] = {}
        self.historic: set[int] = set()
        self.open: dict[int | str, AtomicTask] = {}
        self.calls: dict[int, EntityCallTask] = {}
        self.finished: set[int | str] = set()
        self.waiters: dict[str, list[ExternalEventTask]] = {}
        self.unclaimed: list[EventRaisedEvent] = []
        self.deferred: dict[int | str, HistoryEvent] = {}
        self.suspended: list[HistoryEvent] | None = None
        self.completion: Completion | None = None
        self.continued_with: tuple[int, str] | None = None
        self.generator: types.GeneratorType[Any, Any, Any] | None = None
        self.current: TaskBase | None = None
        self.played = False
        self.diverged = False
        self._handlers: dict[EventType, Callable[[Any], None]] = {
            EventType.OrchestratorStarted: self._on_orchestrator_started,
            EventType.ExecutionStarted: self._on_execution_started,
            EventType.TaskScheduled: self._on_scheduled,
            EventType.TimerCreated: self._on_scheduled,
            EventType.SubOrchestrationInstanceCreated: self._on_scheduled,
            EventType.EventSent: self._on_event_sent,
            EventType.TaskCompleted: self._on_result,
            EventType.TaskFailed: self._on_result,
            EventType.SubOrchestrationInstanceCompleted: self._on_result,
            EventType.SubOrchestrationInstanceFailed: self._on_result,
            EventType.TimerFired: self._on_result,
            EventType.EventRaised: self._on_event_raised,
            EventType.ExecutionTerminated: self._on_terminated,
            EventType.ExecutionSuspended: self._on_suspended,
            EventType.ExecutionResumed: self._on_resumed,
        }

    # --- the event loop --------------------------------------------------------------------------------------

    def run(self, past_count: int) -> ReplayResult:
        """Process every event, then collect the result."""
        try:
            for index, event in enumerate(self.history):
                if self.completion is not None:
                    self._check_after_completion(event)
                    continue
                self.played = index < past_count
                self._dispatch(event)
        except _Stop:
            pass
        return self._result()

    def _check_after_completion(self, event: HistoryEvent) -> None:
        completion = self.completion
        assert completion is not None
        if completion.status is OrchestrationRuntimeStatus.Terminated:
            return  # nothing after a terminate counts
        if event.event_type in _SCHEDULING:
            # Code that now ends earlier than it did must still account for what history says it scheduled later:
            # DTFx replays every past event, so a leftover TaskScheduled is non-determinism, not a quiet completion.
            self._on_scheduled(event)
        elif isinstance(event, ExecutionTerminatedEvent):
            # DTFx settles the code's own completion only after the whole batch: a terminate in it wins, and takes
            # the sequence id the code's completion would have had.
            self.completion = Completion(
                id=completion.id, status=OrchestrationRuntimeStatus.Terminated, output=event.input
            )
        elif isinstance(event, EventRaisedEvent) and completion.status is OrchestrationRuntimeStatus.ContinuedAsNew:
            # Events that arrive in the same batch after a continue-as-new belong to the next execution.
            self.unclaimed.append(event)
            self.completion = replace(completion, carryover_events=tuple(self.unclaimed))

    def _dispatch(self, event: HistoryEvent) -> None:
        # While suspended, only resume and terminate get through; the rest waits in order (DTFx semantics).
        # Scheduling events are records of what the code already did, not deliveries: they never wait.
        if self.suspended is not None and event.event_type not in _PASS_WHILE_SUSPENDED:
            self.suspended.append(event)
            return
        handler = self._handlers.get(event.event_type)
        if handler is not None:  # OrchestratorCompleted, GenericEvent, HistoryState ... change nothing here
            handler(event)

    def _on_orchestrator_started(self, event: OrchestratorStartedEvent) -> None:
        self.current_utc_datetime = max(self.current_utc_datetime, _utc(event.timestamp))

    def _on_execution_started(self, event: ExecutionStartedEvent) -> None:
        if self.generator is not None or self.completion is not None:
            return  # a duplicate start (a re-delivered message): DTFx drops it
        self.input = event.input
        self.version = event.version
        self.execution_id = event.orchestration_instance.execution_id
        parent = event.parent_instance
        self.parent_instance_id = parent.orchestration_instance.instance_id if parent is not None else None
        if self.current_utc_datetime == _EPOCH:
            self.current_utc_datetime = _utc(event.timestamp)
        self._start()

    def _on_scheduled(self, event: HistoryEvent) -> None:
        message = check_scheduled(event, self.produced.get(event.event_id))
        if message is not None:
            self._fail_nondeterministic(message)
        self.historic.add(event.event_id)

    def _on_event_sent(self, event: EventSentEvent) -> None:
        self._on_scheduled(event)
        task = self.calls.pop(event.event_id, None)
        recorded = request_id_of(event.input)
        if (
            task is not None
            and recorded
            and recorded != task.request_id
            and self.open.get(task.request_id or "") is task
        ):
            # History written by Durable Functions names the request with the host's id: wait for that one.
            del self.open[task.request_id or ""]
            task.request_id = recorded
            self.open[recorded] = task

    def _on_result(
        self,
        event: TaskCompletedEvent
        | TaskFailedEvent
        | SubOrchestrationInstanceCompletedEvent
        | SubOrchestrationInstanceFailedEvent
        | TimerFiredEvent,
    ) -> None:
        key = event.timer_id if isinstance(event, TimerFiredEvent) else event.task_scheduled_id
        task = self.open.pop(key, None)
        if task is None:
            if key not in self.finished:
                self.deferred[key] = event  # it arrived before the code scheduled it: apply it then
            return  # a second completion for one task: ignored, as in DTFx
        self._resolve(task, key, event)

    def _on_event_raised(self, event: EventRaisedEvent) -> None:
        name = event.name or ""
        task = self.open.pop(name, None)
        if isinstance(task, EntityCallTask):
            self._resolve(task, name, event)
            return
        waiting = self.waiters.get(name)
        if not waiting:
            self.unclaimed.append(event)  # buffered until someone waits for it
            return
        # Several waiters on one name: the most recent one gets the event, as in azure-functions-durable.
        waiter = waiting.pop()
        self._resolve(waiter, name, event)

    def _on_terminated(self, event: ExecutionTerminatedEvent) -> None:
        # DTFx completes a terminated orchestration through CompleteOrchestration, which takes the next id.
        self.completion = Completion(
            id=self._next_id(), status=OrchestrationRuntimeStatus.Terminated, output=event.input
        )

    def _on_suspended(self, event: HistoryEvent) -> None:
        if self.suspended is None:
            self.suspended = []

    def _on_resumed(self, event: HistoryEvent) -> None:
        held, self.suspended = self.suspended, None
        for waiting in held or []:
            self._dispatch(waiting)
            if self.completion is not None:
                return

    # --- results into tasks ----------------------------------------------------------------------------------

    def _resolve(self, task: AtomicTask, key: int | str, event: HistoryEvent) -> None:
        self.finished.add(key)
        value, failed = self._decoded(task, event)
        task.complete(value, failed=failed, is_played=self.played)
        self._resume()

    @staticmethod
    def _decoded(task: AtomicTask, event: HistoryEvent) -> tuple[Any, bool]:
        try:
            value, failed = outcome(task, event)
        except Exception as error:  # an undecodable result fails the task, not the replay
            return error, True
        return value, failed

    # --- scheduling (called by tasks and the context) --------------------------------------------------------

    def schedule_atomic(self, task: AtomicTask) -> None:
        """Give ``task`` the next sequence id and record its action (nothing after continue_as_new)."""
        if self.continued_with is not None or task.make_action is None:
            return
        task.id = self.sequence
        self.sequence += 1
        action = task.make_action(task.id)
        self.produced[task.id] = action
        if isinstance(task, EntityCallTask) and task.request_id is not None:
            # The response is an event named after the request id; EventSent may still replace that id.
            self.calls[task.id] = task
            self.open[task.request_id] = task
        elif task.awaits_result:
            self.open[task.id] = task
            self._apply_deferred(task, task.id)

    def wait_for_event(self, task: ExternalEventTask) -> None:
        """Register ``task`` as a waiter; an event that arrived earlier completes it at once (first in, first out)."""
        task.id = task.name
        buffered = next((e for e in self.unclaimed if e.name == task.name), None)
        if buffered is not None:
            self.unclaimed.remove(buffered)
            value, failed = self._decoded(task, buffered)
            task.complete(value, failed=failed, is_played=self.played)
            return
        self.waiters.setdefault(task.name, []).append(task)

    def timer_after(self, seconds: float) -> TimerTask:
        """A timer ``seconds`` from now (retry back-off)."""
        return TimerTask(self.current_utc_datetime + timedelta(seconds=seconds))

    def request_id(self, sequence_id: int) -> str:
        """A deterministic id for an entity request: the same on every replay, unique per execution and action."""
        name = f"{_REQUEST_NAMESPACE}/{self.instance_id}/{self.execution_id}/{sequence_id}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    def continue_as_new(self, new_input: str) -> None:
        """Record the continue-as-new; it completes the execution when the code returns or yields next."""
        if self.continued_with is None:
            self.context._release_locks()  # before the continue-as-new: nothing is scheduled after it
            self.continued_with = (self._next_id(), new_input)

    def _next_id(self) -> int:
        self.sequence += 1
        return self.sequence - 1

    def _apply_deferred(self, task: AtomicTask, key: int | str) -> None:
        event = self.deferred.pop(key, None)
        if event is not None:
            self.open.pop(key, None)
            self.finished.add(key)
            value, failed = self._decoded(task, event)
            task.complete(value, failed=failed, is_played=self.played)

    # --- driving the generator -------------------------------------------------------------------------------

    def _start(self) -> None:
        try:
            result = self.orchestrator(self.context)
        except Exception as error:
            self._fail(error)
            return
        if not isinstance(result, types.GeneratorType):
            self._finish(result)  # a plain function's return value is the output
            return
        self.generator = result
        self.current = TaskBase()
        self.current.complete(None, failed=False, is_played=self.played)
        self._resume()

    def _resume(self) -> None:
        while self.completion is None and self.current is not None and self.current.is_completed:
            task, generator = self.current, self.generator
            assert generator is not None
            self.context._is_replaying = task.is_played
            try:
                if task.state is TaskState.FAILED:
                    yielded = generator.throw(task.result)
                else:
                    yielded = generator.send(task.result)
            except StopIteration as stop:
                self._finish(stop.value)
                return
            except _Stop:
                raise
            except Exception as error:
                self._fail(error)
                return
            if self.continued_with is not None:
                self._finish(None)
                return
            if not isinstance(yielded, TaskBase):
                self._fail(TypeError(f"orchestrator yielded {yielded!r}: it must yield tasks from the context"))
                return
            yielded.schedule(self)
            self.current = yielded

    def _finish(self, value: Any) -> None:
        self.context._release_locks()  # a critical section ends with its execution
        if self.continued_with is not None:
            action_id, new_input = self.continued_with
            self.completion = Completion(
                id=action_id,
                status=OrchestrationRuntimeStatus.ContinuedAsNew,
                output=new_input,
                carryover_events=tuple(self.unclaimed),
            )
            return
        try:
            output = _json.dumps(value, "the orchestrator's output") if value is not None else None
        except (TypeError, ValueError) as error:
            self._fail(error)
            return
        self.completion = Completion(id=self._next_id(), status=OrchestrationRuntimeStatus.Completed, output=output)

    def _fail(self, error: BaseException) -> None:
        if not self.diverged:
            self.context._release_locks()
        details = failure_details(error)
        self.completion = Completion(
            id=self._next_id(), status=OrchestrationRuntimeStatus.Failed, output=None, failure_details=details
        )

    def _fail_nondeterministic(self, message: str) -> None:
        self.completion = None  # a completion reached by diverging code does not stand
        self.diverged = True  # and none of its actions may run
        self._fail(NonDeterminismError(message))
        raise _Stop

    def _stopped(self) -> bool:
        # Diverging code must not act, and a terminated instance starts no new work.
        terminated = self.completion is not None and self.completion.status is OrchestrationRuntimeStatus.Terminated
        return self.diverged or terminated

    def _result(self) -> ReplayResult:
        # Durable Functions publishes a custom status only when it is truthy (python-api.md §1.2).
        status = self.context.custom_status
        try:
            custom_status = _json.dumps(status, "the custom status") if status else None
            if custom_status is not None:
                _check_custom_status_size(custom_status)
        except (TypeError, ValueError) as error:
            custom_status = None
            if self.completion is None or self.completion.status is not OrchestrationRuntimeStatus.Terminated:
                if self.completion is None and not self.diverged:
                    self.context._release_locks()  # this failure ends the execution too
                failed_id = self.completion.id if self.completion is not None else self._next_id()
                details = failure_details(error)
                self.completion = Completion(
                    id=failed_id, status=OrchestrationRuntimeStatus.Failed, failure_details=details
                )
        ordered = [self.produced[i] for i in sorted(self.produced)]
        return ReplayResult(
            actions=[] if self._stopped() else [a for a in ordered if a.id not in self.historic],
            all_actions=ordered,
            custom_status=custom_status,
            completion=self.completion,
            is_suspended=self.suspended is not None and self.completion is None,
            carryover_events=list(self.unclaimed),
        )


_MAX_CUSTOM_STATUS_BYTES = 64 * 1024  # one table property, never offloaded (storage-layout.md §2.3)


def _check_custom_status_size(text: str) -> None:
    size = 2 * len(text) + 2 * sum(1 for ch in text if ord(ch) > 0xFFFF)  # UTF-16 bytes, as the table counts
    if size > _MAX_CUSTOM_STATUS_BYTES:
        raise ValueError(
            f"the custom status is too large: its JSON takes {size:,} bytes in UTF-16, and the Instances table "
            f"holds at most {_MAX_CUSTOM_STATUS_BYTES:,} (64 KiB) in one column"
        )


def _utc(moment: datetime) -> datetime:
    # A plain datetime (not a storage-specific subclass) so that str() and strftime() agree across sources.
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=timezone.utc,
    )
