"""The values of ``context.call_http``: the request, its token source and the response; pure.

The wire forms are the Durable Functions extension's ``DurableHttpRequest`` and ``DurableHttpResponse`` JSON
(functions-host.md §8): what azure-functions-durable 1.7 writes into the ``BuiltIn::HttpActivity`` input, and what
the orchestrator gets back as a plain dict. The published SDK's own objects (its ``ManagedIdentityTokenSource``)
are accepted wherever ours are, through their ``to_json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

__all__ = [
    "DurableHttpRequest",
    "DurableHttpResponse",
    "ManagedIdentityTokenSource",
    "TokenSource",
    "token_source_of",
]

_MANAGED_IDENTITY = "AzureManagedIdentity"
# .NET TimeSpan "c" text, as the extension reads DurableHttpRequest.timeout: [-][d.]hh:mm:ss[.fffffff].
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?", re.ASCII)


class TokenSource:
    """Where ``call_http`` gets an OAuth token to send as ``Authorization: Bearer`` (azure-functions-durable)."""

    def to_json(self) -> dict[str, Any]:
        """The extension's JSON form."""
        raise NotImplementedError


class ManagedIdentityTokenSource(TokenSource):
    """A token for ``resource`` from the worker's Azure identity (``DefaultAzureCredential`` unless it is given one).

    Args:
        resource: the Microsoft Entra resource (or scope) of the API called, e.g.
            ``https://management.core.windows.net/``.

    Raises:
        ValueError: ``resource`` is not a non-empty string.
    """

    def __init__(self, resource: str) -> None:
        if not isinstance(resource, str) or not resource.strip():
            raise ValueError(f"token source resource {resource!r} is invalid: must be a non-empty string")
        self._resource = resource

    @property
    def resource(self) -> str:
        """The resource a token is requested for."""
        return self._resource

    def to_json(self) -> dict[str, Any]:
        """``{"resource": ..., "kind": "AzureManagedIdentity"}``, as azure-functions-durable writes it."""
        return {"resource": self._resource, "kind": _MANAGED_IDENTITY}

    def __repr__(self) -> str:
        return f"ManagedIdentityTokenSource({self._resource!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManagedIdentityTokenSource) and other.resource == self.resource

    def __hash__(self) -> int:
        return hash(self._resource)


def token_source_of(value: object) -> ManagedIdentityTokenSource | None:
    """``value`` as our token source: ours, azure-functions-durable's (read through its ``to_json``), its JSON
    form, or None.

    Raises:
        ValueError: anything else, or a kind other than ``AzureManagedIdentity`` (the only one Durable Functions
            runs); the message names the value's type and what is allowed.
    """
    if value is None or isinstance(value, ManagedIdentityTokenSource):
        return value
    to_json = getattr(value, "to_json", None)
    data = to_json() if callable(to_json) else value
    if isinstance(data, Mapping) and data.get("kind") == _MANAGED_IDENTITY and isinstance(data.get("resource"), str):
        return ManagedIdentityTokenSource(data["resource"])
    raise ValueError(
        f"token_source of type {type(value).__name__} is invalid: must be a ManagedIdentityTokenSource (ours or "
        "azure.durable_functions'), the only token source Durable Functions supports"
    )


def _headers_of(value: object, what: str) -> dict[str, str | list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} {value!r} is invalid: must be a dict of header names to strings")
    headers: dict[str, str | list[str]] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what} name {name!r} is invalid: must be a non-empty string")
        if isinstance(item, str):
            headers[name] = item
        elif isinstance(item, Sequence) and all(isinstance(v, str) for v in item):
            headers[name] = list(item)
        else:
            raise ValueError(f"{what} {name!r} value {item!r} is invalid: must be a string or a list of strings")
    return headers


def _timespan_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds % 86_400, 3600)
    ticks = value.microseconds * 10
    days = f"{seconds // 86_400}." if seconds >= 86_400 else ""
    return f"{days}{hours:02}:{rest // 60:02}:{rest % 60:02}" + (f".{ticks:07}" if ticks else "")


def _timeout_of(value: object) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, str):
        match = _TIMESPAN.fullmatch(value)
        if match is not None:
            days, hours, minutes, seconds, fraction = match.groups()
            value = timedelta(
                days=int(days or 0),
                hours=int(hours),
                minutes=int(minutes),
                seconds=int(seconds),
                microseconds=int((fraction or "0").ljust(7, "0")) // 10,
            )
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"timeout {value!r} is invalid: must be a positive timedelta (or .NET TimeSpan text)")
    return value


class DurableHttpRequest:
    """An HTTP request made by the worker for ``context.call_http`` (azure-functions-durable's, plus ``timeout``).

    Args:
        method: the HTTP method, e.g. ``"GET"``.
        uri: the absolute http(s) URL.
        content: the request body as text, or None.
        headers: header names to a value (or a list of values); ``Content-Type`` sets the body's media type
            (``text/plain`` by default).
        token_source: a ``ManagedIdentityTokenSource`` whose token is sent as ``Authorization: Bearer``.
        timeout: how long the worker waits for the answer (keyword-only extension; default: the worker's
            ``http_timeout``, 100 s as in .NET's HttpClient).

    Raises:
        ValueError: a value of the wrong type; the message names it.
    """

    def __init__(
        self,
        method: str,
        uri: str,
        content: str | None = None,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        token_source: object = None,
        *,
        timeout: timedelta | None = None,
    ) -> None:
        if not isinstance(method, str) or not method.strip():
            raise ValueError(f"HTTP method {method!r} is invalid: must be a non-empty string such as 'GET'")
        if not isinstance(uri, str) or not uri:
            raise ValueError(f"HTTP uri {uri!r} is invalid: must be an absolute http or https URL")
        if content is not None and not isinstance(content, str):
            raise ValueError(f"HTTP content of type {type(content).__name__} is invalid: must be a str or None")
        self._method = method
        self._uri = uri
        self._content = content
        self._headers = _headers_of(headers, "HTTP header")
        self._token_source = token_source_of(token_source)
        self._timeout = _timeout_of(timeout)

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self._method

    @property
    def uri(self) -> str:
        """The URL."""
        return self._uri

    @property
    def content(self) -> str | None:
        """The body, or None."""
        return self._content

    @property
    def headers(self) -> dict[str, str | list[str]] | None:
        """The request headers, or None."""
        return self._headers

    @property
    def token_source(self) -> ManagedIdentityTokenSource | None:
        """Where the bearer token comes from, or None."""
        return self._token_source

    @property
    def timeout(self) -> timedelta | None:
        """How long the worker waits for the answer; None: the worker's ``http_timeout``."""
        return self._timeout

    def to_json(self) -> dict[str, Any]:
        """The extension's JSON: ``content`` and ``headers`` always (null when unset), ``tokenSource`` and
        ``timeout`` only when set, as azure-functions-durable 1.7 writes it."""
        data: dict[str, Any] = {
            "method": self._method,
            "uri": self._uri,
            "content": self._content,
            "headers": self._headers,
        }
        if self._token_source is not None:
            data["tokenSource"] = self._token_source.to_json()
        if self._timeout is not None:
            data["timeout"] = _timespan_text(self._timeout)
        return data

    @classmethod
    def from_json(cls, data: object) -> DurableHttpRequest:
        """The request of a ``BuiltIn::HttpActivity`` input (a one-element list, as .NET writes it, is accepted).

        Raises:
            ValueError: not a request object, or a field of the wrong type; the message names it.
        """
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if not isinstance(data, Mapping):
            raise ValueError(f"HTTP request of type {type(data).__name__} is invalid: must be a JSON object")
        return cls(
            data.get("method"),  # type: ignore[arg-type]  # checked by the constructor
            data.get("uri"),  # type: ignore[arg-type]
            data.get("content"),
            data.get("headers"),
            data.get("tokenSource"),
            timeout=_timeout_of(data.get("timeout")),
        )

    def __repr__(self) -> str:
        # Headers and content may hold secrets (an Authorization or api-key header): never shown.
        return f"DurableHttpRequest({self._method!r}, {_without_query(self._uri)!r})"


def _without_query(uri: str) -> str:
    """The URL without its query and fragment, which may carry keys (``?code=``, ``sig=``)."""
    return uri.split("?", 1)[0].split("#", 1)[0]


class DurableHttpResponse:
    """The answer to a ``call_http`` (the extension's DurableHttpResponse).

    The orchestrator receives it as a plain dict (``response["statusCode"]``), as with azure-functions-durable;
    ``DurableHttpResponse.from_json(response)`` gives this typed view.

    Attributes:
        status_code: the HTTP status; a non-2xx status is an answer like any other, not a failure.
        headers: the response headers (a string, or a list for a repeated header); the content headers
            (``Content-Type``, ``Content-Length``...) are not among them, as in Durable Functions.
        content: the body as text.
    """

    def __init__(
        self, status_code: int, headers: Mapping[str, str | Sequence[str]] | None = None, content: str = ""
    ) -> None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise ValueError(f"HTTP status code {status_code!r} is invalid: must be an integer")
        self.status_code = status_code
        self.headers = _headers_of(headers, "HTTP response header") or {}
        self.content = content if isinstance(content, str) else ""

    def to_json(self) -> dict[str, Any]:
        """``{"statusCode", "headers", "content"}``, what the orchestrator receives."""
        return {"statusCode": self.status_code, "headers": self.headers, "content": self.content}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DurableHttpResponse:
        """The typed view of the dict a ``call_http`` task yields."""
        return cls(data["statusCode"], data.get("headers"), data.get("content") or "")

    def __repr__(self) -> str:
        return f"DurableHttpResponse({self.status_code}, {len(self.content)} characters)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DurableHttpResponse) and other.to_json() == self.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable
