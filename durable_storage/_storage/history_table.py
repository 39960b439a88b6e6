"""The History table: one row per event, fenced by the sentinel row's ETag (storage-layout.md §2.1).

Appends are entity-group transactions of at most 99 events plus the sentinel. The sentinel is inserted by the
first checkpoint and merged with If-Match on every later one, so a worker that checkpoints with a stale ETag
(it lost the instance to another worker) gets ConflictError and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from durable_storage._clock import Clock, utcnow
from durable_storage._names import escape_key
from durable_storage._storage.codec import event_to_row, row_to_event
from durable_storage._storage.large import LargeProperties, utf16_size
from durable_storage._storage.tables import Row, Tables, Write, WriteMode
from durable_storage.errors import ConflictError
from durable_storage.history import HistoryEvent

__all__ = ["SENTINEL", "HistoryTable", "LoadedHistory", "row_key"]

SENTINEL = "sentinel"
"""RowKey of the sentinel row; it sorts after every 16-hex-digit event key because 's' > 'F'."""
MAX_EVENTS_PER_BATCH = 99  # + the sentinel = 100 operations, the transaction limit
MAX_BATCH_BYTES = 3 * 1024 * 1024  # under the 4 MiB request limit, with .NET's estimate below
_ENTITY_OVERHEAD = 1024


def row_key(index: int) -> str:
    """The RowKey of the event at ``index`` of its execution: 16 uppercase hex digits."""
    return f"{index:016X}"


@dataclass(frozen=True, slots=True)
class LoadedHistory:
    """The current execution's events and the token that fences the next append.

    Attributes:
        events: the events of the current (or the requested) execution, in order.
        etag: the sentinel's ETag, None before the first checkpoint.
        execution_id: the execution the sentinel names (None without sentinel or rows).
        checkpoint_completed: when the last checkpoint finished, if recorded.
        checkpoint_complete: False while a multi-batch checkpoint was cut short.
        blob_names: the large-property blobs the loaded rows reference.
    """

    events: list[HistoryEvent]
    etag: str | None
    execution_id: str | None
    checkpoint_completed: datetime | None = None
    checkpoint_complete: bool = True
    blob_names: list[str] = field(default_factory=list)


def _estimated_size(values: dict[str, Any]) -> int:
    # .NET's estimate: 1 KB per entity plus the UTF-16 size of its string columns (ATS UploadHistoryBatch).
    return _ENTITY_OVERHEAD + sum(utf16_size(v) for v in values.values() if isinstance(v, str))


class HistoryTable:
    """Load and append the histories of one task hub."""

    def __init__(self, tables: Tables, table: str, large: LargeProperties, *, clock: Clock = utcnow) -> None:
        self._tables = tables
        self._clock = clock
        self._large = large
        self.table = table

    async def load(self, instance_id: str, *, execution_id: str | None = None) -> LoadedHistory:
        """The history of ``instance_id``.

        With ``execution_id``, only that execution: if the sentinel names another one, the events are empty
        but the ETag is kept, so a re-created instance can overwrite the old rows (storage-layout.md §9.1).
        """
        escaped_id = escape_key(instance_id)
        query = "PartitionKey eq @pk"
        parameters: dict[str, Any] = {"pk": escaped_id}
        if execution_id is not None:
            # Spaces around the parentheses: the SDK finds @parameters by splitting the filter on spaces.
            query += " and ( RowKey eq @sentinel or ExecutionId eq @execution )"
            parameters |= {"sentinel": SENTINEL, "execution": execution_id}
        rows = [row async for row in self._tables.query(self.table, query, parameters=parameters)]
        sentinel = next((r for r in reversed(rows) if r.row_key == SENTINEL), None)
        events_rows = [r for r in rows if r.row_key != SENTINEL]
        current = _current_execution(sentinel, events_rows)
        base = LoadedHistory(
            events=[],
            etag=sentinel.etag if sentinel else None,
            execution_id=current,
            checkpoint_completed=sentinel.values.get("CheckpointCompletedTimestamp") if sentinel else None,
            checkpoint_complete=bool(sentinel.values.get("IsCheckpointComplete", True)) if sentinel else True,
        )
        if execution_id is not None and current is not None and current != execution_id:
            return base
        # Rows of an older, longer execution may follow the current ones: a ContinueAsNew or re-create
        # overwrites from RowKey 0 and leaves the tail (storage-layout.md §2.1 step 4). Stop at the first foreign row.
        current_rows = []
        for row in events_rows:
            if row.values.get("ExecutionId") != current:
                break
            current_rows.append(row)
        restored = await asyncio.gather(*(self._large.restore_history(r.values) for r in current_rows))
        events = [row_to_event(values) for values, _ in restored]
        blob_names = [name for _, names in restored for name in names]
        return LoadedHistory(
            events,
            base.etag,
            current,
            base.checkpoint_completed,
            base.checkpoint_complete,
            blob_names,
        )

    async def has_result(self, instance_id: str, execution_id: str, task_scheduled_id: int) -> bool:
        """Whether ``execution_id``'s history already records a result (TaskCompleted/TaskFailed) for the task."""
        query = "PartitionKey eq @pk and ExecutionId eq @execution and TaskScheduledId eq @task"
        parameters = {"pk": escape_key(instance_id), "execution": execution_id, "task": task_scheduled_id}
        page = await self._tables.query_page(
            self.table, query, parameters=parameters, select=("PartitionKey", "RowKey"), page_size=1
        )
        return bool(page.rows)

    async def append(
        self,
        instance_id: str,
        execution_id: str,
        events: Sequence[HistoryEvent],
        *,
        first_index: int,
        etag: str | None,
    ) -> str:
        """Write ``events`` at positions ``first_index``... of ``execution_id``; returns the new sentinel ETag.

        ``etag`` is the sentinel ETag from :meth:`load` (None for the first checkpoint of the instance).

        Raises:
            ConflictError: another writer moved the sentinel since ``etag`` was read; nothing of the batch
                that hit the conflict was written.
        """
        escaped_id = escape_key(instance_id)
        rows = [
            await self._large.offload_history(
                event_to_row(event, execution_id=execution_id), escaped_id=escaped_id, row_key=row_key(index)
            )
            for index, event in enumerate(events, start=first_index)
        ]
        batches = _batches(rows)
        for number, batch in enumerate(batches, start=1):
            final = number == len(batches)
            writes = [
                Write(WriteMode.UPSERT_REPLACE, Row(escaped_id, row_key(first_index + offset), values))
                for offset, values in batch
            ]
            writes.append(_sentinel_write(escaped_id, execution_id, etag, final=final, now=self._clock()))
            try:
                etags = await self._tables.transact(self.table, writes)
            except ConflictError as error:
                raise ConflictError(
                    f"history of {escaped_id!r} changed since it was loaded (sentinel ETag {etag!r} is stale): "
                    "another worker checkpointed this instance first",
                    status=error.status,
                    error_code=error.error_code,
                    request_id=error.request_id,
                    resource=error.resource,
                ) from None
            etag = etags[-1]
        assert etag is not None
        return etag

    async def delete(self, instance_id: str) -> int:
        """Delete every row of ``instance_id`` (events and sentinel); returns how many were deleted."""
        escaped_id = escape_key(instance_id)
        rows = [
            row
            async for row in self._tables.query(
                self.table, "PartitionKey eq @pk", parameters={"pk": escaped_id}, select=("PartitionKey", "RowKey")
            )
        ]
        for start in range(0, len(rows), 100):
            chunk = rows[start : start + 100]
            await self._tables.transact(
                self.table, [Write(WriteMode.DELETE, Row(r.partition_key, r.row_key, {})) for r in chunk]
            )
        return len(rows)


def _current_execution(sentinel: Row | None, rows: list[Row]) -> str | None:
    if sentinel is not None and sentinel.values.get("ExecutionId"):
        return str(sentinel.values["ExecutionId"])
    return str(rows[0].values["ExecutionId"]) if rows and rows[0].values.get("ExecutionId") else None


def _batches(rows: list[dict[str, Any]]) -> list[list[tuple[int, dict[str, Any]]]]:
    """Split rows (keeping their offsets) at 99 events or ~3 MB, like ATS; at least one (maybe empty) batch."""
    batches: list[list[tuple[int, dict[str, Any]]]] = [[]]
    size = 0
    for offset, values in enumerate(rows):
        row_size = _estimated_size(values)
        if batches[-1] and (len(batches[-1]) == MAX_EVENTS_PER_BATCH or size + row_size > MAX_BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append((offset, values))
        size += row_size
    return batches


def _sentinel_write(escaped_id: str, execution_id: str, etag: str | None, *, final: bool, now: datetime) -> Write:
    values: dict[str, Any] = {"ExecutionId": execution_id, "IsCheckpointComplete": final}
    if final:
        values["CheckpointCompletedTimestamp"] = now
    row = Row(escaped_id, SENTINEL, values)
    # Insert the first time (fails with 409 if a rival created it); after that merge under If-Match.
    return Write(WriteMode.MERGE, row, etag) if etag else Write(WriteMode.INSERT, row)
