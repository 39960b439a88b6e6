"""Storage-call counting: every request the SDK sends, by service and operation (performance.md §5.2).

The transport of every SDK client of a :class:`~durable_storage._storage.account.StorageAccount` classifies each
request as it goes out (``queue put_message``, ``table batch``, ``blob get_blob`` ...; the names of
``faults.classify``) and adds it to the tallies that are on: the process-wide one (:func:`count_calls`) and any
open :func:`counting` scopes of the calling context. Off by default: then a request costs one check.

Requests are counted as sent: a retry by our retry policy is a second request, as it is on the storage bill.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline.transport import AsyncHttpResponse, AsyncHttpTransport, HttpRequest

from durable_storage._storage.faults import classify

__all__ = ["CountingTransport", "StorageCalls", "count_calls", "counting", "process_calls"]


class StorageCalls:
    """A tally of storage requests by ``(service, operation)``; safe to share between threads."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, service: str, operation: str) -> None:
        with self._lock:
            self._counts[(service, operation)] += 1

    def snapshot(self) -> Counter[tuple[str, str]]:
        """The counts so far (a copy)."""
        with self._lock:
            return Counter(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def since(self, earlier: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
        """The requests counted after ``earlier`` (a :meth:`snapshot`)."""
        now = self.snapshot()
        now.subtract(earlier)
        return +now

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def __repr__(self) -> str:
        return f"StorageCalls(total={self.total})"


_process: StorageCalls | None = None
_scopes: ContextVar[tuple[StorageCalls, ...]] = ContextVar("durable_storage_call_scopes", default=())


def count_calls() -> StorageCalls:
    """Turn on process-wide counting (idempotent) and return the process's tally."""
    global _process
    if _process is None:
        _process = StorageCalls()
    return _process


def process_calls() -> StorageCalls | None:
    """The process's tally, or None when counting is off."""
    return _process


@contextlib.contextmanager
def counting() -> Iterator[StorageCalls]:
    """Count the requests made by this context (and the tasks it starts) while the block runs."""
    tally = StorageCalls()
    token = _scopes.set((*_scopes.get(), tally))
    try:
        yield tally
    finally:
        _scopes.reset(token)


class CountingTransport(AsyncHttpTransport):  # type: ignore[type-arg]
    """The transport of one service's clients: sends through ``inner`` and counts each request that goes out.

    The storage SDKs take no extra pipeline policies, so counting sits at the transport, below the SDK pipeline
    (and below the fault-injecting transport of tests: a synthetic fault never reached the service).
    """

    def __init__(self, service: str, endpoint: str, *, inner: AsyncHttpTransport) -> None:  # type: ignore[type-arg]
        self._service = service
        self._base_path = urlsplit(endpoint).path.rstrip("/")
        self.inner = inner

    async def send(self, request: HttpRequest, **kwargs: Any) -> AsyncHttpResponse:
        scopes = _scopes.get()
        if _process is not None or scopes:
            operation = classify(self._service, request.method, request.url, base_path=self._base_path).operation
            if _process is not None:
                _process.add(self._service, operation)
            for tally in scopes:
                tally.add(self._service, operation)
        return await self.inner.send(request, **kwargs)  # type: ignore[no-any-return]

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def __aenter__(self) -> CountingTransport:
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.inner.__aexit__(*args)
