"""One episode of an orchestration, as data: what to append to history, what to send, what the status is. Pure.

This is DTFx's ``TaskOrchestrationDispatcher`` turned into a function: frame the new messages with
OrchestratorStarted/OrchestratorCompleted, replay, turn each new action into its scheduling event and its outbound
message (storage-layout.md §3.3, §4), record the completion, notify a parent, and run a continue-as-new's next
execution in the same episode (storage-layout.md §5.5). Nothing here touches storage; ``_checkpoint`` commits the
result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from durable_storage._envelope import MessageData, TaskMessage, with_parent_trace_context
from durable_storage._runtime_state import RuntimeState, runtime_state
from durable_storage.history import (
    ContinueAsNewEvent,
    DistributedTraceContext,
    EventRaisedEvent,
    EventSentEvent,
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    FailureDetails,
    HistoryEvent,
    OrchestrationInstance,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
    ParentInstance,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceCreatedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import (
    Action,
    Completion,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    OrchestratorFunction,
    ReplayOptions,
    ScheduleTaskAction,
    replay,
)

__all__ = ["Episode", "Outbound", "failed_episode", "run_episode", "with_trace_context"]

_Status = OrchestrationRuntimeStatus
_MAX_CONTINUATIONS = 100  # continue-as-new loops within one episode before we checkpoint and go on later
_MAX_LOCAL_ROUNDS = 100  # rounds of local activities in one episode; beyond it they go out as ordinary work items
_TERMINAL_FOR_PARENT = frozenset({_Status.Completed, _Status.Failed, _Status.Terminated})


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message to send: to the work-item queue (``to_work_items``) or to ``instance_id``'s control queue."""

    message: MessageData
    instance_id: str
    to_work_items: bool = False
    visible_at: datetime | None = None


@dataclass(slots=True)
class Episode:
    """The outcome of one episode, ready to checkpoint.

    Attributes:
        execution_id: the execution the history rows belong to (a new one after continue-as-new).
        first_index: the position of ``appended[0]`` in that execution's history (0 for a new execution).
        appended: the events to append.
        history: the whole history of the execution after the episode.
        outbound: messages to send before the history is written.
        state: the runtime state after the episode.
        custom_status: the custom status JSON text (None when unset).
        pending_local: local activities scheduled and not run yet: run them, then :func:`resume_episode`.
        local_rounds: how many rounds of local activities this episode ran.
        before: the runtime state before the episode.
    """

    execution_id: str
    first_index: int
    appended: list[HistoryEvent]
    history: list[HistoryEvent]
    outbound: list[Outbound] = field(default_factory=list)
    state: RuntimeState | None = None
    custom_status: str | None = None
    pending_local: list[TaskScheduledEvent] = field(default_factory=list)
    local_rounds: int = 0
    before: RuntimeState | None = None


def run_episode(
    orchestrator: OrchestratorFunction,
    *,
    instance_id: str,
    history: Sequence[HistoryEvent],
    messages: Sequence[HistoryEvent],
    now: datetime,
    options: ReplayOptions | None = None,
    resolve: Callable[[str], OrchestratorFunction] | None = None,
    is_local: Callable[[str], bool] | None = None,
) -> Episode:
    """Run one episode of ``instance_id`` over its ``history`` and the new ``messages`` (events, in order).

    ``resolve`` finds the orchestrator of a new execution by name (continue-as-new keeps the name). ``is_local``
    tells the activities that run inside the episode: when the orchestrator schedules some, the episode stops with
    them in ``pending_local`` (nothing is sent for them); the caller runs them and calls :func:`resume_episode`.
    """
    state = runtime_state(history)
    episode = Episode(_execution_id(history, messages), len(history), [], list(history), before=state)
    new_events: list[HistoryEvent] = [OrchestratorStartedEvent(timestamp=now), *messages]
    return _advance(
        orchestrator,
        episode,
        new_events,
        instance_id=instance_id,
        now=now,
        options=options,
        resolve=resolve,
        is_local=is_local,
    )


def resume_episode(
    orchestrator: OrchestratorFunction,
    episode: Episode,
    results: Sequence[HistoryEvent],
    *,
    instance_id: str,
    now: datetime,
    options: ReplayOptions | None = None,
    resolve: Callable[[str], OrchestratorFunction] | None = None,
    is_local: Callable[[str], bool] | None = None,
) -> Episode:
    """Go on with ``episode`` after its local activities ran: ``results`` are their TaskCompleted/TaskFailed.

    The history gets what a worker would have written had they run as ordinary activities: a new round
    (OrchestratorStarted, the results, what the orchestrator does next, OrchestratorCompleted), all in one
    checkpoint.
    """
    episode.pending_local = []
    new_events: list[HistoryEvent] = [OrchestratorStartedEvent(timestamp=now), *results]
    return _advance(
        orchestrator,
        episode,
        new_events,
        instance_id=instance_id,
        now=now,
        options=options,
        resolve=resolve,
        is_local=is_local,
    )


def _advance(
    orchestrator: OrchestratorFunction,
    episode: Episode,
    new_events: list[HistoryEvent],
    *,
    instance_id: str,
    now: datetime,
    options: ReplayOptions | None,
    resolve: Callable[[str], OrchestratorFunction] | None,
    is_local: Callable[[str], bool] | None,
) -> Episode:
    state = episode.before if episode.before is not None else runtime_state([])
    outbound: list[Outbound] = list(episode.outbound)
    for _ in range(_MAX_CONTINUATIONS):
        result = replay(
            orchestrator, instance_id=instance_id, past_events=episode.history, new_events=new_events, options=options
        )
        started = runtime_state([*episode.history, *new_events]).started
        completion = result.completion
        local: set[int] = set()
        if is_local is not None and completion is None and episode.local_rounds < _MAX_LOCAL_ROUNDS:
            local = {a.id for a in result.actions if isinstance(a, ScheduleTaskAction) and is_local(a.name)}
        scheduling = _scheduling_events(result.actions, now)
        appended = [*new_events, *scheduling]
        outbound += [
            _outbound(
                a, instance_id=instance_id, execution_id=episode.execution_id, started=started, now=now, state=state
            )
            for a in result.actions
            if not (isinstance(a, ScheduleTaskAction) and a.id in local)
        ]
        if completion is not None:
            appended.append(_completed_event(completion, now))
            outbound += _notify_parent(started, completion, now)
        appended.append(OrchestratorCompletedEvent(timestamp=now))
        episode.appended += appended
        episode.history += appended
        episode.custom_status = result.custom_status
        if local:
            episode.local_rounds += 1
            episode.pending_local = [e for e in scheduling if isinstance(e, TaskScheduledEvent) and e.event_id in local]
            break
        if completion is None or completion.status is not _Status.ContinuedAsNew or started is None:
            break
        # Continue-as-new runs the next execution in this same episode, from RowKey 0 (storage-layout.md §5.5).
        next_started = _next_execution(started, completion, instance_id, now)
        episode = Episode(next_started.orchestration_instance.execution_id or "", 0, [], [], before=state)
        new_events = [OrchestratorStartedEvent(timestamp=now), next_started, *completion.carryover_events]
        if resolve is not None:
            orchestrator = resolve(next_started.name)
    episode.outbound = outbound
    episode.state = runtime_state(episode.history)
    return episode


def _execution_id(history: Sequence[HistoryEvent], messages: Sequence[HistoryEvent]) -> str:
    started = runtime_state([*history, *messages]).started
    return (started.orchestration_instance.execution_id or "") if started is not None else ""


def _scheduling_events(actions: Sequence[Action], now: datetime) -> list[HistoryEvent]:
    events: list[HistoryEvent] = []
    for action in actions:
        if isinstance(action, ScheduleTaskAction):
            events.append(
                TaskScheduledEvent(
                    event_id=action.id, timestamp=now, name=action.name, version=action.version, input=action.input
                )
            )
        elif isinstance(action, CreateTimerAction):
            events.append(TimerCreatedEvent(event_id=action.id, timestamp=now, fire_at=action.fire_at))
        elif isinstance(action, CreateSubOrchestrationAction):
            events.append(
                SubOrchestrationInstanceCreatedEvent(
                    event_id=action.id,
                    timestamp=now,
                    name=action.name,
                    version=action.version,
                    instance_id=action.instance_id,
                    input=action.input,
                )
            )
        else:
            events.append(
                EventSentEvent(
                    event_id=action.id,
                    timestamp=now,
                    instance_id=action.instance_id,
                    name=action.name,
                    input=action.input,
                )
            )
    return events


def _message(
    event: HistoryEvent, target: OrchestrationInstance, sender: OrchestrationInstance, episode: int | None
) -> MessageData:
    return MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(event=event, orchestration_instance=target),
        episode=episode,
        sender=sender,
    )


def _outbound(
    action: Action,
    *,
    instance_id: str,
    execution_id: str,
    started: ExecutionStartedEvent | None,
    now: datetime,
    state: RuntimeState,
) -> Outbound:
    me = OrchestrationInstance(instance_id, execution_id)
    episode = state.episodes + 1
    if isinstance(action, ScheduleTaskAction):
        event: HistoryEvent = TaskScheduledEvent(
            event_id=action.id, timestamp=now, name=action.name, version=action.version, input=action.input
        )
        return Outbound(_message(event, me, me, episode), instance_id, to_work_items=True)
    if isinstance(action, CreateTimerAction):
        fired = TimerFiredEvent(timestamp=now, timer_id=action.id, fire_at=action.fire_at)
        return Outbound(_message(fired, me, me, episode), instance_id, visible_at=action.fire_at)
    if isinstance(action, CreateSubOrchestrationAction):
        child = OrchestrationInstance(action.instance_id, _child_execution_id(me, action.id))
        parent = ParentInstance(
            name=started.name if started is not None else "",
            orchestration_instance=me,
            task_schedule_id=action.id,
            version=started.version if started is not None else None,
        )
        start = ExecutionStartedEvent(
            timestamp=now,
            orchestration_instance=child,
            parent_instance=parent,
            name=action.name,
            version=action.version,
            input=action.input,
            generation=0,
        )
        return Outbound(_message(start, child, me, episode), action.instance_id)
    raised = EventRaisedEvent(timestamp=now, name=action.name, input=action.input)
    target = OrchestrationInstance(action.instance_id, None)
    return Outbound(_message(raised, target, me, episode), action.instance_id, visible_at=action.scheduled_time)


def _child_execution_id(parent: OrchestrationInstance, action_id: int) -> str:
    # Deterministic, so that a re-run of an episode whose checkpoint failed re-sends the very same start.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"durable-storage/{parent.instance_id}/{parent.execution_id}/{action_id}").hex


def _completed_event(completion: Completion, now: datetime) -> ExecutionCompletedEvent:
    if completion.status is _Status.ContinuedAsNew:
        return ContinueAsNewEvent(event_id=completion.id, timestamp=now, result=completion.output)
    return ExecutionCompletedEvent(
        event_id=completion.id,
        timestamp=now,
        orchestration_status=completion.status,
        result=completion.output,
        failure_details=completion.failure_details,
    )


def _notify_parent(started: ExecutionStartedEvent | None, completion: Completion, now: datetime) -> list[Outbound]:
    parent = started.parent_instance if started is not None else None
    if parent is None or completion.status not in _TERMINAL_FOR_PARENT:
        return []
    event: HistoryEvent
    if completion.status is _Status.Completed:
        event = SubOrchestrationInstanceCompletedEvent(
            timestamp=now, task_scheduled_id=parent.task_schedule_id, result=completion.output
        )
    else:
        details = completion.failure_details
        reason = details.error_message if details is not None else f"terminated: {completion.output}"
        event = SubOrchestrationInstanceFailedEvent(
            timestamp=now,
            task_scheduled_id=parent.task_schedule_id,
            reason=reason,
            details=details.stack_trace if details is not None else None,
            failure_details=details,
        )
    assert started is not None
    me = started.orchestration_instance
    message = _message(event, parent.orchestration_instance, me, None)
    return [Outbound(message, parent.orchestration_instance.instance_id)]


def _next_execution(
    started: ExecutionStartedEvent, completion: Completion, instance_id: str, now: datetime
) -> ExecutionStartedEvent:
    previous = started.orchestration_instance.execution_id or ""
    execution_id = uuid.uuid5(uuid.NAMESPACE_URL, f"durable-storage/{instance_id}/{previous}/continue").hex
    return ExecutionStartedEvent(
        timestamp=now,
        orchestration_instance=OrchestrationInstance(instance_id, execution_id),
        parent_instance=started.parent_instance,
        name=started.name,
        version=started.version,
        input=completion.output,
        tags=started.tags,
        # The next generation keeps the trace lineage (TaskOrchestrationDispatcher: SetParentTraceContext).
        parent_trace_context=started.parent_trace_context,
        generation=(started.generation or 0) + 1,
    )


def with_trace_context(episode: Episode, context: DistributedTraceContext) -> Episode:
    """``episode`` handing on ``context`` (its span's) as DurableTask.Core does, for the activity and sub-orchestration
    spans to be its children: on each TaskScheduled it sends and records, and on the ExecutionStarted of each child.

    An ExecutionStarted it appends without a trace context (a start from an untraced client) gets ``context`` too:
    the later episodes of that execution then join this episode's trace.
    """
    stamped: dict[int, HistoryEvent] = {}
    for event in episode.appended:
        if isinstance(event, TaskScheduledEvent) or (
            isinstance(event, ExecutionStartedEvent) and event.parent_trace_context is None
        ):
            stamped[id(event)] = replace(event, parent_trace_context=context)
    outbound = [replace(o, message=with_parent_trace_context(o.message, context)) for o in episode.outbound]
    if not stamped:
        return replace(episode, outbound=outbound)
    return replace(
        episode,
        appended=[stamped.get(id(e), e) for e in episode.appended],
        history=[stamped.get(id(e), e) for e in episode.history],
        outbound=outbound,
    )


def failed_episode(
    history: Sequence[HistoryEvent],
    reason: str,
    now: datetime,
    *,
    error_type: str,
    messages: Sequence[HistoryEvent] = (),
) -> Episode:
    """An episode that fails the running execution in ``history`` with ``reason`` (and tells a parent).

    For an instance whose messages can never be processed: it ends Failed instead of being retried forever.
    ``messages``: the new events the episode consumes (recorded, as an ordinary episode records them).
    """
    started = runtime_state([*history, *messages]).started
    details = FailureDetails(error_type=error_type, error_message=reason)
    completion = Completion(id=-1, status=_Status.Failed, failure_details=details)
    appended: list[HistoryEvent] = [
        OrchestratorStartedEvent(timestamp=now),
        *messages,
        _completed_event(completion, now),
        OrchestratorCompletedEvent(timestamp=now),
    ]
    execution_id = (started.orchestration_instance.execution_id or "") if started is not None else ""
    whole = [*history, *appended]
    return Episode(
        execution_id,
        len(history),
        appended,
        whole,
        _notify_parent(started, completion, now),
        state=runtime_state(whole),
    )
