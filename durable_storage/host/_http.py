"""HTTP triggers: match a request to a function, hand it a real ``func.HttpRequest``, answer with what it returns.

The request is mapped as the Functions host maps it for Python (functions-host.md §5): the method upper-cased,
the full URL, the headers, the query with one string per key (repeated keys joined with ``,``, empty values
dropped), the route parameters as strings, the body as bytes. The response is the function's ``$return`` (a
``func.HttpResponse`` or a ``str``), or what it ``set`` on its ``Out`` parameter; nothing at all is a 204. Keys
are not checked, as under ``func start`` on a developer's machine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

from durable_storage.host._functions import HttpFunction
from durable_storage.host._invoke import Invoker, OutValue

__all__ = ["HttpTriggers", "to_request", "to_response"]

_log = logging.getLogger(__name__)


def _joined(pairs: Sequence[tuple[str, str]], *, drop_empty: bool) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for key, value in pairs:
        if drop_empty and value == "":
            continue
        joined.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in joined.items()}


def to_request(request: web.Request, body: bytes, route_params: dict[str, str]) -> func.HttpRequest:
    """The ``func.HttpRequest`` of an aiohttp request."""
    headers: dict[str, str] = {}
    for key in request.headers:
        headers.setdefault(key.lower(), ", ".join(request.headers.getall(key)))
    return func.HttpRequest(
        request.method.upper(),
        str(request.url),
        headers=headers,
        params=_joined(list(request.query.items()), drop_empty=True),
        route_params=route_params,
        body=body,
    )


def to_response(value: Any, function_name: str) -> web.Response:
    """The aiohttp response of what a function produced: None is 204, a str a text body, else an HttpResponse."""
    if value is None:
        return web.Response(status=204)
    if isinstance(value, str):
        return web.Response(status=200, text=value, content_type="text/plain", charset="utf-8")
    if isinstance(value, bytes):
        return web.Response(status=200, body=value, content_type="application/octet-stream")
    status = getattr(value, "status_code", None)
    get_body = getattr(value, "get_body", None)
    if not isinstance(status, int) or get_body is None:
        raise TypeError(
            f"function {function_name!r} returned {type(value).__name__}: an HTTP function must return an "
            "azure.functions.HttpResponse, a str, or None"
        )
    headers: CIMultiDict[str] = CIMultiDict()
    for key, item in value.headers.items():
        headers.add(key, str(item))
    if "Content-Type" not in headers:
        mimetype = getattr(value, "mimetype", None) or "text/plain"
        charset = getattr(value, "charset", None) or "utf-8"
        # The worker adds the charset to text types only (verified with azure-functions 1.26).
        headers["Content-Type"] = f"{mimetype}; charset={charset}" if mimetype.startswith("text/") else mimetype
    return web.Response(status=status, body=get_body(), headers=headers)


class HttpTriggers:
    """The aiohttp handler of every HTTP-triggered function under ``/{route_prefix}``."""

    def __init__(self, functions: Sequence[HttpFunction], invoker: Invoker, route_prefix: str) -> None:
        self._functions = list(functions)
        self._invoker = invoker
        self._prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""

    @property
    def path(self) -> str:
        """The aiohttp route this handler is mounted on."""
        return f"{self._prefix}/{{tail:.*}}" if self._prefix else "/{tail:.*}"

    def _find(self, method: str, path: str) -> tuple[HttpFunction, dict[str, str]]:
        allowed: set[str] = set()
        for function in self._functions:
            params = function.template.match(path)
            if params is None:
                continue
            if function.methods is None or method in function.methods:
                return function, params
            allowed |= function.methods
        if allowed:
            raise web.HTTPMethodNotAllowed(method, sorted(allowed))
        raise web.HTTPNotFound()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Run the function whose route and methods match; 404 (405) when none does."""
        function, params = self._find(request.method.upper(), request.match_info["tail"])
        return await self._run(function, request, params)

    async def _run(self, function: HttpFunction, request: web.Request, params: dict[str, str]) -> web.Response:
        spec = function.spec
        http_request = to_request(request, await request.read(), params)
        arguments: dict[str, Any] = {function.trigger.name: http_request}
        out: OutValue[Any] | None = None
        if function.output is not None and function.output.name != "$return":
            out = OutValue()
            arguments[function.output.name] = out
        try:
            result = await self._invoker.call(spec, arguments)
            if out is not None:
                result = out.get()
            return to_response(result, spec.name)
        except Exception:
            # Logged with the stack, as the host logs a failed invocation; the caller gets the host's bare 500.
            _log.exception("function %r failed on %s %s", spec.name, request.method, request.path)
            return web.Response(status=500)
