"""Run an orchestrator over a history, without storage: the work it schedules, its status and its output.

    def hello(context):
        greeting = yield context.call_activity("say_hello", context.get_input())
        return greeting

    first = run_orchestrator(hello, HistoryBuilder().started("hello", input="Tokyo"))
    assert [(w.name, w.input) for w in first.activities] == [("say_hello", "Tokyo")]

    history = HistoryBuilder().started("hello", input="Tokyo").activity_completed("say_hello", "Hi")
    done = run_orchestrator(hello, history)
    assert done.status is OrchestrationRuntimeStatus.Completed and done.output == "Hi"

The replay is the worker's own (:func:`durable_storage.replay.replay`), so a test sees exactly what a worker would
do with that history, non-determinism checks included: history the code no longer matches ends the run as
Failed with a ``NonDeterminismError`` in :attr:`OrchestratorResult.error`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from durable_storage import _json
from durable_storage.app import Orchestrator
from durable_storage.entities import OPERATION, RequestMessage, scheduled_time_of
from durable_storage.errors import MessageFormatError
from durable_storage.history import ExecutionStartedEvent, FailureDetails, HistoryEvent, OrchestratorStartedEvent
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import (
    Action,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    ReplayOptions,
    ReplayResult,
    ScheduleTaskAction,
    replay,
)
from durable_storage.testing.history import HistoryBuilder, split_at_last_episode

__all__ = ["OrchestratorResult", "ScheduledWork", "WorkKind", "run_orchestrator"]

WorkKind = Literal["activity", "timer", "sub_orchestration", "entity", "event"]
"""What a piece of scheduled work is: ``call_activity``, ``create_timer``, ``call_sub_orchestrator``, an entity
operation (``call_entity``/``signal_entity``) or another event sent (a lock request or release)."""

_Status = OrchestrationRuntimeStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledWork:
    """One thing the orchestration asked for, with its payload decoded.

    Attributes:
        kind: see :data:`WorkKind`.
        id: the sequence id (the EventId its scheduling event gets in history).
        name: the activity, orchestrator or event name; the operation of an entity call; None for a timer and
            for a lock request.
        input: the decoded input (custom classes rebuilt with ``from_json`` when their module is loaded).
        instance_id: the child's or the target's instance ID (``@name@key`` for an entity).
        fire_at: when a timer fires (UTC).
        is_signal: True for ``signal_entity`` (no answer expected).
        action: the replay engine's action, undecoded.
    """

    kind: WorkKind
    id: int
    name: str | None
    input: Any = None
    instance_id: str | None = None
    fire_at: datetime | None = None
    is_signal: bool = False
    action: Action = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestratorResult:
    """What one episode of an orchestrator did with its history.

    Attributes:
        status: Running while it waits (Suspended when suspended), else how the execution ended: Completed,
            Failed, ContinuedAsNew or Terminated.
        actions: the new work of this episode, in sequence-id order (what a worker would send now).
        all_actions: every piece of work the code asked for during the replay, those already in history too.
        output: the decoded return value (Completed), the new input (ContinuedAsNew), or the reason (Terminated).
        error: why it failed (Failed), with ``error_type`` ``NonDeterminismError`` when history and code differ.
        custom_status: the decoded custom status (None when unset or falsy, as Durable Functions publishes it).
        replay: the replay engine's raw result.
    """

    status: OrchestrationRuntimeStatus
    actions: list[ScheduledWork]
    all_actions: list[ScheduledWork]
    output: Any = None
    error: FailureDetails | None = None
    custom_status: Any = None
    replay: ReplayResult = field(repr=False, compare=False)

    def _of(self, kind: WorkKind) -> list[ScheduledWork]:
        return [work for work in self.actions if work.kind == kind]

    @property
    def activities(self) -> list[ScheduledWork]:
        """The new activity calls."""
        return self._of("activity")

    @property
    def timers(self) -> list[ScheduledWork]:
        """The new timers."""
        return self._of("timer")

    @property
    def sub_orchestrations(self) -> list[ScheduledWork]:
        """The new sub-orchestrations."""
        return self._of("sub_orchestration")

    @property
    def entity_operations(self) -> list[ScheduledWork]:
        """The new entity calls and signals (lock requests have ``name`` None)."""
        return self._of("entity")

    @property
    def events_sent(self) -> list[ScheduledWork]:
        """The other new events sent (lock releases)."""
        return self._of("event")


def run_orchestrator(
    orchestrator: Callable[..., Any] | Orchestrator,
    history: HistoryBuilder | Sequence[HistoryEvent],
    *,
    new_events: Sequence[HistoryEvent] = (),
    instance_id: str | None = None,
    options: ReplayOptions | None = None,
) -> OrchestratorResult:
    """Replay ``orchestrator`` over ``history`` as a worker runs one episode, and say what it did.

    Args:
        orchestrator: the generator function (as registered with ``@app.orchestration_trigger``), a plain
            function, or an ``Orchestrator.create(fn)`` handle.
        history: a :class:`~durable_storage.testing.HistoryBuilder` or a list of events. The episode being run is
            what :meth:`HistoryBuilder.new` marked, or else the last episode (from the last OrchestratorStarted):
            its events replay with ``context.is_replaying`` False, everything before it as replay.
        new_events: messages delivered in a new episode after ``history`` (all of which is then past), framed by
            an OrchestratorStarted one second after the last event unless they begin with one.
        instance_id: the instance ID the code sees; by default the builder's, or the one in ExecutionStarted.
        options: the runtime's timer limits.

    Raises:
        TypeError: ``orchestrator`` is not callable.
        ValueError: the history has no ExecutionStarted event.
    """
    function = orchestrator.orchestrator_function if isinstance(orchestrator, Orchestrator) else orchestrator
    if not callable(function):
        raise TypeError(f"orchestrator {orchestrator!r} is invalid: must be a function or Orchestrator.create(fn)")
    past, new = _episode(history, new_events)
    started = next((e for e in (*past, *new) if isinstance(e, ExecutionStartedEvent)), None)
    if started is None:
        raise ValueError(
            f"history of {len(past) + len(new)} events is invalid: it has no ExecutionStarted event; "
            "begin it with HistoryBuilder.started(name, input=...)"
        )
    if instance_id is None:
        instance_id = history.instance_id if isinstance(history, HistoryBuilder) else None
    result = replay(
        function,
        instance_id=instance_id or started.orchestration_instance.instance_id,
        past_events=past,
        new_events=new,
        options=options,
    )
    return _result(result)


def _episode(
    history: HistoryBuilder | Sequence[HistoryEvent], new_events: Sequence[HistoryEvent]
) -> tuple[list[HistoryEvent], list[HistoryEvent]]:
    events = history.events if isinstance(history, HistoryBuilder) else list(history)
    if new_events:
        framed = list(new_events)
        if not isinstance(framed[0], OrchestratorStartedEvent):
            last = events[-1].timestamp if events else framed[0].timestamp
            framed.insert(0, OrchestratorStartedEvent(timestamp=last + timedelta(seconds=1)))
        return list(events), framed
    if isinstance(history, HistoryBuilder):
        return history.split()
    return split_at_last_episode(events)


def _result(result: ReplayResult) -> OrchestratorResult:
    completion = result.completion
    status = _Status.Running
    output: Any = None
    error: FailureDetails | None = None
    if completion is not None:
        status = completion.status
        output = _decoded(completion.output)
        error = completion.failure_details
    elif result.is_suspended:
        status = _Status.Suspended
    work = [scheduled_work(action) for action in result.all_actions]
    new_ids = {action.id for action in result.actions}
    return OrchestratorResult(
        status=status,
        actions=[w for w in work if w.id in new_ids],
        all_actions=work,
        output=output,
        error=error,
        custom_status=_decoded(result.custom_status),
        replay=result,
    )


def scheduled_work(action: Action) -> ScheduledWork:
    """An engine action as :class:`ScheduledWork`, payloads decoded."""
    if isinstance(action, ScheduleTaskAction):
        return ScheduledWork(
            kind="activity", id=action.id, name=action.name, input=_decoded(action.input), action=action
        )
    if isinstance(action, CreateTimerAction):
        return ScheduledWork(kind="timer", id=action.id, name=None, fire_at=action.fire_at, action=action)
    if isinstance(action, CreateSubOrchestrationAction):
        return ScheduledWork(
            kind="sub_orchestration",
            id=action.id,
            name=action.name,
            input=_decoded(action.input),
            instance_id=action.instance_id,
            action=action,
        )
    if action.instance_id.startswith("@") and (action.name == OPERATION or scheduled_time_of(action.name)):
        try:
            request = RequestMessage.from_json(action.input)
        except MessageFormatError:
            request = None
        if request is not None:
            return ScheduledWork(
                kind="entity",
                id=action.id,
                name=request.operation,
                input=_decoded(request.input),
                instance_id=action.instance_id,
                is_signal=request.is_signal,
                fire_at=request.scheduled_time,
                action=action,
            )
    return ScheduledWork(
        kind="event",
        id=action.id,
        name=action.name,
        input=_decoded(action.input),
        instance_id=action.instance_id,
        action=action,
    )


def _decoded(text: str | None) -> Any:
    try:
        return _json.loads(text)
    except MessageFormatError:
        return text  # not JSON (a .NET client's raw text), or a class whose module is not loaded: the text itself
