"""Run one scenario through the real azure-functions-durable 1.7.0 and through our engine, and normalise both.

A :class:`Record` is what the two must agree on:

* ``work``: every scheduling action since the execution started, in sequence-id order, as :class:`WorkItem`
  (id, kind, name, input as parsed JSON, instance id). DF's result lists its actions cumulatively and without ids,
  so the harness also watches which task or action DF numbers (``_add_to_open_tasks`` and
  ``_record_fire_and_forget_action`` of its context) and checks that list against the result JSON. Watching the
  numbers shows the work DF leaves to the host as well: for ``*_with_retry`` calls DF numbers hidden NoOp tasks for
  the retry timer and the next attempt, to stay in step with DTFx's ``RetryInterceptor``. They appear in the
  record as the host writes them: a timer at now + firstRetryInterval (the host builds .NET ``RetryOptions`` from
  Python's two fields, so the backoff coefficient is 1), and the same call again. Our engine emits those actions
  itself. DF's ``WaitForExternalEvent`` actions have no DTFx action and are left out.
* ``done``: the orchestrator returned or continued as new (DF's ``isDone``; a failure is not done).
* ``output``: the returned value as JSON; None after continue-as-new (the host then ignores it).
* ``error``: DF's ``error`` (``str(exception)``, or ``str(type(exception))`` when that is empty) against our
  ``failure_details.error_message``: both are the text the host records as the failure's message.
* ``custom_status``: as JSON; DF omits falsy values and so do we.

A sub-orchestration started without an instance id gets its id from the host under DF (None in the action) and
from our engine under ours: that id is not compared.
"""

from __future__ import annotations

import functools
import inspect
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.Task import AtomicTask as DfAtomicTask

from durable_storage._dotnet_json import encode_event
from durable_storage.history import ExecutionStartedEvent, HistoryEvent
from durable_storage.models import EntityId, ManagedIdentityTokenSource, OrchestrationRuntimeStatus, RetryOptions
from durable_storage.replay import (
    HTTP_ACTIVITY,
    Action,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    ReplayOptions,
    ReplayResult,
    ScheduleTaskAction,
    SendEventAction,
    replay,
)
from durable_storage.testing.history import HistoryBuilder

FIRE_AT = "%Y-%m-%dT%H:%M:%S.%fZ"  # DF's CreateTimer fireAt format
OUT_OF_PROC = "\n\n$OutOfProcData$:"  # DF raises "<error>" + this + "<state JSON>" when the orchestrator fails

DF_API = SimpleNamespace(
    name="df",
    RetryOptions=df.RetryOptions,
    EntityId=df.EntityId,
    ManagedIdentityTokenSource=df.ManagedIdentityTokenSource,
)
OUR_API = SimpleNamespace(
    name="ours", RetryOptions=RetryOptions, EntityId=EntityId, ManagedIdentityTokenSource=ManagedIdentityTokenSource
)
"""What an orchestrator that takes an ``api`` argument gets: each engine's own objects, or azure.durable_functions'
under both engines for a scenario with ``sdk_objects`` (an app written on the published SDK, run by our worker)."""


class H(HistoryBuilder):
    """The history builder, plus the episode break and the entity messages these scenarios use."""

    def wake(self, at: datetime | None = None) -> H:
        """End the recorded episode; its next OrchestratorStarted and what follows are this replay's new events."""
        self.orchestrator_completed().new().orchestrator_started(at)
        return self

    def entity_request_sent(self, entity: str, operation: str, request_id: str, *, signal: bool = False) -> H:
        """The EventSent of an entity call (or signal) as the Durable Functions host writes it."""
        request = {"op": operation, "signal": signal, "input": None, "id": request_id, "parent": self.instance_id}
        self.event_sent(entity, "op", json.dumps(request))
        return self

    def entity_responded(self, request_id: str, result: Any, *, exception_type: str | None = None) -> H:
        """The EventRaised that answers request ``request_id``: ``{"result": "<json>"[, "exceptionType": ...]}``."""
        response: dict[str, Any] = {"result": json.dumps(result)}
        if exception_type is not None:
            response["exceptionType"] = exception_type
        self.event_raised(request_id, raw=json.dumps(response))
        return self


@dataclass(frozen=True)
class TimerLimits:
    """The host's timer limits (Azure Storage: 6 days, split into 3-day sub-timers); scenarios may shrink them."""

    max_timer: timedelta = timedelta(days=6)
    interval: timedelta = timedelta(days=3)


@dataclass(frozen=True)
class Scenario:
    """An orchestrator and the history it replays; an orchestrator with an ``api`` parameter gets each engine's."""

    name: str
    orchestrator: Callable[..., Any]
    history: HistoryBuilder
    limits: TimerLimits = TimerLimits()
    deviation: str = ""  # why we differ from DF 1.7 on purpose; the test then checks our documented behaviour
    sdk_objects: bool = False  # our engine gets azure.durable_functions' objects too, not its own

    @property
    def takes_api(self) -> bool:
        """Whether the orchestrator builds RetryOptions, EntityId... from the ``api`` it is given."""
        return "api" in inspect.signature(self.orchestrator).parameters

    def bound(self, api: SimpleNamespace) -> Callable[..., Any]:
        """The orchestrator as the engine calls it: ``fn(context)``."""
        if self.takes_api:
            return functools.partial(self.orchestrator, api=DF_API if self.sdk_objects else api)
        return self.orchestrator


@dataclass(frozen=True)
class WorkItem:
    """One scheduling action. ``kind`` is activity, sub-orchestration, timer, entity-call, entity-signal, http or
    continue-as-new; timers carry their fire time (DF's text format) as ``input``."""

    id: int
    kind: str
    name: str | None
    input: Any = None
    instance_id: str | None = None


@dataclass(frozen=True)
class Record:
    """What both engines must agree on after one replay (see the module docstring)."""

    work: tuple[WorkItem, ...]
    done: bool
    output: Any = None
    error: str | None = None
    custom_status: Any = None


@dataclass(frozen=True)
class Outcome:
    """Both records of one scenario."""

    scenario: str
    df: Record
    ours: Record

    @property
    def matched(self) -> bool:
        return self.df == self.ours

    def describe(self) -> str:
        """The fields that differ, DF's value above ours."""
        lines = [f"{self.scenario}:"]
        for name in ("work", "done", "output", "error", "custom_status"):
            theirs, mine = getattr(self.df, name), getattr(self.ours, name)
            if theirs != mine:
                lines += [f"  {name}", f"    DF:   {_show(theirs)}", f"    ours: {_show(mine)}"]
        return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "\n          ".join(repr(item) for item in value) or "()"
    return repr(value)


def run(scenario: Scenario) -> Outcome:
    """Replay ``scenario`` under both engines."""
    theirs, mine = df_record(scenario), our_record(scenario)
    # DF leaves a child's instance id to the host when the code gives none; our engine derives one itself.
    host_named = {w.id for w in theirs.work if w.kind == "sub-orchestration" and w.instance_id is None}
    work = tuple(replace(w, instance_id=None) if w.id in host_named else w for w in mine.work)
    return Outcome(scenario.name, theirs, replace(mine, work=work))


# --- azure-functions-durable --------------------------------------------------------------------------------


def df_payload(scenario: Scenario) -> dict[str, Any]:
    """The orchestrator invocation payload the Functions host would send (python-api.md §2.1)."""
    history = scenario.history
    events = [_df_event(e, played=True) for e in history.past]
    events += [_df_event(e, played=False) for e in history.new_events]
    started = next(e for e in history.events if isinstance(e, ExecutionStartedEvent))
    parent = started.parent_instance
    return {
        "history": events,
        "input": started.input,
        "instanceId": history.instance_id,
        "isReplaying": bool(history.past),
        "parentInstanceId": parent.orchestration_instance.instance_id if parent else None,
        # The extension sends SchemaVersion V2 here and its real maximum, V3 (long timers), in the new field.
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "maximumShortTimerDuration": _timespan(scenario.limits.max_timer),
        "longRunningTimerIntervalDuration": _timespan(scenario.limits.interval),
    }


def _df_event(event: HistoryEvent, *, played: bool) -> dict[str, object]:
    return {**encode_event(event, typed=False), "IsPlayed": played}


def _timespan(value: timedelta) -> str:
    """.NET ``TimeSpan.ToString("c")``: ``d.hh:mm:ss``."""
    hours, rest = divmod(value.seconds, 3600)
    return f"{value.days}.{hours:02}:{rest // 60:02}:{rest % 60:02}"


def df_record(scenario: Scenario) -> Record:
    """Run the real SDK's ``Orchestrator.handle`` on the scenario's payload and normalise its state."""
    context = df.DurableOrchestrationContext.from_json(json.dumps(df_payload(scenario)))
    numbers = _DfNumbers(context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DF warns "Potential duplicate Task completion" for every buffered event
        try:
            state_json = df.Orchestrator(scenario.bound(DF_API)).handle(context)
        except Exception as error:
            _, marker, state_json = str(error).partition(OUT_OF_PROC)
            if not marker:
                raise
    state = json.loads(state_json)
    reported = [item for item in map(_df_item, _flatten(state["actions"])) if item is not None]
    numbered = numbers.reported()
    assert [replace(item, id=-1) for item in numbered] == reported, "harness: DF's numbering differs from its actions"
    work = numbers.work()
    continued = any(item.kind == "continue-as-new" for item in work)
    return Record(
        work=work,
        done=state["isDone"],
        output=None if continued else state.get("output"),
        error=state.get("error"),
        custom_status=state.get("customStatus"),
    )


class _DfNumbers:
    """Watches DF's context hand out sequence numbers, to give every action its id (DF's JSON has none)."""

    def __init__(self, context: df.DurableOrchestrationContext) -> None:
        self._context = context
        self._real: dict[int, Any] = {}  # number -> DF action object; turned into JSON at the end (timers cancel)
        self._hidden: dict[int, WorkItem] = {}  # retry timers and re-attempts: work DF leaves to the host
        add_task, add_action = context._add_to_open_tasks, context._record_fire_and_forget_action

        def add_to_open_tasks(task: Any) -> None:
            fresh = isinstance(task, DfAtomicTask) and task.id is None and not task._is_scheduled
            continued = context.will_continue_as_new  # DF drops actions after continue_as_new
            add_task(task)
            if fresh and not continued:
                self._numbered(task)

        def record_fire_and_forget_action(action: Any) -> None:
            number, continued = context._sequence_number, context.will_continue_as_new
            add_action(action)
            if not continued:
                self._real[number] = action

        context._add_to_open_tasks = add_to_open_tasks
        context._record_fire_and_forget_action = record_fire_and_forget_action

    def _numbered(self, task: Any) -> None:
        action = task.action_repr
        if not isinstance(action, NoOpAction):
            self._real[task.id] = action
            return
        retry = task.parent
        if action.metadata == "rescheduled task":
            self._hidden[task.id] = replace(_df_item(retry.actions.to_json()), id=task.id)
            return
        delay = timedelta(milliseconds=retry.retry_options.first_retry_interval_in_milliseconds)
        fire_at = (self._context.current_utc_datetime + delay).strftime(FIRE_AT)
        self._hidden[task.id] = WorkItem(task.id, "timer", None, fire_at)

    def reported(self) -> list[WorkItem]:
        """The numbered actions DF reports, in number order."""
        return [replace(_df_item(self._real[n].to_json()), id=n) for n in sorted(self._real)]

    def work(self) -> tuple[WorkItem, ...]:
        """Everything numbered, hidden retry work included, in number order."""
        items = {item.id: item for item in self.reported()} | self._hidden
        return tuple(items[n] for n in sorted(items))


def _flatten(actions: list[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for group in actions:
        yield from _flatten_compound(group)


def _flatten_compound(actions: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for action in actions:
        if "compoundActions" in action:  # WhenAll / WhenAny (schema V2+)
            yield from _flatten_compound(action["compoundActions"])
        else:
            yield action


_DF_KINDS = {
    0: "activity",
    1: "activity",  # with retry
    2: "sub-orchestration",
    3: "sub-orchestration",  # with retry
    4: "continue-as-new",
    5: "timer",
    7: "entity-call",
    8: "http",
    9: "entity-signal",
}


def _df_item(action: dict[str, Any]) -> WorkItem | None:
    """A DF action JSON (python-api.md §2.4) as a WorkItem without id; None for WaitForExternalEvent."""
    kind = _DF_KINDS.get(action["actionType"])
    if kind is None:
        return None
    if kind == "timer":
        return WorkItem(-1, kind, None, action["fireAt"])
    if kind == "http":
        return _http_item(-1, action["httpRequest"])
    if kind.startswith("entity"):
        return WorkItem(-1, kind, action["operation"], _parse(action["input"]), action["instanceId"])
    return WorkItem(-1, kind, action.get("functionName"), _parse(action["input"]), action.get("instanceId"))


def _http_item(id_: int, request: dict[str, Any]) -> WorkItem:
    details = {key: request.get(key) for key in ("content", "headers", "tokenSource")}
    return WorkItem(id_, "http", f"{request['method']} {request['uri']}", details)


def _parse(text: str | None) -> Any:
    # Plain json.loads: custom objects are compared in their wire form.
    return None if text is None else json.loads(text)


# --- our engine ---------------------------------------------------------------------------------------------


def our_record(scenario: Scenario) -> Record:
    """Run :func:`durable_storage.replay.replay` on the scenario's history and normalise the result."""
    history = scenario.history
    options = ReplayOptions(max_timer_duration=scenario.limits.max_timer, long_timer_interval=scenario.limits.interval)
    result = replay(
        scenario.bound(OUR_API),
        instance_id=history.instance_id,
        past_events=history.past,
        new_events=history.new_events,
        options=options,
    )
    return _normalise(result)


def _normalise(result: ReplayResult) -> Record:
    work = [_our_item(action) for action in result.all_actions]
    end = result.completion
    status = end.status if end is not None else None
    if end is not None and status is OrchestrationRuntimeStatus.ContinuedAsNew:
        work.append(WorkItem(end.id, "continue-as-new", None, _parse(end.output)))
    failure = end.failure_details if end is not None and status is OrchestrationRuntimeStatus.Failed else None
    return Record(
        work=tuple(work),
        done=status in (OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.ContinuedAsNew),
        output=_parse(end.output) if end is not None and status is OrchestrationRuntimeStatus.Completed else None,
        error=failure.error_message if failure is not None else None,
        custom_status=_parse(result.custom_status),
    )


def _our_item(action: Action) -> WorkItem:
    if isinstance(action, ScheduleTaskAction):
        if action.name == HTTP_ACTIVITY:
            return _http_item(action.id, json.loads(action.input or "{}"))
        return WorkItem(action.id, "activity", action.name, _parse(action.input))
    if isinstance(action, CreateTimerAction):
        return WorkItem(action.id, "timer", None, action.fire_at.astimezone(timezone.utc).strftime(FIRE_AT))
    if isinstance(action, CreateSubOrchestrationAction):
        return WorkItem(action.id, "sub-orchestration", action.name, _parse(action.input), action.instance_id)
    assert isinstance(action, SendEventAction)
    request = json.loads(action.input or "null")
    if not action.instance_id.startswith("@") or not isinstance(request, dict):
        return WorkItem(action.id, "event", action.name, request, action.instance_id)  # not an entity message
    kind = "entity-signal" if request.get("signal") else "entity-call"
    payload = request.get("input")
    return WorkItem(
        action.id, kind, request.get("op"), _parse(payload) if isinstance(payload, str) else payload, action.instance_id
    )
