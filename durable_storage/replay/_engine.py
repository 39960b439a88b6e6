"""Replay: run an orchestrator over its history and return what it wants done next; pure.

The algorithm is azure-functions-durable 1.7's (python-api.md §2.3) joined with DTFx's checks
(storage-layout.md §4): events are processed in order through a table of small handlers; the generator resumes
whenever the task it waits on completes; every scheduling event of the history must match the action the code
produced with the same sequence id, or the orchestration fails as non-deterministic. Actions whose ids have no
scheduling event in history are the new work: the delta this episode returns.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from durable_storage import _json
from durable_storage._datetimes import plain_utc
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
from durable_storage.replay._context import DurableOrchestrationContext
from durable_storage.replay._locks import CriticalSection
from durable_storage.replay._outcomes import failure_details, outcome, request_id_of
from durable_storage.replay._pending import Pending
from durable_storage.replay._result import ReplayResult, custom_status_json
from durable_storage.replay._runtime import ExecutionInfo, ReplayOptions
from durable_storage.replay._tasks import AtomicTask, ExternalEventTask, TaskBase, TaskState

__all__ = ["OrchestratorFunction", "Replayer", "replay"]

# The user's orchestrator function (a generator function, or a plain one); the app's legacy ``Orchestrator``
# handle is another thing, the SDK's wrapper around one.
OrchestratorFunction = Callable[[DurableOrchestrationContext], Any]
_INPUT_TYPE_ATTRIBUTE = "durable_input_type"  # set by App.orchestration_trigger(input_type=...)
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


def replay(
    orchestrator: OrchestratorFunction,
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
    """The state of one replay: the :class:`~durable_storage.replay._runtime.ReplayRuntime` of its context."""

    def __init__(
        self, orchestrator: OrchestratorFunction, instance_id: str, options: ReplayOptions, history: list[HistoryEvent]
    ) -> None:
        self._orchestrator = orchestrator
        self._options = options
        self._history = history
        self._execution = ExecutionInfo(instance_id=instance_id)
        self._now = _EPOCH
        self._is_replaying = False
        self._locks = CriticalSection(self)
        self._context = DurableOrchestrationContext(self)
        self._pending = Pending()
        self._sequence = 0
        self._produced: dict[int, Action] = {}
        self._historic: set[int] = set()
        self._suspended: list[HistoryEvent] | None = None
        self._completion: Completion | None = None
        self._continued_with: tuple[int, str] | None = None
        self._generator: types.GeneratorType[Any, Any, Any] | None = None
        self._current: TaskBase | None = None
        self._played = False
        self._diverged = False
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

    # --- ReplayRuntime: what the context and tasks see -------------------------------------------------------

    @property
    def execution(self) -> ExecutionInfo:
        return self._execution

    @property
    def input_type(self) -> type | None:
        return getattr(self._orchestrator, _INPUT_TYPE_ATTRIBUTE, None)

    @property
    def current_utc_datetime(self) -> datetime:
        return self._now

    @property
    def is_replaying(self) -> bool:
        return self._is_replaying

    @property
    def options(self) -> ReplayOptions:
        return self._options

    @property
    def history(self) -> Sequence[HistoryEvent]:
        return self._history

    @property
    def locks(self) -> CriticalSection:
        return self._locks

    def schedule(self, task: AtomicTask) -> None:
        """Give ``task`` the next sequence id and record its action (nothing after continue_as_new)."""
        if self._continued_with is not None or task.make_action is None:
            return
        task.id = self._next_id()
        self._produced[task.id] = task.make_action(task.id)
        early = self._pending.expect(task, task.id)
        if early is not None:
            self._complete(task, early)

    def wait_for_event(self, task: ExternalEventTask) -> None:
        """Register ``task`` as a waiter; an event that arrived earlier completes it at once (first in, first out)."""
        task.id = task.name
        buffered = self._pending.wait_for(task)
        if buffered is not None:
            self._complete(task, buffered)

    def continue_as_new(self, new_input: str) -> None:
        """Record the continue-as-new; it completes the execution when the code returns or yields next."""
        if self._continued_with is None:
            self._locks.release()  # before the continue-as-new: nothing is scheduled after it
            self._continued_with = (self._next_id(), new_input)

    # --- the event loop --------------------------------------------------------------------------------------

    def run(self, past_count: int) -> ReplayResult:
        """Process every event, then collect the result."""
        try:
            for index, event in enumerate(self._history):
                if self._completion is not None:
                    self._check_after_completion(event)
                    continue
                self._played = index < past_count
                self._dispatch(event)
        except _Stop:
            pass
        return self._result()

    def position(self, execution: ExecutionInfo, now: datetime, *, is_replaying: bool) -> DurableOrchestrationContext:
        """The context, as if ``execution`` had started at ``now`` and the code were about to run (``from_json``)."""
        self._execution = execution
        self._now = now
        self._is_replaying = is_replaying
        return self._context

    def _check_after_completion(self, event: HistoryEvent) -> None:
        completion = self._completion
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
            self._completion = Completion(
                id=completion.id, status=OrchestrationRuntimeStatus.Terminated, output=event.input
            )
        elif isinstance(event, EventRaisedEvent) and completion.status is OrchestrationRuntimeStatus.ContinuedAsNew:
            # Events that arrive in the same batch after a continue-as-new belong to the next execution.
            self._pending.carry_over(event)
            self._completion = replace(completion, carryover_events=self._pending.unclaimed)

    def _dispatch(self, event: HistoryEvent) -> None:
        # While suspended, only resume and terminate get through; the rest waits in order (DTFx semantics).
        # Scheduling events are records of what the code already did, not deliveries: they never wait.
        if self._suspended is not None and event.event_type not in _PASS_WHILE_SUSPENDED:
            self._suspended.append(event)
            return
        handler = self._handlers.get(event.event_type)
        if handler is not None:  # OrchestratorCompleted, GenericEvent, HistoryState ... change nothing here
            handler(event)

    def _on_orchestrator_started(self, event: OrchestratorStartedEvent) -> None:
        self._now = max(self._now, plain_utc(event.timestamp))

    def _on_execution_started(self, event: ExecutionStartedEvent) -> None:
        if self._generator is not None or self._completion is not None:
            return  # a duplicate start (a re-delivered message): DTFx drops it
        self._execution = ExecutionInfo.started(self._execution.instance_id, event)
        if self._now == _EPOCH:
            self._now = plain_utc(event.timestamp)
        self._start()

    def _on_scheduled(self, event: HistoryEvent) -> None:
        message = check_scheduled(event, self._produced.get(event.event_id))
        if message is not None:
            self._fail_nondeterministic(message)
        self._historic.add(event.event_id)

    def _on_event_sent(self, event: EventSentEvent) -> None:
        self._on_scheduled(event)
        self._pending.request_sent(event.event_id, request_id_of(event.input))

    def _on_result(
        self,
        event: TaskCompletedEvent
        | TaskFailedEvent
        | SubOrchestrationInstanceCompletedEvent
        | SubOrchestrationInstanceFailedEvent
        | TimerFiredEvent,
    ) -> None:
        key = event.timer_id if isinstance(event, TimerFiredEvent) else event.task_scheduled_id
        task = self._pending.result_arrived(key, event)
        if task is not None:
            self._complete(task, event)
            self._resume()

    def _on_event_raised(self, event: EventRaisedEvent) -> None:
        task = self._pending.event_raised(event)
        if task is not None:
            self._complete(task, event)
            self._resume()

    def _on_terminated(self, event: ExecutionTerminatedEvent) -> None:
        # DTFx completes a terminated orchestration through CompleteOrchestration, which takes the next id.
        self._completion = Completion(
            id=self._next_id(), status=OrchestrationRuntimeStatus.Terminated, output=event.input
        )

    def _on_suspended(self, event: HistoryEvent) -> None:
        if self._suspended is None:
            self._suspended = []

    def _on_resumed(self, event: HistoryEvent) -> None:
        held, self._suspended = self._suspended, None
        for waiting in held or []:
            self._dispatch(waiting)
            if self._completion is not None:
                return

    # --- results into tasks, and the generator ---------------------------------------------------------------

    def _complete(self, task: AtomicTask, event: HistoryEvent) -> None:
        try:
            value, failed = outcome(task, event)
        except Exception as error:  # an undecodable result fails the task, not the replay
            value, failed = error, True
        task.complete(value, failed=failed, is_played=self._played)

    def _next_id(self) -> int:
        self._sequence += 1
        return self._sequence - 1

    def _start(self) -> None:
        try:
            result = self._orchestrator(self._context)
        except Exception as error:
            self._fail(error)
            return
        if not isinstance(result, types.GeneratorType):
            self._finish(result)  # a plain function's return value is the output
            return
        self._generator = result
        self._current = TaskBase()
        self._current.complete(None, failed=False, is_played=self._played)
        self._resume()

    def _resume(self) -> None:
        while self._completion is None and self._current is not None and self._current.is_completed:
            task, generator = self._current, self._generator
            assert generator is not None
            self._is_replaying = task.is_played
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
            if self._continued_with is not None:
                self._finish(None)
                return
            if not isinstance(yielded, TaskBase):
                self._fail(TypeError(f"orchestrator yielded {yielded!r}: it must yield tasks from the context"))
                return
            yielded.schedule(self)
            self._current = yielded

    # --- the end of the execution, and the result ------------------------------------------------------------

    def _finish(self, value: Any) -> None:
        self._locks.release()  # a critical section ends with its execution
        if self._continued_with is not None:
            action_id, new_input = self._continued_with
            self._completion = Completion(
                id=action_id,
                status=OrchestrationRuntimeStatus.ContinuedAsNew,
                output=new_input,
                carryover_events=self._pending.unclaimed,
            )
            return
        try:
            output = _json.dumps(value, "the orchestrator's output") if value is not None else None
        except (TypeError, ValueError) as error:
            self._fail(error)
            return
        self._completion = Completion(id=self._next_id(), status=OrchestrationRuntimeStatus.Completed, output=output)

    def _fail(self, error: BaseException) -> None:
        if not self._diverged:
            self._locks.release()
        details = failure_details(error)
        self._completion = Completion(
            id=self._next_id(), status=OrchestrationRuntimeStatus.Failed, output=None, failure_details=details
        )

    def _fail_nondeterministic(self, message: str) -> None:
        self._completion = None  # a completion reached by diverging code does not stand
        self._diverged = True  # and none of its actions may run
        self._fail(NonDeterminismError(message))
        raise _Stop

    def _stopped(self) -> bool:
        # Diverging code must not act, and a terminated instance starts no new work.
        completion = self._completion
        terminated = completion is not None and completion.status is OrchestrationRuntimeStatus.Terminated
        return self._diverged or terminated

    def _custom_status(self) -> str | None:
        try:
            return custom_status_json(self._context.custom_status)
        except (TypeError, ValueError) as error:
            completion = self._completion
            if completion is None or completion.status is not OrchestrationRuntimeStatus.Terminated:
                if completion is None and not self._diverged:
                    self._locks.release()  # this failure ends the execution too
                failed_id = completion.id if completion is not None else self._next_id()
                details = failure_details(error)
                self._completion = Completion(
                    id=failed_id, status=OrchestrationRuntimeStatus.Failed, failure_details=details
                )
            return None

    def _result(self) -> ReplayResult:
        custom_status = self._custom_status()
        ordered = [self._produced[i] for i in sorted(self._produced)]
        return ReplayResult(
            actions=[] if self._stopped() else [a for a in ordered if a.id not in self._historic],
            all_actions=ordered,
            custom_status=custom_status,
            completion=self._completion,
            is_suspended=self._suspended is not None and self._completion is None,
            carryover_events=list(self._pending.unclaimed),
        )
