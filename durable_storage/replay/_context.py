"""The ``context`` an orchestrator receives: the azure-functions-durable 1.7 ``DurableOrchestrationContext``; pure.

Every method builds a task (or records an action at once, for ``signal_entity`` and ``continue_as_new``); the
runtime (the engine, seen through ``ReplayRuntime``) gives the task its sequence id when the orchestrator yields it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from durable_storage import _json
from durable_storage._datetimes import STORABLE_RANGE, as_utc, is_storable
from durable_storage._durable_http import DurableHttpRequest
from durable_storage._entity_values import entity_id_of, is_entity_id
from durable_storage._names import validate_orchestration_id
from durable_storage.entities._formats import OPERATION, RequestMessage, scheduled_name
from durable_storage.models import EntityId, RetryOptions, retry_options_of
from durable_storage.replay._actions import CreateSubOrchestrationAction, ScheduleTaskAction, SendEventAction
from durable_storage.replay._host_json import SdkHistoryEvent, context_from_json
from durable_storage.replay._locks import EntityLock, LockTask
from durable_storage.replay._tasks import (
    AtomicTask,
    CancellableTask,
    EntityCallTask,
    ExternalEventTask,
    LongTimerTask,
    RetryableTask,
    TaskBase,
    TimerTask,
    WhenAllTask,
    WhenAnyTask,
)

if TYPE_CHECKING:
    from durable_storage.replay._runtime import ReplayRuntime

# EntityLock: the type of what ``with (yield context.lock_entities(...))`` binds, named here for users' tests.
__all__ = ["HTTP_ACTIVITY", "DurableOrchestrationContext", "EntityLock"]

HTTP_ACTIVITY = "BuiltIn::HttpActivity"
"""The activity name Durable Functions gives ``call_http`` requests; the worker runs it itself."""
# azure-functions-durable's namespace for new_uuid (python-api.md §1.3).
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
_FIRE_AT_RULE = f"must be from {STORABLE_RANGE}"


# call_* kind -> the binding type, the trigger argument that renames it, and the name azure-functions-durable's
# error message gives the trigger.
_TRIGGERS = {
    "activity": ("activityTrigger", "activity", "ActivityTrigger"),
    "sub_orchestrator": ("orchestrationTrigger", "orchestration", "OrchestrationTrigger"),
}


def _function_name(function: Any, what: str) -> str:
    if isinstance(function, str):
        if not function:
            raise ValueError(f"{what} name '' is invalid: must be a non-empty string")
        return function
    # A function registered with an App decorator carries its registered name.
    name = getattr(function, "durable_function_name", None)
    if isinstance(name, str):
        return name
    built = getattr(function, "_function", None)
    if getattr(built, "_trigger", None) is not None:
        return _published_function_name(built, what)
    raise ValueError(
        f"The `call_{what}` API received {function!r}, which is neither a name nor a function registered with an "
        f"App's {what}_trigger decorator"
    )


def _published_function_name(built: Any, what: str) -> str:
    """The task hub name of a function decorated by ``azure.functions``/``azure.durable_functions`` (v2 model).

    The name the host registers: the trigger's ``activity``/``orchestration`` argument, else the function name.
    (azure-functions-durable 1.7 itself always sends the function name, which fails when the trigger renames it.)
    """
    trigger = built._trigger
    binding, field, shown = _TRIGGERS[what]
    if getattr(trigger, "type", None) != binding:
        # azure-functions-durable's text, which users' tests match.
        raise ValueError(
            f"Received function with Trigger-type `{getattr(trigger, 'type', None)}` but expected `{shown}`. Ensure "
            f"your function is annotated with the `{shown}` decorator or directly pass in the name of the function "
            "as a string."
        )
    get_function_name = getattr(built, "get_function_name", None)  # honours @app.function_name(...)
    name = getattr(trigger, field, None) or (get_function_name() if callable(get_function_name) else None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} function {built!r} has no name")
    return name


class DurableOrchestrationContext:
    """The orchestration API, as in azure-functions-durable 1.7 (api.md §1)."""

    def __init__(self, runtime: ReplayRuntime) -> None:
        self._runtime = runtime
        self._custom_status: Any = None
        self._uuid_counter = 0
        self.will_continue_as_new = False
        # The SDK's bag of the host payload's other keys; our worker has none (from_json fills it).
        self.function_context: SimpleNamespace = SimpleNamespace()

    @classmethod
    def from_json(cls, json_string: str | bytes | dict[str, Any]) -> DurableOrchestrationContext:
        """A context built from the Functions host's orchestration payload, as azure-functions-durable's.

        For unit tests written against the SDK: the payload's ``history`` (the host's event JSON), ``input``,
        ``instanceId``, ``parentInstanceId`` and ``isReplaying`` give the context its state before the code runs.

        Raises:
            MessageFormatError: not such a payload.
        """
        return context_from_json(json_string)

    # --- identity and time ----------------------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        """This orchestration's instance ID."""
        return self._runtime.execution.instance_id

    @property
    def parent_instance_id(self) -> str | None:
        """The instance ID of the orchestration that started this one as a sub-orchestration, else None."""
        return self._runtime.execution.parent_instance_id

    @property
    def version(self) -> str | None:
        """The version this execution was started with."""
        return self._runtime.execution.version

    @property
    def current_utc_datetime(self) -> datetime:
        """The replay-safe current time (timezone-aware UTC): the latest OrchestratorStarted timestamp seen."""
        return self._runtime.current_utc_datetime

    @property
    def is_replaying(self) -> bool:
        """True while the code runs over events it has already seen in an earlier episode."""
        return self._runtime.is_replaying

    @property
    def histories(self) -> list[SdkHistoryEvent]:
        """The history events this replay runs over, readable under the SDK's names (``event_type``, ``Name``...)."""
        return [SdkHistoryEvent(event) for event in self._runtime.history]

    @property
    def custom_status(self) -> Any:
        """The value last given to :meth:`set_custom_status`."""
        return self._custom_status

    def get_input(self, expected_type: type | None = None) -> Any:
        """The orchestration's input, decoded from JSON (custom classes through ``from_json``).

        ``expected_type`` defaults to the ``input_type`` of the orchestrator's ``orchestration_trigger``.
        """
        return _json.loads(self._runtime.execution.input, expected_type or self._runtime.input_type)

    def set_custom_status(self, status: Any) -> None:
        """Publish ``status`` (JSON-serializable) in the instance's status; a falsy value publishes nothing."""
        self._custom_status = status

    def new_uuid(self) -> str:
        """A replay-safe UUID string, equal to azure-functions-durable's for the same instance, time and call."""
        moment = self.current_utc_datetime.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        value = uuid.uuid5(_UUID_NAMESPACE, f"{self.instance_id}_{moment}_{self._uuid_counter}")
        self._uuid_counter += 1
        return str(value)

    def new_guid(self) -> uuid.UUID:
        """A replay-safe UUID, equal to azure-functions-durable's; shares :meth:`new_uuid`'s counter."""
        value = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.instance_id}_{self.current_utc_datetime}_{self._uuid_counter}")
        self._uuid_counter += 1
        return value

    def create_replay_safe_logger(self, logger: logging.Logger) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that stays silent while the orchestration replays, so each message is logged once."""
        return _ReplaySafeLogger(logger, self)

    # --- activities and sub-orchestrations ------------------------------------------------------------------

    def call_activity(self, name: Any, input_: Any = None, expected_type: type | None = None) -> TaskBase:
        """Schedule activity ``name`` with ``input_``; yields its result (``expected_type`` decodes a custom class)."""
        activity = _function_name(name, "activity")
        return self._activity(activity, _json.dumps(input_, f"the input of activity {activity!r}"), expected_type)

    def _activity(self, name: str, payload: str, expected_type: type | None) -> AtomicTask:
        task = AtomicTask(lambda id_: ScheduleTaskAction(id=id_, name=name, input=payload), f"activity {name!r}")
        task.expected_type = expected_type
        return task

    def call_activity_with_retry(
        self, name: Any, retry_options: RetryOptions, input_: Any = None, expected_type: type | None = None
    ) -> TaskBase:
        """Like :meth:`call_activity`, retried per ``retry_options`` with durable timers in between."""
        activity = _function_name(name, "activity")
        payload = _json.dumps(input_, f"the input of activity {activity!r}")
        return RetryableTask(
            lambda: self._activity(activity, payload, expected_type), retry_options_of(retry_options), self._runtime
        )

    def call_sub_orchestrator(
        self,
        name: Any,
        input_: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
        expected_type: type | None = None,
    ) -> TaskBase:
        """Start orchestration ``name`` as a child (with ``instance_id``, or a deterministic one); yields its output."""
        orchestration = _function_name(name, "sub_orchestrator")
        payload = _json.dumps(input_, f"the input of sub-orchestrator {orchestration!r}")
        return self._sub_orchestration(orchestration, payload, instance_id, version, expected_type)

    def call_sub_orchestrator_with_retry(  # noqa: PLR0917 - azure-functions-durable's signature
        self,
        name: Any,
        retry_options: RetryOptions,
        input_: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
        expected_type: type | None = None,
    ) -> TaskBase:
        """Like :meth:`call_sub_orchestrator`, retried per ``retry_options``."""
        orchestration = _function_name(name, "sub_orchestrator")
        payload = _json.dumps(input_, f"the input of sub-orchestrator {orchestration!r}")
        return RetryableTask(
            lambda: self._sub_orchestration(orchestration, payload, instance_id, version, expected_type),
            retry_options_of(retry_options),
            self._runtime,
        )

    def _sub_orchestration(
        self, name: str, payload: str, instance_id: str | None, version: str | None, expected_type: type | None
    ) -> AtomicTask:
        if instance_id is not None:
            # Refused in the orchestrator's own code, as the client refuses it: a child under an entity's '@' ID
            # would be taken for an entity and never run.
            validate_orchestration_id(instance_id)

        def action(id_: int) -> CreateSubOrchestrationAction:
            # Without an explicit ID the child gets one derived from ours and the sequence id, so that a replay
            # (and a retry after a crash) targets the same child (durabletask-python does the same).
            child = instance_id if instance_id is not None else f"{self.instance_id}:{id_:04x}"
            return CreateSubOrchestrationAction(id=id_, name=name, instance_id=child, input=payload, version=version)

        task = AtomicTask(action, f"sub-orchestration {name!r}")
        task.expected_type = expected_type
        return task

    def call_http(  # noqa: PLR0917 - azure-functions-durable's signature
        self,
        method: str,
        uri: str,
        content: Any = None,
        headers: dict[str, str] | None = None,
        token_source: Any = None,
        is_raw_str: bool = False,
        *,
        timeout: timedelta | None = None,
    ) -> TaskBase:
        """Make an HTTP request through the worker's built-in HTTP activity; yields the response as a dict.

        The dict is ``{"statusCode", "headers", "content"}`` (``DurableHttpResponse.from_json`` types it); any
        status is an answer, a 202 included (it is not polled, as Durable Functions does for Python). A
        connection failure or ``timeout`` (keyword-only extension; default the worker's ``http_timeout``) fails
        the task. ``token_source``: a ``ManagedIdentityTokenSource`` (ours or azure.durable_functions').
        """
        if is_raw_str and content is not None and not isinstance(content, str):
            raise TypeError("`is_raw_str` is True but `content` is not a str")
        body = content if (is_raw_str or content is None) else _json.dumps(content)
        request = DurableHttpRequest(method, uri, body, headers, token_source, timeout=timeout)
        return self._activity(HTTP_ACTIVITY, _json.dumps(request.to_json()), None)

    # --- timers and events ----------------------------------------------------------------------------------

    def create_timer(self, fire_at: datetime | timedelta) -> CancellableTask:
        """A timer that fires at ``fire_at`` (a datetime, naive = UTC) or after ``fire_at`` (a timedelta)."""
        when = _fire_time(fire_at, self.current_utc_datetime)
        if when - self.current_utc_datetime > self._runtime.options.max_timer_duration:
            return LongTimerTask(when, self._runtime)
        return TimerTask(when)

    def wait_for_external_event(self, name: str, expected_type: type | None = None) -> TaskBase:
        """Waits for the event ``name`` (case-sensitive, as in azure-functions-durable); yields its data."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"event name {name!r} is invalid: must be a non-empty string")
        task = ExternalEventTask(name)
        task.expected_type = expected_type
        return task

    def task_all(self, activities: Sequence[TaskBase]) -> TaskBase:
        """Completes with every task's result, in order; fails as soon as one fails; ``None`` for no tasks."""
        return WhenAllTask(activities)

    def task_any(self, activities: Sequence[TaskBase]) -> TaskBase:
        """Completes with the first task to complete (the task itself, even if it failed)."""
        return WhenAnyTask(activities)

    def continue_as_new(self, input_: Any) -> None:
        """End this execution and start the next one with ``input_``; unconsumed events are carried over."""
        self.will_continue_as_new = True
        self._runtime.continue_as_new(_json.dumps(input_, "the input of continue_as_new"))

    # --- entities -------------------------------------------------------------------------------------------

    def call_entity(
        self, entityId: EntityId, operationName: str, operationInput: Any = None, expected_type: type | None = None
    ) -> TaskBase:
        """Call ``operationName`` on the entity; yields its result (a failure raises TaskFailedError)."""
        target = str(entity_id_of(entityId))
        payload = _json.dumps(operationInput, f"the input of operation {operationName!r} of entity {target!r}")

        def action(id_: int) -> SendEventAction:
            task.request_id = self._runtime.execution.request_id(id_)
            return SendEventAction(
                id=id_, instance_id=target, name="op", input=self._request(operationName, payload, task.request_id)
            )

        task = EntityCallTask(action, f"entity call {operationName!r} on {target}")
        task.expected_type = expected_type
        return task

    def signal_entity(
        self,
        entityId: EntityId,
        operationName: str,
        operationInput: Any = None,
        *,
        scheduled_time: datetime | None = None,
    ) -> None:
        """Send ``operationName`` to the entity without waiting (recorded at once; do not yield).

        ``scheduled_time`` (ours, as .NET's ``SignalEntity(entity, time, ...)``): deliver it then, not now.
        """
        target = str(entity_id_of(entityId))
        payload = _json.dumps(operationInput, f"the input of operation {operationName!r} of entity {target!r}")
        due = _fire_time(scheduled_time, self.current_utc_datetime) if scheduled_time is not None else None

        def action(id_: int) -> SendEventAction:
            request = self._request(
                operationName, payload, self._runtime.execution.request_id(id_), signal=True, scheduled_time=due
            )
            name = scheduled_name(due) if due is not None else OPERATION
            return SendEventAction(id=id_, instance_id=target, name=name, input=request, scheduled_time=due)

        AtomicTask(action, f"entity signal {operationName!r} to {target}", awaits_result=False).schedule(self._runtime)

    def lock_entities(self, *entities: EntityId | Iterable[EntityId]) -> TaskBase:
        """Lock entities for a critical section; yields a lock to use in ``with`` (released when the block ends).

        ``with (yield context.lock_entities(a, b)):`` — while it is held, every other caller's operations on
        those entities wait. Locks are taken in one global order, so two critical sections never deadlock, and
        they are released when the orchestration ends, also by failing.

        Raises:
            RuntimeError: this orchestration already holds locks (critical sections do not nest).
            ValueError: no entities, or something that is not an EntityId.
        """
        held = self._runtime.locks.held
        if held is not None:
            raise RuntimeError(
                f"orchestration {self.instance_id!r} already holds locks on {held.describe()}: leave "
                "that critical section before locking again"
            )
        flat: list[Any] = []
        for item in entities:
            flat.extend([item] if is_entity_id(item) else list(item))  # type: ignore[arg-type]  # an iterable
        lockset = tuple(sorted({str(e): e for e in map(entity_id_of, flat)}.values(), key=str))
        if not lockset:
            raise ValueError("lock_entities() needs at least one EntityId")

        def action(id_: int) -> SendEventAction:
            task.request_id = self._runtime.execution.request_id(id_)
            request = RequestMessage(
                operation=None,
                id=task.request_id,
                parent_instance_id=self.instance_id,
                parent_execution_id=self._runtime.execution.execution_id or None,
                lockset=lockset,
            )
            return SendEventAction(id=id_, instance_id=str(lockset[0]), name=OPERATION, input=request.to_json())

        task = LockTask(action, self._runtime.locks, lockset)
        return task

    def _request(
        self,
        operation: str,
        payload: str,
        request_id: str,
        *,
        signal: bool = False,
        scheduled_time: datetime | None = None,
    ) -> str:
        # The Durable Functions RequestMessage (entity-messages.md §2), as JSON text inside the event's Input.
        return RequestMessage(
            operation=operation,
            id=request_id,
            is_signal=signal,
            input=payload,
            parent_instance_id=self.instance_id,
            parent_execution_id=self._runtime.execution.execution_id or None,
            scheduled_time=scheduled_time,
        ).to_json()


def _fire_time(fire_at: Any, now: datetime) -> datetime:
    if isinstance(fire_at, timedelta):
        try:
            when = now + fire_at
        except OverflowError:
            raise ValueError(f"timer fire_at {now.isoformat()} + {fire_at!r} is invalid: {_FIRE_AT_RULE}") from None
    elif isinstance(fire_at, datetime):
        when = fire_at
    else:
        raise ValueError(f"timer fire_at {fire_at!r} is invalid: must be a datetime or a timedelta")
    # The time goes into a History row: one the table cannot hold would make the whole history unreadable.
    if not is_storable(when):
        raise ValueError(f"timer fire_at {when.isoformat()} is invalid: {_FIRE_AT_RULE}")
    # A naive datetime means UTC, as Durable Functions writes fireAt with a Z.
    return as_utc(when)


if TYPE_CHECKING:
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:  # LoggerAdapter is subscriptable only from Python 3.11
    _LoggerAdapter = logging.LoggerAdapter


class _ReplaySafeLogger(_LoggerAdapter):
    def __init__(self, logger: logging.Logger, context: DurableOrchestrationContext) -> None:
        super().__init__(logger, {})
        self._context = context

    def isEnabledFor(self, level: int) -> bool:
        return not self._context.is_replaying and super().isEnabledFor(level)

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self._context.is_replaying:
            super().log(level, msg, *args, **kwargs)
