"""Storage faults on purpose: an async transport below our retry policy that fails requests (reliability.md §5.1).

The public face is :mod:`durable_storage.testing.faults`; the transport lives here because only the storage
layer may import the Azure SDK (docs/architecture.md, ``tests/test_layering.py``).

Each request is classified as (service, operation, resource) from its method and URL (:func:`classify`), the
first :class:`FaultRule` that matches decides, with a seeded RNG, whether it fails and how:

- ``server_busy``: a synthetic ``503 ServerBusy`` response; nothing was sent.
- ``operation_timeout``: a synthetic ``500 OperationTimedOut`` response; nothing was sent.
- ``connection_error``: ``ServiceRequestError`` before sending (the connection failed); nothing was sent.
- ``execute_then_fail``: the request is sent and executed, its response dropped, and ``ServiceResponseError``
  raised: the ambiguous failure of Temporal's ``ExecuteAndTimeout``.

Every injected fault is counted on the :class:`FaultPlan` and logged on ``durable_storage.testing.faults``.
A hub injects faults when it is given a plan (``TaskHub(..., faults=plan)``; a worker process: ``durable-storage
worker --faults JSON``, the JSON of :meth:`FaultPlan.to_json`); without one nothing changes.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import random
import re
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import AioHttpTransport, AsyncHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest
from azure.core.rest._http_response_impl_async import AsyncHttpResponseImpl
from azure.core.utils import case_insensitive_dict

from durable_storage._settings import check_int, check_number
from durable_storage.errors import ConfigurationError

__all__ = [
    "FAULT_KINDS",
    "FaultInjectingTransport",
    "FaultPlan",
    "FaultRule",
    "RequestKind",
    "classify",
]

FAULT_KINDS = ("server_busy", "operation_timeout", "connection_error", "execute_then_fail")
_SERVICES = ("queue", "table", "blob")
# The public module's name: users filter and count on it, wherever the code lives.
_log = logging.getLogger("durable_storage.testing.faults")
# The first inner request line of a table batch names the table: "PUT http://host/acct/HubHistory(PartitionKey=...".
_BATCH_TABLE = re.compile(rb"^(?:PUT|POST|PATCH|MERGE|DELETE|GET) \S*?/([A-Za-z][A-Za-z0-9]{2,62})[(? ]", re.MULTILINE)
_CREATED_TABLE = re.compile(r'"TableName"\s*:\s*"([^"]+)"')
_SYNTHETIC = {
    "server_busy": (503, "ServerBusy", "The server is busy."),
    "operation_timeout": (500, "OperationTimedOut", "Operation could not be completed within the specified time."),
}


@dataclass(frozen=True, slots=True)
class RequestKind:
    """What a request does: ``service`` (queue, table, blob), ``operation`` and ``resource`` (queue, table or
    container name; "" for account-level requests)."""

    service: str
    operation: str
    resource: str


@dataclass(frozen=True, kw_only=True)
class FaultRule:
    """Fault rates for the requests it matches; ``service``, ``operation`` and ``resource`` are glob patterns.

    Resource patterns match case-insensitively (table names are case-insensitive). Each rate is the chance that
    a matching request gets that fault; together they are at most 1. ``skip``: the first matching requests that
    pass untouched; ``limit``: the most faults the rule injects (None: no limit). So ``server_busy=1.0, skip=1,
    limit=1`` fails exactly the second matching request.
    """

    service: str = "*"
    operation: str = "*"
    resource: str = "*"
    server_busy: float = 0.0
    operation_timeout: float = 0.0
    connection_error: float = 0.0
    execute_then_fail: float = 0.0
    skip: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        rates = [check_number(getattr(self, kind), f"fault {kind}", unit="chances", high=1.0) for kind in FAULT_KINDS]
        if sum(rates) > 1:
            raise ConfigurationError(f"fault rates {rates!r} are invalid: their sum must be at most 1")
        check_int(self.skip, "fault skip", low=0)
        if self.limit is not None:
            check_int(self.limit, "fault limit", low=0)

    def matches(self, request: RequestKind) -> bool:
        """True when every pattern matches ``request``."""
        return (
            fnmatch.fnmatchcase(request.service, self.service)
            and fnmatch.fnmatchcase(request.operation, self.operation)
            and fnmatch.fnmatchcase(request.resource.lower(), self.resource.lower())
        )


class FaultPlan:
    """The rules, the seeded RNG and the tally of one process's fault injection, shared by its transports.

    Args:
        rules: checked in order; the first that matches a request decides its fate.
        seed: the RNG seed (the same request sequence gets the same faults).
    """

    def __init__(self, rules: Sequence[FaultRule], *, seed: int = 0) -> None:
        self.rules = tuple(rules)
        self.seed = seed
        self._random = random.Random(seed)
        self._seen: Counter[int] = Counter()  # matching requests per rule
        self._per_rule: Counter[int] = Counter()  # faults per rule
        self.injected: Counter[tuple[str, str, str]] = Counter()
        """Faults injected so far, by (fault kind, service, operation)."""
        self.transports: weakref.WeakSet[FaultInjectingTransport] = weakref.WeakSet()
        """The transports built on this plan that still exist."""

    @property
    def total(self) -> int:
        """How many faults were injected."""
        return sum(self.injected.values())

    def by_kind(self) -> dict[str, int]:
        """Faults injected so far, by kind (every kind listed)."""
        counts = dict.fromkeys(FAULT_KINDS, 0)
        for (kind, _, _), count in self.injected.items():
            counts[kind] += count
        return counts

    def choose(self, request: RequestKind) -> str | None:
        """The fault ``request`` gets (one of :data:`FAULT_KINDS`), or None; counts and logs a fault."""
        number = next((n for n, r in enumerate(self.rules) if r.matches(request)), None)
        if number is None:
            return None
        rule = self.rules[number]
        self._seen[number] += 1
        if self._seen[number] <= rule.skip or (rule.limit is not None and self._per_rule[number] >= rule.limit):
            return None
        draw = self._random.random()
        for kind in FAULT_KINDS:
            draw -= getattr(rule, kind)
            if draw < 0:
                self._per_rule[number] += 1
                self.injected[(kind, request.service, request.operation)] += 1
                _log.info(
                    "injected %s into %s %s %s (fault #%d)",
                    kind,
                    request.service,
                    request.operation,
                    request.resource or "-",
                    self.total,
                )
                return kind
        return None

    def to_json(self) -> str:
        """The plan as JSON (for ``worker --faults``): ``{"seed": n, "rules": [{...FaultRule fields}]}``."""
        return json.dumps({"seed": self.seed, "rules": [asdict(rule) for rule in self.rules]})

    @classmethod
    def from_json(cls, text: str) -> FaultPlan:
        """The plan of a :meth:`to_json` spec.

        Raises:
            ConfigurationError: the spec is not such JSON.
        """
        try:
            spec = json.loads(text)
            known = {f.name for f in fields(FaultRule)}
            rules = [FaultRule(**{k: v for k, v in rule.items() if k in known}) for rule in spec["rules"]]
            return cls(rules, seed=int(spec.get("seed", 0)))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ConfigurationError(f"fault plan {text[:200]!r} is invalid: {error}") from None


def classify(service: str, method: str, url: str, body: object = None, *, base_path: str = "") -> RequestKind:
    """Name what a request to ``service`` does, from its method and URL (and a table batch's body).

    ``base_path`` is the endpoint's path (Azurite's ``/devstoreaccount1``), stripped before classifying. Queue:
    ``put_message`` (POST .../messages), ``get_messages``, ``peek_messages``, ``clear_messages``,
    ``update_message`` (PUT .../messages/{id}), ``delete_message`` (DELETE .../messages/{id}), ``create_queue``,
    ``delete_queue``, ``get_queue_properties``, ``list_queues``. Table: ``batch`` (POST $batch; resource = the
    table named in the body), ``create_table``, ``delete_table``, ``query_tables``, ``insert_entity``,
    ``get_entity``, ``query_entities``, ``update_entity`` (PUT: replace or upsert), ``merge_entity`` (PATCH or
    MERGE), ``delete_entity``. Blob: ``{verb}_container`` (restype=container), ``list_containers``, and
    ``{verb}_blob`` or ``{verb}_{comp}`` (e.g. ``put_lease``) for blobs, with verb = put/get/head/delete.
    """
    parts = urlsplit(url)
    path = parts.path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    segments = [s for s in path.split("/") if s]
    query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
    method = method.upper()
    if service == "queue":
        return _queue(method, segments, query)
    if service == "table":
        return _table(method, segments, body)
    return _blob(method, segments, query)


def _queue(method: str, segments: list[str], query: Mapping[str, str]) -> RequestKind:
    if len(segments) >= 2 and segments[-1] == "messages":
        names = {"POST": "put_message", "DELETE": "clear_messages"}
        operation = "peek_messages" if query.get("peekonly") == "true" else names.get(method, "get_messages")
        return RequestKind("queue", operation, segments[-2])
    if len(segments) >= 3 and segments[-2] == "messages":
        operation = {"PUT": "update_message", "DELETE": "delete_message"}.get(method, "message")
        return RequestKind("queue", operation, segments[-3])
    if not segments:
        return RequestKind("queue", "list_queues" if query.get("comp") == "list" else "service", "")
    if query.get("comp") == "metadata":
        return RequestKind("queue", "set_queue_metadata" if method == "PUT" else "get_queue_properties", segments[-1])
    operation = {"PUT": "create_queue", "DELETE": "delete_queue"}.get(method, "get_queue_properties")
    return RequestKind("queue", operation, segments[-1])


def _table(method: str, segments: list[str], body: object) -> RequestKind:
    last = segments[-1] if segments else ""
    if last == "$batch":
        found = _BATCH_TABLE.search(body) if isinstance(body, bytes) else None
        return RequestKind("table", "batch", found[1].decode() if found else "")
    name, _, keys = last.partition("(")
    if name == "Tables":
        operation = {"POST": "create_table", "DELETE": "delete_table"}.get(method, "query_tables")
        created = _CREATED_TABLE.search(body) if isinstance(body, str) else None
        return RequestKind("table", operation, created[1] if created else keys.strip("')"))
    if keys.rstrip(")"):  # Table(PartitionKey='p',RowKey='r'): one entity
        verbs = {"PUT": "update_entity", "PATCH": "merge_entity", "MERGE": "merge_entity", "DELETE": "delete_entity"}
        return RequestKind("table", verbs.get(method, "get_entity"), name)
    return RequestKind("table", "insert_entity" if method == "POST" else "query_entities", name)


def _blob(method: str, segments: list[str], query: Mapping[str, str]) -> RequestKind:
    verb = method.lower()
    if not segments:
        return RequestKind("blob", "list_containers" if query.get("comp") == "list" else "service", "")
    if len(segments) == 1 or query.get("restype") == "container":
        operation = "list_blobs" if query.get("comp") == "list" else f"{verb}_container"
        return RequestKind("blob", operation, segments[0])
    comp = query.get("comp")
    return RequestKind("blob", f"{verb}_{comp}" if comp else f"{verb}_blob", segments[0])


def _service_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return next((s for s in _SERVICES if f".{s}." in f".{host}."), "blob")


class _NoConnection:
    """The internal response of a synthetic response: nothing to release."""

    async def close(self) -> None:
        return None


def _synthetic(request: HttpRequest, service: str, kind: str, number: int) -> AsyncHttpResponse:
    status, code, message = _SYNTHETIC[kind]
    request_id = f"injected-fault-{number}"
    if service == "table":
        content_type = "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
        error = {
            "odata.error": {"code": code, "message": {"lang": "en-US", "value": f"{message}\nRequestId:{request_id}"}}
        }
        body = json.dumps(error).encode()
    else:
        content_type = "application/xml"
        text = f"<Error><Code>{code}</Code><Message>{message}\nRequestId:{request_id}</Message></Error>"
        body = f'<?xml version="1.0" encoding="utf-8"?>{text}'.encode()
    headers = case_insensitive_dict(
        {
            "x-ms-error-code": code,
            "x-ms-request-id": request_id,
            "content-type": content_type,
            "content-length": str(len(body)),
        }
    )
    response = AsyncHttpResponseImpl(
        request=request,
        internal_response=_NoConnection(),
        status_code=status,
        reason="Server Busy" if status == 503 else "Internal Server Error",
        content_type=content_type,
        headers=headers,
        stream_download_generator=None,
    )
    response._content = body  # read() and iter_bytes() serve it from memory
    return response


class FaultInjectingTransport(AsyncHttpTransport):  # type: ignore[type-arg]
    """An async transport that wraps ``inner`` (the SDK's default ``AioHttpTransport``) and injects faults.

    Pass it as ``transport=`` to one service client: the storage SDKs' retry policies (ours: ``retry_total=0``)
    sit above it, so an injected fault looks exactly like one from the service.

    Args:
        plan: the rules, RNG and tally (one plan may serve several transports).
        service: ``queue``, ``table`` or ``blob``; None to tell from the URL's host (``ACCOUNT.queue.core...``),
            which does not work for Azurite's port-per-service URLs.
        endpoint: the service endpoint; its path (Azurite's ``/devstoreaccount1``) is not part of an operation.
        inner: the transport that really sends; closed with this one.
    """

    def __init__(
        self,
        plan: FaultPlan,
        *,
        service: str | None = None,
        endpoint: str | None = None,
        inner: AsyncHttpTransport | None = None,  # type: ignore[type-arg]
    ) -> None:
        if service is not None and service not in _SERVICES:
            raise ConfigurationError(f"service {service!r} is invalid: must be one of {', '.join(_SERVICES)}")
        self.plan = plan
        self.service = service
        self._base_path = urlsplit(endpoint).path.rstrip("/") if endpoint else ""
        self.inner = inner if inner is not None else AioHttpTransport()
        self.closed = False
        plan.transports.add(self)

    async def send(self, request: HttpRequest, **kwargs: Any) -> AsyncHttpResponse:
        """Send ``request``, unless the plan injects a fault (see the module docstring)."""
        service = self.service or _service_of(request.url)
        kind = classify(service, request.method, request.url, request.content, base_path=self._base_path)
        fault = self.plan.choose(kind)
        if fault is None:
            return await self.inner.send(request, **kwargs)  # type: ignore[no-any-return]
        where = f"{kind.service} {kind.operation} {kind.resource}".rstrip()
        if fault == "connection_error":
            raise ServiceRequestError(f"injected fault: connection failed before sending ({where})")
        if fault in _SYNTHETIC:
            return _synthetic(request, service, fault, self.plan.total)
        response: AsyncHttpResponse = await self.inner.send(request, **kwargs)
        await response.close()  # executed: the service applied it, but the caller never hears back
        raise ServiceResponseError(f"injected fault: the response was lost after the request was executed ({where})")

    async def open(self) -> None:
        """Open the inner transport."""
        await self.inner.open()

    async def close(self) -> None:
        """Close the inner transport. Idempotent."""
        self.closed = True
        await self.inner.close()

    async def __aenter__(self) -> FaultInjectingTransport:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()
