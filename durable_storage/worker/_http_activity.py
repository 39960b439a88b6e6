"""The built-in activity ``BuiltIn::HttpActivity``: the HTTP request of a ``context.call_http``, made with aiohttp.

As the Durable Functions extension runs it for Python apps (functions-host.md §8.2): the request's headers are sent
as given except ``Content-Type``, which sets the body's media type (``text/plain`` by default; multipart refused);
a ``ManagedIdentityTokenSource`` adds ``Authorization: Bearer`` with a token for its resource; redirects are
followed. Any status is an answer: a 202 with a ``Location`` comes back as is, not polled (azure-functions-durable
never asks for the asynchronous pattern, so the extension does not poll for it either: functions-host.md §8.2, §9.10).
The answer is the extension's ``DurableHttpResponse``: the status, the response headers without the content
headers, and the body as text. A connection failure or a timeout raises, so the orchestration sees a failed task.

The URL's query may carry keys (``?code=``, ``sig=``): errors and logs name the URL without it, and neither the
token nor the ``Authorization`` header ever reaches a log or an error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from durable_storage import _json
from durable_storage._durable_http import DurableHttpRequest, DurableHttpResponse, ManagedIdentityTokenSource
from durable_storage._storage.credentials import check_token_credential, default_token_credential

__all__ = ["HttpActivity"]

_log = logging.getLogger(__name__)

# .NET's HttpResponseMessage.Headers leaves these to Content.Headers, which the extension does not copy.
_CONTENT_HEADERS = frozenset(
    {
        "allow",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "expires",
        "last-modified",
    }
)
# The extension turns these two bare resources into scopes (ManagedIdentityTokenSource.cs); others pass as given.
_SCOPES = {
    "https://management.core.windows.net": "https://management.core.windows.net/.default",
    "https://graph.microsoft.com": "https://graph.microsoft.com/.default",
}


class HttpActivity:
    """Runs ``call_http`` requests for one worker; owns its aiohttp session (and the default credential it made).

    Args:
        timeout: seconds a request may take when it names no timeout of its own.
        credential: the async token credential for token sources; None: a ``DefaultAzureCredential``, made at
            the first request that needs a token and closed with this object. A given one stays the caller's.
    """

    def __init__(self, *, timeout: float, credential: object = None) -> None:
        self._timeout = timeout
        self._credential = None if credential is None else check_token_credential(credential)
        self._owns_credential = False
        self._session: aiohttp.ClientSession | None = None

    async def run(self, input_text: str | None) -> str:
        """The JSON ``DurableHttpResponse`` for the JSON ``DurableHttpRequest`` ``input_text``.

        Raises:
            ValueError: not a valid request.
            TimeoutError: no complete answer within the timeout.
            ConnectionError: the request could not be made (refused, DNS, TLS, reset...).
        """
        request = DurableHttpRequest.from_json(_json.loads(input_text))
        url = _url(request.uri)
        shown = f"{request.method} {_without_query(url)}"
        timeout = request.timeout.total_seconds() if request.timeout is not None else self._timeout
        headers, body = _outgoing(request)
        if request.token_source is not None:
            headers["Authorization"] = f"Bearer {await self._token(request.token_source, timeout, shown)}"
        try:
            response = await self._send(request.method, url, headers, body, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"HTTP request {shown} timed out after {timeout:g} s") from None
        except aiohttp.ClientError as error:
            detail = str(error).replace(str(url), _without_query(url)) or type(error).__name__
            raise ConnectionError(f"HTTP request {shown} failed: {detail}") from None
        _log.debug("call_http %s answered %d", shown, response.status_code)
        return _json.dumps(response.to_json())

    async def _send(
        self, method: str, url: URL, headers: CIMultiDict[str], body: bytes | None, timeout: float
    ) -> DurableHttpResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        limits = aiohttp.ClientTimeout(total=timeout)
        async with self._session.request(method, url, headers=headers, data=body, timeout=limits) as answer:
            raw = await answer.read()
            return DurableHttpResponse(answer.status, _incoming(answer.headers), _text(raw, answer.charset))

    async def _token(self, source: ManagedIdentityTokenSource, timeout: float, shown: str) -> str:
        if self._credential is None:
            self._credential, self._owns_credential = default_token_credential(), True
        scope = _SCOPES.get(source.resource.rstrip("/"), source.resource)
        try:
            token = await asyncio.wait_for(self._credential.get_token(scope), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"getting a token for {source.resource!r} ({shown}) timed out after {timeout:g} s"
            ) from None
        except Exception as error:
            # Credential errors name the credentials tried, never a token.
            raise PermissionError(f"getting a token for {source.resource!r} ({shown}) failed: {error}") from None
        return str(token.token)

    async def close(self) -> None:
        """Close the session, and the credential if it was made here. Idempotent."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._owns_credential and self._credential is not None:
            credential, self._credential, self._owns_credential = self._credential, None, False
            await credential.close()


def _url(uri: str) -> URL:
    url = URL(uri)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"HTTP uri {_without_query(url)!r} is invalid: must be an absolute http or https URL")
    return url


def _without_query(url: URL) -> str:
    return str(url.with_query(None).with_fragment(None))


def _outgoing(request: DurableHttpRequest) -> tuple[CIMultiDict[str], bytes | None]:
    """The headers and body aiohttp sends, with the extension's Content-Type rules."""
    headers: CIMultiDict[str] = CIMultiDict()
    content_type = ""
    for name, value in (request.headers or {}).items():
        values = [value] if isinstance(value, str) else value
        if name.lower() == "content-type":
            if any("multipart" in v for v in values):
                raise ValueError("Multipart content is not supported with call_http")
            content_type = values[-1] if values else ""
            continue
        for item in values:
            headers.add(name, item)
    if request.content is None:
        return headers, None
    content_type = content_type or "text/plain"
    if content_type.lower() == "application/x-www-form-urlencoded":
        content_type += "; charset=utf-8"
    headers["Content-Type"] = content_type
    return headers, request.content.encode("utf-8")


def _text(raw: bytes, charset: str | None) -> str:
    # .NET's ReadAsStringAsync: the declared charset, else UTF-8; an unknown charset is no reason to fail.
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def _incoming(headers: Any) -> dict[str, str | list[str]]:
    """The response headers as the extension returns them: one string, or a list for a repeated header."""
    result: dict[str, str | list[str]] = {}
    seen = set(_CONTENT_HEADERS)  # lower-case names: header names are case-insensitive
    for name in headers:
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        values = headers.getall(name)
        result[name] = values[0] if len(values) == 1 else list(values)
    return result
