"""What a completion event means for the task it completes, and how a failure is described; pure."""

from __future__ import annotations

import traceback
from typing import Any

from durable_storage import _json
from durable_storage._dotnet_json import dotnet_text
from durable_storage.errors import TaskFailedError
from durable_storage.history import (
    EventRaisedEvent,
    FailureDetails,
    HistoryEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
)
from durable_storage.replay._tasks import AtomicTask, EntityCallTask

__all__ = ["failure_details", "outcome", "request_id_of"]

_HOST_TIMEOUT = "Timeout value of"


def request_id_of(text: str | None) -> str | None:
    try:
        value = _json.loads(text)
    except ValueError:
        return None
    return str(value["id"]) if isinstance(value, dict) and value.get("id") else None


def outcome(task: AtomicTask, event: HistoryEvent) -> tuple[Any, bool]:
    """The value a completion event gives ``task``, and whether it is a failure."""
    if isinstance(event, (TaskFailedEvent, SubOrchestrationInstanceFailedEvent)):
        error_type = event.failure_details.error_type if event.failure_details else None
        return TaskFailedError(event.reason, event.details, error_type=error_type), True
    if isinstance(event, (TaskCompletedEvent, SubOrchestrationInstanceCompletedEvent)):
        return _json.loads(event.result, task.expected_type), False
    if isinstance(event, EventRaisedEvent):
        if isinstance(task, EntityCallTask):
            return _entity_outcome(task, event)
        return _json.loads(event.input, task.expected_type), False
    return None, False  # TimerFired


def _entity_outcome(task: EntityCallTask, event: EventRaisedEvent) -> tuple[Any, bool]:
    response = _json.loads(event.input) or {}
    if not isinstance(response, dict):
        return TaskFailedError(f"{task.description} got a malformed response", str(event.input)), True
    result = response.get("result")
    error_type = response.get("exceptionType")
    if error_type or response.get("failureDetails"):
        message = _decoded_text(result) if result else error_type
        # Named after the entity and the operation (Durable Functions raises a bare Exception(message)).
        return TaskFailedError(f"{task.description} failed: {message}", error_type, error_type=error_type), True
    if isinstance(result, str) and result.startswith(_HOST_TIMEOUT):
        # The Functions host answers a timed-out operation with this plain text instead of a JSON result.
        return TaskFailedError(f"{task.description} failed: {result}", None, error_type="TimeoutError"), True
    return _json.loads(result, task.expected_type), False


def _decoded_text(text: Any) -> Any:
    try:
        return _json.loads(text)
    except ValueError:
        return text


def failure_details(error: BaseException) -> FailureDetails:
    # azure-functions-durable 1.7 shows str(type(exc)) for an exception without a message.
    # Text from the user's exception goes into History rows and messages: a lone surrogate in it could not be
    # written (the episode would fail again on every retry), so it becomes U+FFFD, as .NET writes it.
    message = dotnet_text(str(error) or str(type(error)))
    stack = dotnet_text("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    return FailureDetails(error_type=type(error).__name__, error_message=message, stack_trace=stack)
