"""One storage account: the three async SDK service clients behind our queue, table and blob verbs.

This is where SDK clients are built, with the SDK's own retries off (``retry_total=0``: ``retry.py`` decides)
and explicit timeouts, and where they are closed.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core.pipeline.transport import AioHttpTransport
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from durable_storage._closing import AsyncClosing
from durable_storage._connection import StorageConnection
from durable_storage._redact import SecretMaskingFilter
from durable_storage._settings import check_instance
from durable_storage._storage.blobs import Blobs
from durable_storage._storage.calls import CountingTransport
from durable_storage._storage.credentials import StorageCredential, build_credential
from durable_storage._storage.faults import FaultInjectingTransport, FaultPlan
from durable_storage._storage.queues import Queues
from durable_storage._storage.retry import StorageRetryPolicy
from durable_storage._storage.tables import Tables

__all__ = ["StorageAccount"]

_CONNECT_TIMEOUT = 10
_READ_TIMEOUT = 30


_MASK = SecretMaskingFilter()


def _guard_sdk_logs() -> None:
    """Mask secrets in every ``azure.*`` logger that exists by now (the SDK modules are imported above).

    azure-data-tables logs full headers (Authorization included) at DEBUG (reliability.md §4.1). A logger's
    filters apply only to records logged on that very logger, hence one filter per SDK logger, not one on
    ``azure``.
    """
    for name in [n for n in logging.Logger.manager.loggerDict if n == "azure" or n.startswith("azure.")]:
        logger = logging.getLogger(name)
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)


class StorageAccount(AsyncClosing):
    """The queues, tables and blobs of one storage account. An async context manager; ``close()`` is idempotent.

    ``credential`` is the caller's SDK credential for a connection with ``auth="supplied"``; it is used, never
    closed, because the caller owns it. ``faults`` (tests only, :mod:`durable_storage.testing.faults`) puts a
    fault-injecting transport below every client of this account; None in production, where nothing changes.
    """

    def __init__(
        self,
        connection: StorageConnection,
        *,
        credential: StorageCredential | None = None,
        retry: StorageRetryPolicy | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        _guard_sdk_logs()
        plan = check_instance(faults, "faults", FaultPlan, optional=True)
        self.connection = connection
        self.retry = check_instance(retry, "retry", StorageRetryPolicy, optional=True) or StorageRetryPolicy()
        self._credential: Any = build_credential(connection, credential)
        self._owns_credential = credential is None
        options: dict[str, Any] = {
            "credential": self._credential,
            "retry_total": 0,
            "connection_timeout": _CONNECT_TIMEOUT,
            "read_timeout": _READ_TIMEOUT,
        }

        def transport(service: str) -> dict[str, Any]:
            # A transport per service client: closing the client closes it (and the aiohttp session inside).
            # It counts requests when asked to (durable_storage.calls; one check per request otherwise).
            endpoint = getattr(connection, f"{service}_endpoint")
            sender = AioHttpTransport(connection_timeout=_CONNECT_TIMEOUT, read_timeout=_READ_TIMEOUT)
            counted = CountingTransport(service, endpoint, inner=sender)
            if plan is None:
                return {**options, "transport": counted}
            injected = FaultInjectingTransport(plan, service=service, endpoint=endpoint, inner=counted)
            return {**options, "transport": injected}

        self._queue_service = QueueServiceClient(connection.queue_endpoint, **transport("queue"))
        self._table_service = TableServiceClient(connection.table_endpoint, **transport("table"))
        self._blob_service = BlobServiceClient(connection.blob_endpoint, **transport("blob"))
        self.queues = Queues(self._queue_service, self.retry)
        self.tables = Tables(self._table_service, self.retry)
        self.blobs = Blobs(self._blob_service, self.retry)
        self._closed = False

    async def close(self) -> None:
        """Close every client and the credential. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        await self.queues.close()
        await self.tables.close()
        await self._queue_service.close()
        await self._table_service.close()
        await self._blob_service.close()
        close = getattr(self._credential, "close", None) if self._owns_credential else None
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return f"StorageAccount({self.connection!r})"
