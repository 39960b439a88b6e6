"""The Durable Functions HTTP management URLs of an instance, and the "check status" 202 response; pure.

The URLs are the ones the Functions host hands out (``HttpApiHandler.GetClientResponseLinks`` in
azure-functions-durable-extension): ``{base}/runtime/webhooks/durabletask/instances/{id}...`` with the task hub as
a query parameter, the same keys and order as azure-functions-durable's ``managementUrls`` (python-api.md §1.7).
``durable-storage serve`` answers them. They never carry a secret: a server started with ``--token`` wants it in
an ``Authorization: Bearer`` header (or ``?token=``) that the caller adds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from durable_storage.errors import ConfigurationError

__all__ = [
    "DEFAULT_MANAGEMENT_BASE_URL",
    "WEBHOOK_PATH",
    "CheckStatusResponse",
    "HasUrl",
    "check_base_url",
    "check_status_headers",
    "management_urls",
    "origin_of",
]

DEFAULT_MANAGEMENT_BASE_URL = "http://127.0.0.1:7071"
"""Where ``durable-storage serve`` listens by default (the Functions Core Tools' local port)."""

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
# The extension asks pollers to come back after 10 s (CreateCheckStatusResponseMessage).
_RETRY_AFTER_SECONDS = "10"


class HasUrl(Protocol):
    """A request object with a ``url``: ``azure.functions.HttpRequest`` (a str) or ``aiohttp.web.Request`` (a URL)."""

    @property
    def url(self) -> Any: ...


def check_base_url(value: object, what: str = "management_base_url") -> str:
    """``value`` without its trailing ``/`` if it is an http(s) URL with a host and no query or fragment."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{what} {value!r} is invalid: must be a str such as {DEFAULT_MANAGEMENT_BASE_URL!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{what} {value!r} is invalid: must be an http or https URL with a host and no query, "
            f"such as {DEFAULT_MANAGEMENT_BASE_URL!r}"
        )
    return value.rstrip("/")


def origin_of(request: str | HasUrl) -> str:
    """``scheme://host[:port]`` of a request URL (or of a request object's ``url``)."""
    url = request if isinstance(request, str) else str(request.url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"request URL {url!r} is invalid: must be an absolute http or https URL")
    return f"{parts.scheme}://{parts.netloc}"


def management_urls(base_url: str, instance_id: str, task_hub: str) -> dict[str, str]:
    """The management payload of ``instance_id``: its ID and the URL of every operation on it.

    ``{eventName}`` and ``{text}`` are left in as placeholders, as the Functions host leaves them.
    """
    instance = f"{base_url}{WEBHOOK_PATH}/instances/{quote(instance_id, safe='')}"
    hub = f"taskHub={quote(task_hub, safe='')}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{instance}?{hub}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{hub}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{hub}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{hub}",
        "purgeHistoryDeleteUri": f"{instance}?{hub}",
        "restartPostUri": f"{instance}/restart?{hub}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{hub}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{hub}",
    }


@dataclass(frozen=True)
class CheckStatusResponse:
    """The HTTP response ``create_check_status_response`` builds: 202, a ``Location`` to poll, the payload as JSON.

    Shaped like ``azure.functions.HttpResponse`` (``status_code``, ``headers``, ``mimetype``, ``get_body()``) so
    that code returning it from an HTTP handler ports; :attr:`payload` holds the management URLs as a dict.
    """

    status_code: int
    headers: dict[str, str]
    payload: Any
    mimetype: str = "application/json"
    charset: str = "utf-8"

    def get_body(self) -> bytes:
        """The JSON body, UTF-8 (a text payload is the body as it is, as azure-functions-durable sends it)."""
        text = self.payload if isinstance(self.payload, str) else json.dumps(self.payload)
        return text.encode(self.charset)


def check_status_headers(payload: dict[str, str]) -> dict[str, str]:
    """The headers of the 202 Accepted response of a management payload: where to poll, and when."""
    return {"Location": payload["statusQueryGetUri"], "Retry-After": _RETRY_AFTER_SECONDS}
