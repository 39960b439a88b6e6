"""The aiohttp application: the management API, the dashboard, the token check, and errors as JSON."""

from __future__ import annotations

import logging

from aiohttp import web

from durable_storage.client import DurableOrchestrationClient
from durable_storage.errors import (
    ConfigurationError,
    DurableStorageError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceStateError,
)
from durable_storage.web import _dashboard, _webhooks
from durable_storage.web._responses import CLIENT, error
from durable_storage.web._security import Handler, guard_logs, security_middleware

__all__ = ["create_app"]

_log = logging.getLogger(__name__)

# Our errors, and the status the Functions host answers for the same condition; anything else is a 500.
_STATUS_OF: tuple[tuple[type[DurableStorageError], int], ...] = (
    (ConfigurationError, 400),
    (InstanceNotFoundError, 404),
    (InstanceAlreadyExistsError, 409),
    (InstanceStateError, 409),
)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except DurableStorageError as failure:
        for kind, status in _STATUS_OF:
            if isinstance(failure, kind):
                return error(status, str(failure))
        _log.error("%s %s failed: %s", request.method, request.path, failure)
        return error(500, "Something went wrong while processing your request")
    except Exception:
        # Library errors carry no secret (errors.py); the request's query, which may hold the token, is not logged.
        _log.exception("%s %s failed", request.method, request.path)
        return error(500, "Something went wrong while processing your request")


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)


def create_app(client: DurableOrchestrationClient, *, token: str | None = None) -> web.Application:
    """The web application of ``client``'s task hub: the Durable Functions HTTP API and the dashboard.

    Run it with ``aiohttp.web.AppRunner`` (or :class:`ManagementServer`). The client stays the caller's: the app
    never closes it.

    Args:
        client: the task hub to serve.
        token: when given, every request must carry ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (401
            otherwise). Without one, only requests addressed to a loopback host are answered.

    Raises:
        ConfigurationError: an empty token, or one that is not a str.
    """
    if token is not None and (not isinstance(token, str) or not token):
        # The value is a secret, or a typo of one: its type is all the message shows.
        raise ConfigurationError(
            f"token ({type(token).__name__}, value not shown) is invalid: must be a non-empty str, or None for no token"
        )
    app = web.Application(middlewares=[security_middleware(token), _errors])
    app[CLIENT] = client
    guard_logs(app, token)
    app.add_routes(_webhooks.routes())
    _dashboard.install(app)
    app.on_response_prepare.append(_add_headers)
    return app
