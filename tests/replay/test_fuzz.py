"""Fuzzing the replay engine with generated, then mangled, histories (issue 4, point 8).

Well-formed histories come from running representative orchestrators episode by episode, as a worker would: each
episode's new actions become scheduling events, then Hypothesis picks which pending work answers (and how) and
which external events arrive in the next episode. Mutations then duplicate, reorder, drop and truncate events, add
completions for unknown ids, irrelevant or out-of-place event kinds and undecodable payloads, change the kind
recorded at a sequence id, and split past from new anywhere. Whatever the history, replay is deterministic, never
raises, returns a delta that does not repeat history, and depends on the past/new split only through
``is_replaying`` (which these orchestrators ignore).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_storage import _json
from durable_storage.errors import TaskFailedError
from durable_storage.history import (
    ContinueAsNewEvent,
    EventRaisedEvent,
    EventSentEvent,
    ExecutionCompletedEvent,
    ExecutionResumedEvent,
    ExecutionRewoundEvent,
    ExecutionStartedEvent,
    ExecutionSuspendedEvent,
    ExecutionTerminatedEvent,
    GenericEvent,
    HistoryEvent,
    HistoryStateEvent,
    OrchestrationInstance,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
    SubOrchestrationInstanceCreatedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)
from durable_storage.models import EntityId, OrchestrationRuntimeStatus, RetryOptions
from durable_storage.replay import (
    Action,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    DurableOrchestrationContext,
    ReplayResult,
    ScheduleTaskAction,
    SendEventAction,
    replay,
)
from durable_storage.testing.history import HistoryBuilder
from tests.strategies import (
    answers,
    event_at,
    garbage,
    payloads,
    scheduling_events,
    small_texts,
    small_times,
    small_values,
)

INSTANCE = "fuzz-instance"
MAX_EPISODES = 8
SCHEDULING = (TaskScheduledEvent, TimerCreatedEvent, SubOrchestrationInstanceCreatedEvent, EventSentEvent)
Context = DurableOrchestrationContext
Orchestration = Generator[Any, Any, Any]

# --- representative orchestrators (module-level and stateless, so every replay runs the same code) -----------


def sequence(context: Context) -> Orchestration:
    first = yield context.call_activity("hello", context.get_input())
    second = yield context.call_activity("hello", first)
    context.set_custom_status({"step": 2})
    third = yield context.call_activity("hello", second)
    return [first, second, third]


def fan_out_fan_in(context: Context) -> Orchestration:
    results = yield context.task_all([context.call_activity("work", i) for i in range(3)])
    return (yield context.call_activity("sum", results))


def retries(context: Context) -> Orchestration:
    options = RetryOptions(1_000, 3)
    try:
        value = yield context.call_activity_with_retry("flaky", options, context.get_input())
    except TaskFailedError as error:
        value = error.reason
    return (yield context.call_sub_orchestrator_with_retry("child", options, value))


def timers(context: Context) -> Orchestration:
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    yield context.create_timer(timedelta(days=8))  # longer than the maximum delay: a chain of sub-timers
    return context.current_utc_datetime.isoformat()


def external_events(context: Context) -> Orchestration:
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    approval = context.wait_for_external_event("approval")
    winner = yield context.task_any([approval, timeout])
    if winner is approval:
        timeout.cancel()
        return approval.result
    return ["timed out", (yield context.wait_for_external_event("reject"))]


def sub_orchestrations(context: Context) -> Orchestration:
    first = yield context.call_sub_orchestrator("child", 1)
    both = context.task_all(
        [context.call_sub_orchestrator("child", first, instance_id=context.new_uuid()), context.call_activity("a")]
    )
    return (yield both)


def entities(context: Context) -> Orchestration:
    counter = EntityId("counter", "k")
    context.signal_entity(counter, "add", 1)
    value = yield context.call_entity(counter, "get")
    context.set_custom_status(value)
    return value


def eternal(context: Context) -> Orchestration:
    count = context.get_input() or 0
    yield context.task_any([context.call_activity("tick", count), context.wait_for_external_event("stop")])
    context.continue_as_new(count + 1)


def fragile(context: Context) -> Orchestration:
    value = yield context.call_activity("parse", context.get_input())
    if isinstance(value, str):
        yield value  # not a task: the orchestration fails
    context.set_custom_status(value + 1)  # a TypeError for anything but a number
    winner = yield context.task_any([context.call_activity("a"), context.wait_for_external_event("approval")])
    return winner.result  # a failed task's result is an exception: not JSON, so the orchestration fails


ORCHESTRATORS: list[Callable[[Context], Orchestration]] = [
    sequence,
    fan_out_fan_in,
    retries,
    timers,
    external_events,
    sub_orchestrations,
    entities,
    eternal,
    fragile,
]

# --- values, payloads and stray events ------------------------------------------------------------------------

Events = list[HistoryEvent]
WAITED = ["approval", "reject", "stop", "Approval"]  # the names the orchestrators wait for, and a wrong case
NAMES = ["hello", "work", "flaky", "child", "a", "op", *WAITED]


def _following(events: Events) -> int:
    """The first sequence id ``events`` has not scheduled: where the code's new work begins."""
    return max((e.event_id + 1 for e in events if isinstance(e, SCHEDULING)), default=0)


def id_choices(events: Events) -> st.SearchStrategy[int]:
    """Sequence ids: mostly the next few, which the code will schedule, and those in ``events``."""
    known = sorted({e.event_id for e in events if isinstance(e, SCHEDULING)})
    following = _following(events)
    return st.sampled_from([following, following + 1, *known, -1]) | st.integers(-2, 24)


def name_choices(events: Events) -> st.SearchStrategy[str]:
    """Event names: the waited-for ones, and those in ``events`` (entity request ids among them)."""
    return st.sampled_from(sorted({*NAMES, *(e.name for e in events if isinstance(e, EventRaisedEvent))}))


def stray_events(events: Events) -> st.SearchStrategy[HistoryEvent]:
    """Any event at all: answers to known and unknown ids, irrelevant kinds, lifecycle events out of place."""
    ids, names = id_choices(events), name_choices(events)
    start = OrchestrationInstance(INSTANCE)
    return st.one_of(
        answers(ids, names),
        scheduling_events(ids, names),
        event_at(GenericEvent, data=small_texts),
        event_at(HistoryStateEvent, state=small_texts),
        event_at(ExecutionRewoundEvent, reason=small_texts, instance_id=small_texts),
        event_at(
            ExecutionCompletedEvent, orchestration_status=st.sampled_from(OrchestrationRuntimeStatus), result=payloads
        ),
        event_at(ContinueAsNewEvent, result=payloads),
        event_at(OrchestratorStartedEvent),
        event_at(OrchestratorCompletedEvent),
        event_at(ExecutionSuspendedEvent, reason=small_texts),
        event_at(ExecutionResumedEvent, reason=small_texts),
        event_at(ExecutionTerminatedEvent, input=payloads),
        event_at(ExecutionStartedEvent, orchestration_instance=st.just(start), name=names, input=payloads),
    )


def describe(event: HistoryEvent) -> str:
    """``event`` in one short line: its kind and the fields that differ from their defaults."""
    shown = [
        f"{f.name}={getattr(event, f.name)!r}"
        for f in fields(event)
        if f.name not in ("timestamp", "is_played", "_source")
        and (f.name == "event_id" or getattr(event, f.name) != f.default)
        and not (f.name == "event_id" and event.event_id == -1)
    ]
    if isinstance(event, (OrchestratorStartedEvent, TimerFiredEvent)):
        shown.append(f"at={event.timestamp:%m-%d %H:%M:%S}")
    return f"{type(event).__name__.removesuffix('Event')}({', '.join(shown)})"


@dataclass(frozen=True)
class Case:
    """An orchestrator and the history it replays over, split into past and new events."""

    orchestrator: Callable[[Context], Orchestration]
    events: list[HistoryEvent]
    past_count: int

    def __repr__(self) -> str:
        lines = [describe(e) for e in self.events]
        lines.insert(self.past_count, "--- new events ---")
        return f"Case({self.orchestrator.__name__}, events=[\n    " + ",\n    ".join(lines) + "\n])"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how Hypothesis prints a falsifying example
        printer.text(repr(self))

    def replay(self, past_count: int | None = None) -> ReplayResult:
        """Replay the history, split at ``past_count`` (by default the case's own split)."""
        split = self.past_count if past_count is None else past_count
        try:
            return replay(
                self.orchestrator,
                instance_id=INSTANCE,
                past_events=self.events[:split],
                new_events=self.events[split:],
            )
        except Exception as error:  # property (b): whatever the history, the outcome is a ReplayResult
            raise AssertionError(f"replay raised {type(error).__name__}: {error}") from error


# --- well-formed histories: the orchestrator runs episode by episode -----------------------------------------


def _record(builder: HistoryBuilder, action: Action) -> None:
    """The scheduling event the provider writes for ``action``."""
    # The builder encodes inputs itself; plain JSON decodes and re-encodes to the very same text.
    if isinstance(action, ScheduleTaskAction):
        builder.scheduled(action.name, _json.loads(action.input), id=action.id)
    elif isinstance(action, CreateTimerAction):
        builder.timer_created(action.fire_at, id=action.id)
    elif isinstance(action, CreateSubOrchestrationAction):
        builder.sub_orchestration_created(action.name, action.instance_id, _json.loads(action.input), id=action.id)
    else:
        builder.event_sent(action.instance_id, action.name, action.input, id=action.id)


def _awaits_answer(action: Action) -> bool:
    return not (isinstance(action, SendEventAction) and _json.loads(action.input).get("signal"))


def _answer(draw: st.DrawFn, builder: HistoryBuilder, action: Action) -> None:
    """The event that answers ``action``: success or failure, as Hypothesis picks."""
    ok = draw(st.sampled_from([True, True, False]))
    if isinstance(action, CreateTimerAction):
        builder.timer_fired(action.id, action.fire_at)
    elif isinstance(action, SendEventAction):  # an entity call: the response is an event named after the request
        response = (
            {"result": _json.dumps(draw(small_values))} if ok else {"exceptionType": "ValueError", "result": '"bad"'}
        )
        builder.event_raised(_json.loads(action.input)["id"], raw=_json.dumps(response))
    elif isinstance(action, CreateSubOrchestrationAction):
        if ok:
            builder.sub_orchestration_completed(action.id, draw(small_values))
        else:
            builder.sub_orchestration_failed(action.id, "child failed", "details")
    elif ok:
        builder.completed(action.id, draw(small_values))
    else:
        builder.failed(action.id, "activity failed", "details", error_type=draw(st.sampled_from([None, "Boom"])))


def _client_operation(draw: st.DrawFn, builder: HistoryBuilder) -> None:
    """Now and then a client suspends, resumes or terminates the instance in the episode being written."""
    operation = draw(st.none() | st.sampled_from(["suspend", "resume", "terminate"]))
    if operation == "suspend":
        builder.suspended("paused")
    elif operation == "resume":
        builder.resumed("go on")
    elif operation == "terminate":
        builder.terminated("stopped")


@st.composite
def well_formed(draw: st.DrawFn) -> Case:
    """A history written episode by episode, as the provider writes it; the last episode's events are new."""
    orchestrator = draw(st.sampled_from(ORCHESTRATORS))
    builder = HistoryBuilder(INSTANCE).started(orchestrator.__name__, draw(small_values))
    _client_operation(draw, builder)
    pending: dict[int, Action] = {}
    past_count = 0
    for _ in range(MAX_EPISODES):
        result = Case(orchestrator, builder.events, past_count).replay()
        # The episode's actions follow its new events in history (DTFx appends them after the batch).
        for action in result.actions:
            _record(builder, action)
            if _awaits_answer(action):
                pending[action.id] = action
        if result.completion is not None:
            break
        # Every episode has news: answers to pending work, external events (early ones get buffered), or both.
        answered = (
            draw(st.lists(st.sampled_from(sorted(pending)), min_size=1, max_size=3, unique=True)) if pending else []
        )
        raised = draw(st.lists(st.sampled_from(WAITED), min_size=0 if answered else 1, max_size=2))
        builder.orchestrator_completed()
        past_count = len(builder.events)
        # A timer fires no earlier than its due time: the episode that sees it starts at or after it.
        due = [a.fire_at for a in map(pending.get, answered) if isinstance(a, CreateTimerAction)]
        builder.orchestrator_started(max([builder.now, *due]))
        for action_id in answered:
            _answer(draw, builder, pending.pop(action_id))
        for name in raised:
            builder.event_raised(name, draw(small_values))
        _client_operation(draw, builder)
    return Case(orchestrator, builder.events, past_count)


# --- mutations -------------------------------------------------------------------------------------------------


def _index(draw: st.DrawFn, events: Events, *, end: bool = False) -> int:
    return draw(st.integers(0, len(events) - (0 if end else 1)))


def _duplicate(draw: st.DrawFn, events: Events) -> Events:
    event, at = events[_index(draw, events)], _index(draw, events, end=True)
    return [*events[:at], event, *events[at:]]


def _swap(draw: st.DrawFn, events: Events) -> Events:
    i, j = _index(draw, events), _index(draw, events)
    events = list(events)
    events[i], events[j] = events[j], events[i]
    return events


def _move(draw: st.DrawFn, events: Events) -> Events:
    events = list(events)
    event = events.pop(_index(draw, events))
    events.insert(_index(draw, events, end=True), event)
    return events


def _hoist(draw: st.DrawFn, events: Events) -> Events:
    """An event moved to the very beginning, before the execution starts."""
    events = list(events)
    event = events.pop(_index(draw, events))
    events.insert(draw(st.integers(0, min(2, len(events)))), event)
    return events


def _drop(draw: st.DrawFn, events: Events) -> Events:
    at = _index(draw, events)
    return [*events[:at], *events[at + 1 :]]


def _truncate(draw: st.DrawFn, events: Events) -> Events:
    return events[: _index(draw, events, end=True)]


def _insert(draw: st.DrawFn, events: Events) -> Events:
    at = _index(draw, events, end=True)
    return [*events[:at], draw(stray_events(events)), *events[at:]]


def _answer_unscheduled(draw: st.DrawFn, events: Events) -> Events:
    """An answer to work history has not scheduled (yet), or an external event nobody waits for (yet)."""
    following = _following(events)
    ids = st.sampled_from([following, following + 1, following + 2, -1])
    at = _index(draw, events, end=True)
    return [*events[:at], draw(answers(ids, st.sampled_from(WAITED))), *events[at:]]


def _rekind(draw: st.DrawFn, events: Events) -> Events:
    """Another kind, name or target recorded at an existing sequence id."""
    spots = [i for i, e in enumerate(events) if isinstance(e, SCHEDULING)]
    if not spots:
        return events
    at = draw(st.sampled_from(spots))
    other = draw(scheduling_events(st.just(events[at].event_id), name_choices(events)))
    return [*events[:at], other, *events[at + 1 :]]


def _retarget(draw: st.DrawFn, events: Events) -> Events:
    """A completion pointed at another (perhaps unknown) id."""
    spots = [i for i, e in enumerate(events) if hasattr(e, "task_scheduled_id") or isinstance(e, TimerFiredEvent)]
    if not spots:
        return events
    at = draw(st.sampled_from(spots))
    field = "timer_id" if isinstance(events[at], TimerFiredEvent) else "task_scheduled_id"
    return [*events[:at], replace(events[at], **{field: draw(id_choices(events))}), *events[at + 1 :]]


def _corrupt(draw: st.DrawFn, events: Events) -> Events:
    """A payload the codec cannot read (or an odd one it can) where a good one was."""
    spots = [(i, f) for i, e in enumerate(events) for f in ("result", "input") if hasattr(e, f)]
    if not spots:
        return events
    at, field = draw(st.sampled_from(spots))
    return [*events[:at], replace(events[at], **{field: draw(garbage)}), *events[at + 1 :]]


def _retime(draw: st.DrawFn, events: Events) -> Events:
    """Time that goes backwards, or jumps."""
    at = _index(draw, events)
    return [*events[:at], replace(events[at], timestamp=draw(small_times)), *events[at + 1 :]]


Mutation = Callable[[st.DrawFn, Events], Events]
MUTATIONS: tuple[Mutation, ...] = (
    _duplicate,
    _swap,
    _move,
    _hoist,
    _drop,
    _truncate,
    _insert,
    _answer_unscheduled,
    _rekind,
    _retarget,
    _corrupt,
    _retime,
)


@st.composite
def mutated(draw: st.DrawFn, mutations: tuple[Mutation, ...] = MUTATIONS) -> Case:
    """A well-formed history after one to four ``mutations``, split into past and new at any point."""
    case = draw(well_formed())
    events = case.events
    for mutation in draw(st.lists(st.sampled_from(mutations), min_size=1, max_size=4)):
        events = mutation(draw, events) if events else [draw(stray_events(events))]
    return Case(case.orchestrator, events, draw(st.integers(0, len(events))))


# --- the properties --------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def normalised(result: ReplayResult) -> ReplayResult:
    """``result`` with object addresses (which differ between runs) masked in its failure details."""
    completion = result.completion
    if completion is None or completion.failure_details is None:
        return result
    details = completion.failure_details
    details = replace(
        details,
        error_message=_ADDRESS.sub("0x?", details.error_message),
        stack_trace=_ADDRESS.sub("0x?", details.stack_trace or ""),
    )
    return replace(result, completion=replace(completion, failure_details=details))


def check_properties(case: Case) -> ReplayResult:
    """(a) deterministic, (b) never raises, (c) a delta that does not repeat history; returns the result."""
    first, second = case.replay(), case.replay()
    assert normalised(first) == normalised(second), "two replays of one history differ"

    assert isinstance(first, ReplayResult)
    if first.completion is not None and first.completion.status is OrchestrationRuntimeStatus.Failed:
        assert first.completion.failure_details is not None
        assert first.completion.failure_details.error_message

    scheduled = {e.event_id for e in case.events if isinstance(e, SCHEDULING)}
    new_ids = [a.id for a in first.actions]
    all_ids = [a.id for a in first.all_actions]
    assert len(set(all_ids)) == len(all_ids), f"duplicate action ids: {all_ids}"
    assert not scheduled.intersection(new_ids), f"actions {new_ids} repeat scheduling events {sorted(scheduled)}"
    assert all(a in first.all_actions for a in first.actions), "actions is not a subset of all_actions"
    # The completion's sequence id becomes the EventId of ExecutionCompleted: it must not collide either.
    completion_id = first.completion.id if first.completion is not None else None
    assert completion_id not in all_ids, f"the completion takes action id {completion_id}"
    return first


def check_split_invariance(case: Case, result: ReplayResult, split: int) -> None:
    """The past/new split changes only ``is_replaying``, which these orchestrators never read."""
    assert normalised(case.replay(split)) == normalised(result), f"splitting at {split} changes the result"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=well_formed(), data=st.data())
def test_well_formed_histories_replay_without_non_determinism(case: Case, data: st.DataObject) -> None:
    result = check_properties(case)
    details = result.completion.failure_details if result.completion else None
    assert details is None or not details.error_message.startswith("Non-Deterministic"), details.error_message
    check_split_invariance(case, result, data.draw(st.integers(0, len(case.events)), label="split"))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated(), data=st.data())
def test_mangled_histories_still_replay_to_a_result(case: Case, data: st.DataObject) -> None:
    result = check_properties(case)
    check_split_invariance(case, result, data.draw(st.integers(0, len(case.events)), label="split"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated((_answer_unscheduled, _hoist, _corrupt)), data=st.data())
def test_answers_before_their_work_still_replay_to_a_result(case: Case, data: st.DataObject) -> None:
    # Completions the code has not asked for yet and events nobody waits for yet take the engine's deferral and
    # buffering paths; with undecodable payloads these are the likeliest places for an exception to escape.
    result = check_properties(case)
    check_split_invariance(case, result, data.draw(st.integers(0, len(case.events)), label="split"))
