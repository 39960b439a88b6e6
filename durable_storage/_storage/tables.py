"""Table verbs over the async Azure Tables SDK: rows in, rows out, with ETags.

The History, Instances and Partitions tables build on these few verbs (``history_table``, ``instances_table``,
``partitions_table``); none of them sees an SDK object.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from durable_storage._storage.errors import StorageVerbs
from durable_storage.errors import ConfigurationError, ResourceNotFoundError
from durable_storage.retry import OperationKind, StorageRetryPolicy

__all__ = ["MAX_TRANSACTION", "Page", "Row", "Tables", "Write", "WriteMode"]

MAX_TRANSACTION = 100
"""The most operations one entity-group transaction may hold (Azurite does not enforce it; Azure does)."""
_KEYS = ("PartitionKey", "RowKey")


@dataclass(frozen=True, slots=True)
class Row:
    """One table entity: its keys, its other columns, and the ETag it was read with."""

    partition_key: str
    row_key: str
    values: Mapping[str, Any]
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query; ``continuation`` is None on the last page."""

    rows: list[Row]
    continuation: dict[str, str] | None


class WriteMode(enum.Enum):
    """How a row is written; the ETag-conditioned modes fail with ConflictError when the row changed."""

    INSERT = "insert"  # fails if the row exists
    UPSERT_REPLACE = "upsert_replace"
    UPSERT_MERGE = "upsert_merge"
    REPLACE = "replace"  # If-Match: etag, or "*" without one
    MERGE = "merge"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Write:
    """One operation of a transaction."""

    mode: WriteMode
    row: Row
    etag: str | None = field(default=None)


def _entity(row: Row) -> dict[str, Any]:
    return {**row.values, "PartitionKey": row.partition_key, "RowKey": row.row_key}


def _row(entity: TableEntity) -> Row:
    values = {k: v for k, v in entity.items() if k not in _KEYS}
    return Row(str(entity["PartitionKey"]), str(entity["RowKey"]), values, entity.metadata.get("etag"))


def _operation(write: Write) -> tuple[str, dict[str, Any], dict[str, Any]]:
    entity = _entity(write.row)
    conditional = (
        {"etag": write.etag, "match_condition": MatchConditions.IfNotModified}
        if write.etag
        else {"match_condition": MatchConditions.Unconditionally}
    )
    operations: dict[WriteMode, tuple[str, dict[str, Any]]] = {
        WriteMode.INSERT: ("create", {}),
        WriteMode.UPSERT_REPLACE: ("upsert", {"mode": UpdateMode.REPLACE}),
        WriteMode.UPSERT_MERGE: ("upsert", {"mode": UpdateMode.MERGE}),
        WriteMode.REPLACE: ("update", {"mode": UpdateMode.REPLACE, **conditional}),
        WriteMode.MERGE: ("update", {"mode": UpdateMode.MERGE, **conditional}),
        WriteMode.DELETE: ("delete", conditional),
    }
    name, options = operations[write.mode]
    return name, entity, options


def _is_conditional(write: Write) -> bool:
    return write.mode is WriteMode.INSERT or write.etag is not None


class Tables(StorageVerbs):
    """The tables of one storage account."""

    def __init__(self, service: TableServiceClient, retry: StorageRetryPolicy) -> None:
        super().__init__(retry)
        self._service = service
        self._clients: dict[str, TableClient] = {}

    def _client(self, table: str) -> TableClient:
        client = self._clients.get(table)
        if client is None:
            client = self._clients[table] = self._service.get_table_client(table)
        return client

    async def create(self, table: str) -> None:
        """Create ``table`` if it does not exist."""
        await self._call(
            OperationKind.IDEMPOTENT, f"table {table}", lambda: self._service.create_table_if_not_exists(table)
        )

    async def delete(self, table: str) -> None:
        """Delete ``table`` if it exists."""
        # The SDK ignores a 404 here.
        await self._call(OperationKind.IDEMPOTENT, f"table {table}", lambda: self._service.delete_table(table))

    async def exists(self, table: str) -> bool:
        """True when ``table`` exists."""
        try:
            await self.query_page(table, "PartitionKey eq ''", page_size=1)
        except ResourceNotFoundError:
            return False
        return True

    async def get(self, table: str, partition_key: str, row_key: str) -> Row | None:
        """The row with these keys, or None."""

        async def get() -> Row | None:
            return _row(await self._client(table).get_entity(partition_key, row_key))

        return await self._call(OperationKind.IDEMPOTENT, f"table {table}", get, if_missing=None)

    async def query_page(
        self,
        table: str,
        query: str | None,
        *,
        parameters: Mapping[str, Any] | None = None,
        select: Sequence[str] | None = None,
        page_size: int | None = None,
        continuation: Mapping[str, str] | None = None,
    ) -> Page:
        """One page of rows matching the OData ``query`` (values bound through ``@name`` parameters; None: all)."""

        async def query_page() -> Page:
            client = self._client(table)
            columns = list(select) if select else None
            items = (
                client.list_entities(select=columns, results_per_page=page_size)
                if query is None
                else client.query_entities(
                    query, parameters=dict(parameters or {}), select=columns, results_per_page=page_size
                )
            )
            # The SDK's continuation is a {PartitionKey, RowKey} dict despite its str annotation.
            pages = items.by_page(continuation_token=dict(continuation) if continuation else None)  # type: ignore[arg-type]
            rows = [_row(entity) async for entity in await pages.__anext__()]
            token = pages.continuation_token  # type: ignore[attr-defined]
            return Page(rows, dict(token) if token else None)

        return await self._call(OperationKind.IDEMPOTENT, f"table {table}", query_page)

    async def query(
        self,
        table: str,
        query: str | None,
        *,
        parameters: Mapping[str, Any] | None = None,
        select: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Row]:
        """Every row matching ``query``, page by page (each page is retried on its own)."""
        continuation: dict[str, str] | None = None
        while True:
            page = await self.query_page(
                table, query, parameters=parameters, select=select, page_size=page_size, continuation=continuation
            )
            for row in page.rows:
                yield row
            if page.continuation is None:
                return
            continuation = page.continuation

    async def write(self, table: str, write: Write) -> str | None:
        """Apply one write; returns the row's new ETag (None for a delete).

        A DELETE of a missing row counts as done.
        """
        name, entity, options = _operation(write)
        client = self._client(table)

        async def apply() -> str | None:
            if name == "create":
                return (await client.create_entity(entity)).get("etag")
            if name == "upsert":
                return (await client.upsert_entity(entity, **options)).get("etag")
            if name == "update":
                return (await client.update_entity(entity, **options)).get("etag")
            await client.delete_entity(entity["PartitionKey"], entity["RowKey"], **options)
            return None

        kind = OperationKind.CONDITIONAL if _is_conditional(write) else OperationKind.IDEMPOTENT
        try:
            return await self._call(kind, f"table {table}", apply)
        except ResourceNotFoundError:
            if write.mode is WriteMode.DELETE:
                return None
            raise

    async def transact(self, table: str, writes: Sequence[Write]) -> list[str | None]:
        """Apply ``writes`` atomically (all or none); returns each row's new ETag in order.

        Raises:
            ConflictError: an ETag was stale or an inserted row existed; nothing was written.
            ConfigurationError: more than 100 writes, or rows of several partitions (Azure refuses both;
                Azurite silently accepts mixed partitions, so the check is ours).
        """
        if not 1 <= len(writes) <= MAX_TRANSACTION:
            raise ConfigurationError(f"a transaction of {len(writes)} writes is invalid: must be 1-{MAX_TRANSACTION}")
        partitions = {w.row.partition_key for w in writes}
        if len(partitions) != 1:
            raise ConfigurationError(f"a transaction over partitions {sorted(partitions)!r} is invalid: must be one")
        operations = [_operation(w) for w in writes]

        async def submit() -> list[str | None]:
            results = await self._client(table).submit_transaction(operations)
            return [r.get("etag") for r in results]

        kind = OperationKind.CONDITIONAL if any(map(_is_conditional, writes)) else OperationKind.IDEMPOTENT
        return await self._call(kind, f"table {table}", submit)

    async def close(self) -> None:
        """Close the cached per-table clients (the service client is closed by its owner)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
