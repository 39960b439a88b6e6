"""The HTTP responses a client builds for an HTTP starter, as azure-functions-durable builds them; pure.

An app written for Durable Functions returns them from its HTTP trigger, so they are real
``azure.functions.HttpResponse`` objects whenever that package is importable (under ``durable-storage host`` it
always is); otherwise our look-alike :class:`~durable_storage.client._management.CheckStatusResponse`.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from durable_storage.client._management import CheckStatusResponse
from durable_storage.errors import ConfigurationError
from durable_storage.models import DurableOrchestrationStatus, OrchestrationRuntimeStatus

__all__ = ["check_milliseconds", "completion_response", "json_response"]

_JSON = "application/json"


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    """A JSON response: ``body`` as is when it is already text, else ``json.dumps(body)`` (the SDK's rule)."""
    text = body if isinstance(body, str) else json.dumps(body)
    all_headers = {"Content-Type": _JSON, **(headers or {})}
    try:
        functions = importlib.import_module("azure.functions")
    except ImportError:
        return CheckStatusResponse(status_code, all_headers, body)
    return functions.HttpResponse(body=text, status_code=status_code, headers=all_headers, mimetype=_JSON)


def completion_response(status: DurableOrchestrationStatus) -> Any | None:
    """The response ``wait_for_completion_or_create_check_status_response`` gives for an ended instance, or None.

    Completed answers 200 with the output; Canceled and Terminated 200 with the status; Failed 500 with the
    status (azure-functions-durable 1.7's choices; the Functions host's own webhook answers differently).
    """
    kind = status.runtime_status
    if kind is OrchestrationRuntimeStatus.Completed:
        return json_response(200, status.output)
    if kind in (OrchestrationRuntimeStatus.Canceled, OrchestrationRuntimeStatus.Terminated):
        return json_response(200, status.to_json())
    if kind is OrchestrationRuntimeStatus.Failed:
        return json_response(500, status.to_json())
    return None


def check_milliseconds(timeout: object, interval: object) -> tuple[float, float]:
    """The timeout and retry interval of a wait, in seconds: whole or fractional milliseconds, interval <= timeout."""
    for what, value in (("timeout_in_milliseconds", timeout), ("retry_interval_in_milliseconds", interval)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 2**53:
            raise ConfigurationError(f"{what} {value!r} is invalid: must be a number of milliseconds greater than 0")
    assert isinstance(timeout, (int, float)) and isinstance(interval, (int, float))
    if interval > timeout:
        # azure-functions-durable refuses this too ("Total timeout ... should be bigger than retry timeout").
        raise ConfigurationError(
            f"retry_interval_in_milliseconds {interval!r} is invalid: must not be more than "
            f"timeout_in_milliseconds ({timeout!r})"
        )
    return timeout / 1000, interval / 1000
