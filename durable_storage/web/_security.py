"""Who may call the server: the bearer token, and the browser attacks a local server without one invites.

With a token every request carries ``Authorization: Bearer T`` or ``?token=T`` (compared in constant time).
Without one the server is meant for loopback only, where any local web page could still reach it from the user's
browser; two checks close that: the ``Host`` header must name a loopback host (DNS rebinding), and a state-changing
request that comes with an ``Origin`` header must come from the server's own origin (CSRF). The token never
appears in a log line, an error or a response: the access log below writes the path without the query string, and
:func:`guard_logs` masks it in every record of the server's loggers, aiohttp's own included (a request aiohttp
cannot parse is logged by ``aiohttp.server`` with its raw request line, ``?token=`` and all).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from yarl import URL

from durable_storage._redact import SecretMaskingFilter

__all__ = ["AccessLogger", "ServerLogFilter", "guard_logs", "is_loopback", "security_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``); False for anything else."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token")


def _unauthorized() -> web.Response:
    return web.json_response(
        {"Message": "Unauthorized: this server needs its token, as 'Authorization: Bearer TOKEN' or '?token=TOKEN'"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="durable-storage"'},
    )


def _forbidden(message: str) -> web.Response:
    return web.json_response({"Message": message}, status=403)


def security_middleware(token: str | None) -> Middleware:
    """The middleware that lets a request through only with the token (if any) and from an allowed origin."""
    expected = token.encode("utf-8") if token else None

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is not None:
            given = _bearer(request)
            if given is None or not hmac.compare_digest(given.encode("utf-8"), expected):
                return _unauthorized()
        elif not is_loopback(request.url.host or ""):
            # No token: only a loopback name may be in Host, or a rebound DNS name would read the API.
            return _forbidden("Forbidden: without a token this server answers only requests to a loopback host")
        origin = request.headers.get("Origin")
        if request.method not in _SAFE_METHODS and origin is not None and not _same_origin(origin, request):
            return _forbidden("Forbidden: cross-origin requests may not change instances")
        return await handler(request)

    return check


def _same_origin(origin: str, request: web.Request) -> bool:
    try:
        given = URL(origin)
    except ValueError:
        return False
    own = request.url
    return (given.scheme, given.host, given.port) == (own.scheme, own.host, own.port)


class AccessLogger(AbstractAccessLogger):
    """One INFO line per request, method, path (never the query, which may hold the token), status and time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %d %.1f ms", request.method, request.path, response.status, time * 1000)


# Every logger that writes about a request while the server runs. A filter applies only to records logged on its
# own logger, not on a child's, so each is named; asyncio reports exceptions escaping protocol callbacks.
_SERVER_LOGGERS = (
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.internal",
    "aiohttp.websocket",
    "asyncio",
    "durable_storage.web._app",
)


class ServerLogFilter(SecretMaskingFilter):
    """Masks the token in a server log record, and drops the raw request aiohttp's parse errors carry.

    aiohttp logs a request it cannot parse (a 9,000-character query, a NUL, a bad header) with an exception whose
    message quotes the raw request line or header, cut at some length: a cut token would escape any mask that
    looks for the whole value, so the exception is reduced to its class and status.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` in place; always True (the record is kept)."""
        failure = record.exc_info[1] if record.exc_info else None
        if isinstance(failure, HttpProcessingError):
            record.msg = (
                f"{record.getMessage()}: {type(failure).__name__} ({failure.code}); the request is not logged, "
                "it may carry the token"
            )
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return super().filter(record)


def guard_logs(app: web.Application, token: str | None) -> None:
    """Attach a :class:`ServerLogFilter` for ``token`` to the server's loggers while ``app`` runs."""
    log_filter = ServerLogFilter([token] if token else [])

    async def attach(_: web.Application) -> None:
        for name in _SERVER_LOGGERS:
            logging.getLogger(name).addFilter(log_filter)

    async def detach(_: web.Application) -> None:
        for name in _SERVER_LOGGERS:
            logging.getLogger(name).removeFilter(log_filter)

    app.on_startup.append(attach)
    app.on_cleanup.append(detach)
