"""What the handlers share: the client of the app, JSON bodies, error responses and the status payload."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from aiohttp import web

from durable_storage._datetimes import utc_seconds_text
from durable_storage.client import DurableOrchestrationClient
from durable_storage.client._management import check_status_headers, management_urls, origin_of
from durable_storage.errors import ConfigurationError
from durable_storage.models import DurableOrchestrationStatus

__all__ = [
    "CLIENT",
    "ORCHESTRATORS",
    "SDK_CLIENT",
    "client_of",
    "error",
    "json_body",
    "location_of",
    "management_response",
    "status_payload",
]

CLIENT = web.AppKey("client", DurableOrchestrationClient)
ORCHESTRATORS = web.AppKey("orchestrators", frozenset)
"""Set by ``durable-storage host``: the app's orchestrator names, so that a start of another one is a 400."""
SDK_CLIENT = "durable_storage.sdk_client"  # request key: the call came from azure-functions-durable's client


def client_of(request: web.Request) -> DurableOrchestrationClient:
    """The app's client, after checking that a ``taskHub`` parameter (if any) names its hub."""
    client = request.app[CLIENT]
    hub = request.query.get("taskHub")
    if hub and hub.lower() != client.task_hub.name.lower():
        raise ConfigurationError(
            f"query parameter taskHub={hub!r} is invalid: this server serves task hub {client.task_hub.name!r}"
        )
    return client


def error(status: int, message: str) -> web.Response:
    """A JSON error response, ``{"Message": ..., "ExceptionMessage": ...}`` as the Functions host's
    ``CreateErrorResponse`` (azure-functions-durable 1.7 raises ``ExceptionMessage`` of a failed start)."""
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)


async def json_body(request: web.Request, *, require_json_type: bool = False) -> tuple[bool, Any]:
    """``(present, value)`` of the request's JSON body; an empty body is ``(False, None)``.

    Raises:
        ConfigurationError: the body is not JSON, or (``require_json_type``) not sent as ``application/json``.
    """
    text = await request.text()
    if require_json_type and request.content_type.lower() != "application/json":
        raise ConfigurationError("Only application/json request content is supported")
    if not text.strip():
        return False, None
    value = _parse(text)
    if request.get(SDK_CLIENT) and isinstance(value, str):
        # azure-functions-durable 1.7 sends its JSON as a JSON string literal (functions-host.md §9.1); the
        # extension stores that string and the SDK decodes it again in the orchestrator. Our engine decodes
        # once, so we take the value out here: inputs, event data and entity inputs arrive as sent, and
        # wait_for_external_event yields the value, not its JSON text (the SDK's open issue #295).
        try:
            return True, _parse(value)
        except ConfigurationError:
            return True, value
    return True, value


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigurationError("Invalid JSON content: the request body is not JSON") from None
    except RecursionError:
        limit = sys.getrecursionlimit()
        raise ConfigurationError(f"Invalid JSON content: the request body is nested over {limit} levels deep") from None


def _seconds(value: datetime | None) -> str | None:
    # StatusResponsePayload writes DateTime.ToString("s") + "Z": whole seconds, UTC.
    return None if value is None else utc_seconds_text(value)


def status_payload(status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The Functions host's ``StatusResponsePayload``: every key present, ``historyEvents`` only when shown."""
    body: dict[str, Any] = {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.name if status.runtime_status is not None else None,
        "input": status.input_,
        "customStatus": status.custom_status,
        "output": status.output,
        "createdTime": _seconds(status.created_time),
        "lastUpdatedTime": _seconds(status.last_updated_time),
    }
    if status.history is not None:
        body["historyEvents"] = status.history
    return body


def location_of(request: web.Request) -> str:
    """The request's URL for a ``Location`` header, without a ``token`` parameter (it is no one else's business)."""
    return str(request.url.without_query_params("token")) if "token" in request.query else str(request.url)


def management_response(request: web.Request, instance_id: str) -> web.Response:
    """The check-status 202 of ``instance_id``, its URLs under the origin this request came to (which serves them)."""
    payload = management_urls(origin_of(request), instance_id, request.app[CLIENT].task_hub.name)
    return web.json_response(payload, status=202, headers=check_status_headers(payload))
