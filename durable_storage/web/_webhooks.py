"""The Durable Functions HTTP management API under ``/runtime/webhooks/durabletask/``.

Routes, status codes and bodies follow the Functions host's ``HttpApiHandler`` (azure-functions-durable-extension)
so that scripts and tools written against ``func start`` work against ``durable-storage serve``:

* start: 202 + ``Location`` and the management URLs; 400 bad JSON or ID; 409 the ID is in use.
* status: 202 + ``Location`` while Pending/Running/Suspended/ContinuedAsNew, 200 once ended (500 for Failed with
  ``returnInternalServerErrorOnFailure=true``), 404 unknown.
* raise event / terminate / suspend / resume: 202; 404 unknown; 410 Gone once the instance ended. The client agrees
  with the Durable Functions SDK, which reads this 410 as success for terminate, suspend and resume (its call
  returns, nothing is sent) and as an error for raise event (``InstanceStateError``).
* rewind: 202; 404; 410 once Completed, Terminated or Canceled; 412 while not ended.
* restart: 202 (check-status of the new instance); 400 unknown; 409.
* purge one: 200 ``{"instancesDeleted": n}``; 404; 412 unless ended. Purge by filter: 200; 400 without
  ``createdTimeFrom``; 404 when nothing matched.
* entities: GET state 200/404; POST (``?op=``) or DELETE signals, 202; GET ``entities[/{name}]`` lists, paged.

Differences, all on the safe side: a value that does not parse is a 400 (the host ignores it), and purge by filter
without ``runtimeStatus`` purges the *ended* instances of the range, never running ones (the client's rule).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from durable_storage.client import DurableOrchestrationClient, EntityPage, InstancePage
from durable_storage.client._management import WEBHOOK_PATH
from durable_storage.errors import (
    ConfigurationError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceStateError,
)
from durable_storage.models import DurableOrchestrationStatus, EntityId, EntityMetadata, OrchestrationRuntimeStatus
from durable_storage.web._params import InstanceFilter, flag, instance_filter, page_size, seconds, statuses, when
from durable_storage.web._responses import (
    ORCHESTRATORS,
    SDK_CLIENT,
    client_of,
    error,
    json_body,
    location_of,
    management_response,
    status_payload,
)
from durable_storage.web._security import Handler

__all__ = ["CONTINUATION_HEADER", "RPC_PATH", "first_page", "instance_pages", "routes"]

RPC_PATH = "/durabletask"
"""Where ``durable-storage host`` serves these routes for azure-functions-durable's client (the ``rpcBaseUrl`` of
the client binding, the path of the extension's local RPC endpoint); its bodies are double-encoded JSON."""

CONTINUATION_HEADER = "x-ms-continuation-token"
_Status = OrchestrationRuntimeStatus
_RUNNING = frozenset({_Status.Pending, _Status.Running, _Status.ContinuedAsNew, _Status.Suspended})
_MAX_EMPTY_PAGES = 50


def _ended(status: DurableOrchestrationStatus) -> bool:
    return status.runtime_status is not None and status.runtime_status.is_terminal


def _not_found(instance_id: str) -> web.Response:
    return error(404, f"No instance with ID '{instance_id}' found.")


# --- start and status -------------------------------------------------------------------------------------------


async def start(request: web.Request) -> web.StreamResponse:
    """``POST orchestrators/{functionName}[/{instanceId}]``: the body is the input (JSON; empty for none)."""
    client = client_of(request)
    name = request.match_info["functionName"]
    known = request.app.get(ORCHESTRATORS)
    if known is not None and name not in known:
        # The extension's answer (and message) for a name that is not an orchestrator of the app.
        return error(400, f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.")
    _, value = await json_body(request)
    try:
        instance_id = await client.start_new(
            name,
            request.match_info.get("instanceId") or None,
            value,
            version=request.query.get("version") or None,
        )
    except InstanceAlreadyExistsError as exists:
        return error(409, str(exists))
    return await _wait_or_check_status(request, client, instance_id)


async def _wait_or_check_status(
    request: web.Request, client: DurableOrchestrationClient, instance_id: str
) -> web.StreamResponse:
    # ?timeout=S&pollingInterval=S: wait up to S seconds for the end (WaitForCompletionOrCreateCheckStatusResponse).
    timeout, interval = seconds(request.query, "timeout"), seconds(request.query, "pollingInterval")
    if timeout is None or interval is None:
        return management_response(request, instance_id)
    try:
        status = await client.wait_for_completion(instance_id, timeout=timeout, poll_interval=max(interval, 0.05))
    except TimeoutError:
        return management_response(request, instance_id)
    if status.runtime_status is _Status.Completed:
        return web.json_response(status.output)
    return web.json_response(status_payload(await client.get_status(instance_id, show_input=True)))


async def get_status(request: web.Request) -> web.StreamResponse:
    """``GET instances/{instanceId}?showHistory&showHistoryOutput&showInput&returnInternalServerErrorOnFailure``."""
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    query = request.query
    status = await client.get_status(
        instance_id,
        show_history=flag(query, "showHistory", False),
        show_history_output=flag(query, "showHistoryOutput", False),
        show_input=flag(query, "showInput", True),
    )
    if not status:
        return _not_found(instance_id)
    headers: dict[str, str] = {}
    if status.runtime_status in _RUNNING:
        code = 202
        headers = {"Location": location_of(request), "Retry-After": "5"}
    elif status.runtime_status is _Status.Failed:
        code = 500 if flag(query, "returnInternalServerErrorOnFailure", False) else 200
    else:
        code = 200 if status.runtime_status is not None else 500
    return web.json_response(status_payload(status), status=code, headers=headers)


async def first_page(
    fetch: Callable[[str | None], Awaitable[tuple[list[Any], str | None]]], token: str | None
) -> tuple[list[Any], str | None]:
    """The first page from ``token`` that has items, or the last one: a table page can come back empty."""
    for _ in range(_MAX_EMPTY_PAGES):
        items, token = await fetch(token)
        if items or token is None:
            break
    return items, token


def _paged(items: list[dict[str, Any]], token: str | None) -> web.Response:
    # The host sends the header on every page; we leave it out after the last one, when there is nothing to send.
    return web.json_response(items, headers={CONTINUATION_HEADER: token} if token else {})


def instance_pages(
    client: DurableOrchestrationClient, conditions: InstanceFilter, *, show_input: bool
) -> Callable[[str | None], Awaitable[tuple[list[DurableOrchestrationStatus], str | None]]]:
    """One page of the instances that match ``conditions``, from a continuation token."""
    pager = client.list_instances(
        conditions.created_time_from,
        conditions.created_time_to,
        conditions.runtime_status,
        conditions.instance_id_prefix,
        page_size=conditions.top,
        show_input=show_input,
    )

    async def fetch(token: str | None) -> tuple[list[DurableOrchestrationStatus], str | None]:
        page: InstancePage
        async for page in pager.by_page(token):
            return page.statuses, page.continuation_token
        return [], None

    return fetch


async def list_instances(request: web.Request) -> web.StreamResponse:
    """``GET instances?runtimeStatus&createdTimeFrom&createdTimeTo&instanceIdPrefix&top&showInput``, paged."""
    client = client_of(request)
    fetch = instance_pages(client, instance_filter(request.query), show_input=flag(request.query, "showInput", True))
    found, token = await first_page(fetch, request.headers.get(CONTINUATION_HEADER) or None)
    return _paged([status_payload(s) for s in found], token)


# --- messages to an instance ------------------------------------------------------------------------------------


async def raise_event(request: web.Request) -> web.StreamResponse:
    """``POST instances/{instanceId}/raiseEvent/{eventName}`` with an ``application/json`` body."""
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    status = await client.get_status(instance_id)
    if not status:
        return _not_found(instance_id)
    if _ended(status):
        return error(410, f"Instance '{instance_id}' is {status.runtime_status.name if status.runtime_status else ''}")
    _, data = await json_body(request, require_json_type=True)
    try:
        await client.raise_event(instance_id, request.match_info["eventName"], data)
    except InstanceStateError as ended:  # it ended between our read and the send
        return error(410, str(ended))
    return web.Response(status=202)


_Operation = Callable[[DurableOrchestrationClient, str, str], Awaitable[None]]
_OPERATIONS: dict[str, _Operation] = {
    "terminate": lambda c, i, r: c.terminate(i, r),
    "suspend": lambda c, i, r: c.suspend(i, r),
    "resume": lambda c, i, r: c.resume(i, r),
}


async def operate(request: web.Request) -> web.StreamResponse:
    """``POST instances/{instanceId}/{terminate|suspend|resume|rewind|restart}[?reason=...]``."""
    operation = request.match_info["operation"].lower()
    if operation == "rewind":
        return await _rewind(request)
    if operation == "restart":
        return await _restart(request)
    act = _OPERATIONS.get(operation)
    if act is None:
        raise web.HTTPNotFound()
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    status = await client.get_status(instance_id)
    if not status:
        return _not_found(instance_id)
    if _ended(status):
        name = status.runtime_status.name if status.runtime_status else ""
        return error(410, f"Instance '{instance_id}' is {name}: it can no longer be {operation}d")
    await act(client, instance_id, request.query.get("reason", ""))
    return web.Response(status=202)


async def _rewind(request: web.Request) -> web.StreamResponse:
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    status = await client.get_status(instance_id)
    if not status:
        return _not_found(instance_id)
    if status.runtime_status is not _Status.Failed:
        name = status.runtime_status.name if status.runtime_status else "of an unknown status"
        # The host answers 410 Gone for an instance that ended other than Failed (as for terminate), which the
        # Python SDK's rewind raises on; one still on its way can only become rewindable, so it gets 412.
        return error(
            410 if _ended(status) else 412,
            f'This orchestration has status {name}, but only orchestrations in the "Failed" state can be rewound.',
        )
    try:
        await client.rewind(instance_id, request.query.get("reason", ""))
    except InstanceStateError as refused:
        return error(412, str(refused))
    return web.Response(status=202)


async def _restart(request: web.Request) -> web.StreamResponse:
    client = client_of(request)
    try:
        new_id = await client.restart(
            request.match_info["instanceId"], flag(request.query, "restartWithNewInstanceId", True)
        )
    except InstanceNotFoundError:
        return error(400, "InstanceId does not match a valid orchestration instance.")
    except InstanceAlreadyExistsError:
        return error(409, "A non-terminal instance with this instance ID already exists.")
    return await _wait_or_check_status(request, client, new_id)


# --- purge --------------------------------------------------------------------------------------------------------


async def purge_instance(request: web.Request) -> web.StreamResponse:
    """``DELETE instances/{instanceId}``: only an ended orchestration (an entity, ``@name@key``, any time)."""
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    if not instance_id.startswith("@"):
        status = await client.get_status(instance_id)
        if not status:
            return _not_found(instance_id)
        if not _ended(status):
            name = status.runtime_status.name if status.runtime_status else "of an unknown status"
            return error(
                412,
                "Only orchestrations in a terminal state can be purged, but the orchestration with instance ID "
                f"{instance_id} has status {name}",
            )
    result = await client.purge_instance_history(instance_id)
    if not result.instances_deleted:
        return _not_found(instance_id)
    return web.json_response({"instancesDeleted": result.instances_deleted})


async def purge_instances(request: web.Request) -> web.StreamResponse:
    """``DELETE instances?createdTimeFrom=...[&createdTimeTo=...][&runtimeStatus=...]``: ended instances only."""
    client = client_of(request)
    created_from = when(request.query, "createdTimeFrom")
    if created_from is None:
        return error(400, "Please provide value for 'createdTimeFrom' parameter.")
    chosen = statuses(request.query) or [s for s in _Status if s.is_terminal]
    result = await client.purge_instance_history_by(
        created_from, when(request.query, "createdTimeTo") or client.task_hub.clock(), chosen
    )
    if not result.instances_deleted:
        return error(404, "No instance matched the filter.")
    return web.json_response({"instancesDeleted": result.instances_deleted})


# --- entities ---------------------------------------------------------------------------------------------------


def _entity(request: web.Request) -> EntityId:
    try:
        return EntityId(request.match_info["entityName"], request.match_info["entityKey"])
    except ValueError as bad:
        raise ConfigurationError(str(bad)) from None


async def read_entity(request: web.Request) -> web.StreamResponse:
    """``GET entities/{name}/{key}``: the entity's state, 404 when it has none."""
    state = await client_of(request).read_entity_state(_entity(request))
    if not state.entity_exists:
        return error(404, f"Entity '{_entity(request)}' does not exist.")
    return web.json_response(state.entity_state)


async def signal_entity(request: web.Request) -> web.StreamResponse:
    """``POST entities/{name}/{key}?op=NAME`` (body: the input, JSON or text) or ``DELETE`` (the ``delete`` op)."""
    client = client_of(request)
    entity = _entity(request)
    operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
    if request.content_type.lower() == "application/json" or not request.can_read_body:
        present, value = await json_body(request)
    else:
        value = await request.text()
        present = value != ""
    if present:
        await client.signal_entity(entity, operation, value)
    else:
        await client.signal_entity(entity, operation)
    return web.Response(status=202)


async def list_entities(request: web.Request) -> web.StreamResponse:
    """``GET entities[/{name}]?fetchState&top``, paged with the continuation header."""
    client = client_of(request)
    pager = client.list_entities(
        entity_name=request.match_info.get("entityName") or None,
        include_state=flag(request.query, "fetchState", False),
        page_size=page_size(request.query),
    )

    async def fetch(token: str | None) -> tuple[list[Any], str | None]:
        page: EntityPage
        async for page in pager.by_page(token):
            return page.entities, page.continuation_token
        return [], None

    found, token = await first_page(fetch, request.headers.get(CONTINUATION_HEADER) or None)
    return _paged([_entity_status(e) for e in found], token)


def _entity_status(entity: EntityMetadata) -> dict[str, Any]:
    # DurableEntityStatus: entityId {name, key}, lastOperationTime, state (with fetchState).
    modified = entity.last_modified_time
    return {
        "entityId": {"name": entity.entity_id.name, "key": entity.entity_id.key},
        "lastOperationTime": modified.isoformat().replace("+00:00", "Z") if modified else None,
        "lockedBy": entity.locked_by,
        "backlogQueueSize": entity.backlog_queue_size,
        "state": entity.state,
    }


def _from_sdk_client(handler: Handler) -> Handler:
    async def marked(request: web.Request) -> web.StreamResponse:
        request[SDK_CLIENT] = True
        return await handler(request)

    return marked


def routes(base: str = WEBHOOK_PATH, *, sdk_client: bool = False) -> list[web.RouteDef]:
    """The routes of the management API, under ``base`` (:data:`WEBHOOK_PATH`).

    ``sdk_client``: the routes answer azure-functions-durable's client, which double-encodes JSON bodies.
    """
    listed = _routes(base)
    if not sdk_client:
        return listed
    return [web.route(r.method, r.path, _from_sdk_client(r.handler), **r.kwargs) for r in listed]


def _routes(base: str) -> list[web.RouteDef]:
    instance = f"{base}/instances/{{instanceId}}"
    entity = f"{base}/entities/{{entityName}}/{{entityKey}}"
    return [
        web.post(f"{base}/orchestrators/{{functionName}}", start),
        web.post(f"{base}/orchestrators/{{functionName}}/{{instanceId}}", start),
        *(web.get(path, list_instances, allow_head=False) for path in (f"{base}/instances", f"{base}/instances/")),
        *(web.delete(path, purge_instances) for path in (f"{base}/instances", f"{base}/instances/")),
        web.get(instance, get_status, allow_head=False),
        web.delete(instance, purge_instance),
        web.post(f"{instance}/raiseEvent/{{eventName}}", raise_event),
        web.post(f"{instance}/{{operation}}", operate),
        *(web.get(path, list_entities, allow_head=False) for path in (f"{base}/entities", f"{base}/entities/")),
        web.get(f"{base}/entities/{{entityName}}", list_entities, allow_head=False),
        web.get(entity, read_entity, allow_head=False),
        web.post(entity, signal_entity),
        web.delete(entity, signal_entity),
    ]
