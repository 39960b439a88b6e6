"""What client_call in function_app.py can do: each SDK client operation, its result as JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

Call = Callable[[df.DurableOrchestrationClient, func.HttpRequest, Any, dict[str, Any]], Awaitable[Any]]


def _status(status: df.DurableOrchestrationStatus) -> dict[str, Any] | None:
    if not status:
        return None
    return {
        "name": status.name,
        "instance_id": status.instance_id,
        "runtime_status": status.runtime_status.name if status.runtime_status else None,
        "input": status.input_,
        "output": status.output,
        "custom_status": status.custom_status,
    }


async def _get(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    return _status(await client.get_status(i, show_input=True))


async def _by(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    found = await client.get_status_by(
        created_time_from=datetime.utcnow() - timedelta(hours=1),
        runtime_status=[OrchestrationRuntimeStatus[name] for name in a["statuses"]],
    )
    return sorted(s.instance_id for s in found if s.name == a["name"])


async def _all(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    return sorted(s.instance_id for s in await client.get_status_all() if s.name == a["name"])


async def _start(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    return await client.start_new(a["name"], i, a.get("input"))


async def _raise(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    await client.raise_event(i, a["event"], a.get("data"))
    return "raised"


def _reasoned(method: str) -> Call:
    async def call(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
        await getattr(client, method)(i, a.get("reason", "because"))
        return method

    return call


async def _restart(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    return await client.restart(i, a.get("new_id", True))


async def _purge(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    return (await client.purge_instance_history(i)).instances_deleted


async def _purge_by(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    result = await client.purge_instance_history_by(
        created_time_from=datetime.utcnow() - timedelta(hours=1),
        runtime_status=[OrchestrationRuntimeStatus[name] for name in a["statuses"]],
    )
    return result.instances_deleted


async def _signal(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    await client.signal_entity(df.EntityId(a["entity"], a["key"]), a["op"], a.get("input"))
    return "signalled"


async def _read(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    state = await client.read_entity_state(df.EntityId(a["entity"], a["key"]))
    return {"exists": state.entity_exists, "state": state.entity_state}


async def _wait(client: df.DurableOrchestrationClient, req: func.HttpRequest, i: str, a: dict[str, Any]) -> Any:
    instance_id = await client.start_new(a["name"], None, a.get("input"))
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=a.get("timeout_ms", 20000), retry_interval_in_milliseconds=200
    )


CALLS: dict[str, Call] = {
    "get": _get,
    "by": _by,
    "all": _all,
    "start": _start,
    "raise": _raise,
    "terminate": _reasoned("terminate"),
    "suspend": _reasoned("suspend"),
    "resume": _reasoned("resume"),
    "rewind": _reasoned("rewind"),
    "restart": _restart,
    "purge": _purge,
    "purge_by": _purge_by,
    "signal": _signal,
    "read": _read,
    "wait": _wait,
}
