"""Replay one stored history against the code and say where they part ways, if they do; pure.

The whole history of the current execution replays as past events, exactly as a worker's next episode would
replay it before adding anything new (``durable_storage.replay``). Three things must hold for the code to be safe
to deploy while the instance is in flight:

1. every scheduling event in history matches the action the code produces with the same sequence id (the
   engine's own non-determinism check, storage-layout.md §4: this is DTFx's "Non-Deterministic workflow
   detected");
2. the code asks for nothing history does not have: a correctly checkpointed episode records every action,
   so a new action after a full replay means the code now does something the recorded run did not do at the
   point where it waits;
3. the code ends as history ended: still waiting when history is still running, or with the recorded status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from durable_storage._event_text import describe_event
from durable_storage._runtime_state import runtime_state
from durable_storage.entities import OPERATION, RELEASE, RequestMessage, scheduled_time_of
from durable_storage.errors import MessageFormatError, NonDeterminismError
from durable_storage.gate._report import GateFailure, InstanceCheck, Outcome
from durable_storage.history import (
    EventSentEvent,
    ExecutionCompletedEvent,
    HistoryEvent,
    SubOrchestrationInstanceCreatedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import (
    HTTP_ACTIVITY,
    Action,
    Completion,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    OrchestratorFunction,
    ReplayOptions,
    ReplayResult,
    ScheduleTaskAction,
    replay,
)
from durable_storage.replay._checks import check_scheduled

__all__ = ["check_history", "describe_action", "describe_completion"]

_Status = OrchestrationRuntimeStatus
_SCHEDULING = (TaskScheduledEvent, TimerCreatedEvent, SubOrchestrationInstanceCreatedEvent, EventSentEvent)
_NONDETERMINISM = NonDeterminismError.__name__


def check_history(
    orchestrator: OrchestratorFunction | None,
    *,
    instance_id: str,
    name: str,
    events: Sequence[HistoryEvent],
    runtime_status: str | None = None,
    missing: str = "",
    options: ReplayOptions | None = None,
) -> InstanceCheck:
    """Replay ``events`` (one execution's history) with ``orchestrator`` and compare.

    ``orchestrator`` None means the app has none of that ``name``; ``missing`` then says what it has. ``options``
    must be the workers' timer limits (``WorkerOptions.replay``): they decide how long timers are split.
    """

    def check(outcome: Outcome, failure: GateFailure | None = None, note: str | None = None) -> InstanceCheck:
        return InstanceCheck(
            instance_id=instance_id,
            name=name,
            runtime_status=runtime_status,
            events=len(events),
            outcome=outcome,
            failure=failure,
            note=note,
        )

    if not events:
        return check("skipped", note="no history yet: the instance has not started running")
    if orchestrator is None:
        reason = f"orchestrator {name!r} is not registered in the app{missing}: this instance could not run at all"
        return check(
            "failed",
            GateFailure(
                sequence=None,
                history_index=None,
                recorded=f"ExecutionStarted {name!r}",
                actual="no such orchestrator in the app",
                reason=reason,
            ),
        )
    try:
        code = _Code(orchestrator, instance_id, options)
        failure = _divergence(code, events, code.replay(events))
    except Exception as error:  # the engine contains user code's errors; anything else is still a failed check
        failure = GateFailure(
            sequence=None,
            history_index=None,
            recorded="a replayable history",
            actual=f"the replay raised {type(error).__name__}: {error}",
            reason=f"replaying {instance_id!r} raised {type(error).__name__}: {error}",
        )
    return check("failed", failure) if failure is not None else check("passed")


@dataclass(frozen=True, slots=True)
class _Code:
    """The orchestrator under test, replaying one instance's history (or the start of it) as past events."""

    orchestrator: OrchestratorFunction
    instance_id: str
    options: ReplayOptions | None

    def replay(self, events: Sequence[HistoryEvent]) -> ReplayResult:
        return replay(
            self.orchestrator, instance_id=self.instance_id, past_events=events, new_events=[], options=self.options
        )


def _divergence(code: _Code, events: Sequence[HistoryEvent], result: ReplayResult) -> GateFailure | None:
    completion = result.completion
    if completion is not None and _is_nondeterminism(completion):
        return _mismatch(code, events, result, completion)
    ended = runtime_state(events).completed
    if result.actions:
        first = result.actions[0]
        recorded = "nothing: the recorded run was waiting here" if ended is None else "no such action before it ended"
        return GateFailure(
            sequence=first.id,
            history_index=None,
            recorded=recorded,
            actual=describe_action(first),
            reason=(
                f"after replaying all {len(events)} history events the code now also does "
                f"{describe_action(first)} (sequence {first.id}), which the recorded run never did"
            ),
        )
    if ended is None:
        if completion is None:
            return None
        return GateFailure(
            sequence=completion.id,
            history_index=None,
            recorded="nothing: the orchestration was still running",
            actual=describe_completion(completion),
            reason=(
                f"history shows the orchestration still running, but replaying it the code ends at sequence "
                f"{completion.id}: {describe_completion(completion)}"
            ),
        )
    return _ending(events, ended, completion)


def _ending(
    events: Sequence[HistoryEvent], ended: ExecutionCompletedEvent, completion: Completion | None
) -> GateFailure | None:
    recorded_status = ended.orchestration_status
    if completion is not None and completion.status is recorded_status:
        return None
    index = next(i for i, e in enumerate(events) if e is ended)
    actual = describe_completion(completion) if completion is not None else "no completion: the code still waits"
    return GateFailure(
        sequence=ended.event_id if ended.event_id >= 0 else (completion.id if completion else None),
        history_index=index,
        recorded=f"ExecutionCompleted {recorded_status.name}",
        actual=actual,
        reason=f"history ended the execution as {recorded_status.name}, but replaying it the code: {actual}",
    )


def _mismatch(code: _Code, events: Sequence[HistoryEvent], result: ReplayResult, completion: Completion) -> GateFailure:
    message = completion.failure_details.error_message if completion.failure_details else _NONDETERMINISM
    # The engine stops at the first scheduling event the code does not match, so the actions it produced are
    # exactly those it had when it checked: scanning history in order finds the same event.
    produced = {action.id: action for action in result.all_actions}
    for index, event in enumerate(events):
        if not isinstance(event, _SCHEDULING):
            continue
        action = produced.get(event.event_id)
        if check_scheduled(event, action) is None:
            continue
        actual = describe_action(action) if action is not None else _instead(code, events[:index])
        return GateFailure(
            sequence=event.event_id,
            history_index=index,
            recorded=describe_event(event),
            actual=actual,
            reason=message,
        )
    return GateFailure(sequence=None, history_index=None, recorded="?", actual="?", reason=message)


def _instead(code: _Code, before: Sequence[HistoryEvent]) -> str:
    """What the code did where history has a scheduling event it did not produce: it ended, or it waits."""
    # The engine drops a completion that diverging code reached; replaying up to the event shows it again.
    earlier = code.replay(before)
    if earlier.completion is not None and not _is_nondeterminism(earlier.completion):
        return describe_completion(earlier.completion)
    return "no action"


def _is_nondeterminism(completion: Completion) -> bool:
    details = completion.failure_details
    return completion.status is _Status.Failed and details is not None and details.error_type == _NONDETERMINISM


def describe_action(action: Action) -> str:
    """An action as the call in user code that made it: ``call_activity 'greet'``."""
    if isinstance(action, ScheduleTaskAction):
        return "call_http" if action.name == HTTP_ACTIVITY else f"call_activity {action.name!r}"
    if isinstance(action, CreateTimerAction):
        return f"create_timer (due {action.fire_at.isoformat()})"
    if isinstance(action, CreateSubOrchestrationAction):
        return f"call_sub_orchestrator {action.name!r}"
    if action.name == RELEASE:
        return f"release the lock on {action.instance_id!r}"
    if action.name == OPERATION or scheduled_time_of(action.name) is not None:
        try:
            request = RequestMessage.from_json(action.input)
        except MessageFormatError:
            return f"send an entity message to {action.instance_id!r}"
        if request.is_lock_request:
            return f"lock_entities ({action.instance_id!r} first)"
        call = "signal_entity" if request.is_signal else "call_entity"
        return f"{call} {action.instance_id!r} {request.operation!r}"
    return f"send event {action.name!r} to {action.instance_id!r}"


def describe_completion(completion: Completion) -> str:
    """How the code ended the execution: ``orchestration completed``, ``orchestration failed: ...``."""
    if completion.status is _Status.Failed:
        details = completion.failure_details
        why = f": {details.error_type}: {details.error_message}" if details is not None else ""
        return f"orchestration failed{why}"
    if completion.status is _Status.ContinuedAsNew:
        return "continue_as_new"
    return f"orchestration {completion.status.name.lower()}"
