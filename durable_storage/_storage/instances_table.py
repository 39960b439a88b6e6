"""The Instances table: one row per instance describing its latest execution (storage-layout.md §2.2)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from durable_storage._envelope import decode_message
from durable_storage._names import escape_key
from durable_storage._storage.blobs import MAX_PAYLOAD_BYTES
from durable_storage._storage.large import BLOB_NAME_SUFFIX, LargeProperties
from durable_storage._storage.tables import Page, Row, Tables, Write, WriteMode
from durable_storage.errors import MessageFormatError, ResourceNotFoundError
from durable_storage.history import ExecutionStartedEvent
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["InstanceRecord", "InstancesTable"]

_ROW_KEY = ""
# A .NET client whose start message went to a blob points the row's Input at that message (storage-layout.md §2.2).
_START_MESSAGE_SUFFIX = "-ExecutionStarted.json.gz"
# Python attribute -> column. Statuses are stored by name; Tags as a JSON object in a string.
_COLUMNS = {
    "name": "Name",
    "version": "Version",
    "input": "Input",
    "output": "Output",
    "custom_status": "CustomStatus",
    "created_time": "CreatedTime",
    "last_updated_time": "LastUpdatedTime",
    "completed_time": "CompletedTime",
    "runtime_status": "RuntimeStatus",
    "execution_id": "ExecutionId",
    "scheduled_start_time": "ScheduledStartTime",
    "generation": "Generation",
    "tags": "Tags",
    "task_hub_name": "TaskHubName",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRecord:
    """An Instances row. ``None`` means the column is absent; ``etag`` is the version it was read at.

    ``unreadable`` names each payload column (``"Input"``, ``"Output"``, ``"Tags"``) whose blob could not be read
    (deleted by hand, or corrupt), with the reason; the attribute is then None. Writes ignore it.
    """

    instance_id: str
    name: str | None = None
    version: str | None = None
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    created_time: datetime | None = None
    last_updated_time: datetime | None = None
    completed_time: datetime | None = None
    runtime_status: OrchestrationRuntimeStatus | None = None
    execution_id: str | None = None
    scheduled_start_time: datetime | None = None
    generation: int | None = None
    tags: dict[str, str] | None = None
    task_hub_name: str | None = None
    etag: str | None = None
    unreadable: Mapping[str, str] = field(default_factory=dict)


def _columns(record: InstanceRecord) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute, column in _COLUMNS.items():
        value = getattr(record, attribute)
        if value is None:
            continue
        if isinstance(value, OrchestrationRuntimeStatus):
            value = value.value
        elif attribute == "tags":
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        values[column] = value
    return values


def _record(
    instance_id: str, values: Mapping[str, Any], etag: str | None, unreadable: Mapping[str, str]
) -> InstanceRecord:
    found: dict[str, Any] = {}
    for attribute, column in _COLUMNS.items():
        value = values.get(column)
        if value is None:
            continue
        if attribute == "runtime_status":
            value = _status(value)
        elif attribute == "tags":
            value = _tags(value, instance_id)
        found[attribute] = value
    return InstanceRecord(instance_id=instance_id, etag=etag, unreadable=unreadable, **found)


def _start_message_input(text: str, blob_name: str) -> str | None:
    """The input inside a whole start message that a .NET client left in a blob (the reader unwraps it, as .NET)."""
    message = decode_message(text, max_chars=MAX_PAYLOAD_BYTES)
    event = message.task_message.event if message.task_message is not None else None
    if not isinstance(event, ExecutionStartedEvent):
        raise MessageFormatError(f"start message blob {blob_name!r} holds no ExecutionStarted event")
    return event.input


def _status(value: Any) -> OrchestrationRuntimeStatus | None:
    try:
        return OrchestrationRuntimeStatus(value)
    except ValueError:
        # .NET maps an unknown name to (OrchestrationStatus)(-1); we report it as unknown (None).
        return None


def _tags(value: Any, instance_id: str) -> dict[str, str] | None:
    if value in ("", "null"):
        return None
    try:
        tags = json.loads(value)
    except (TypeError, ValueError):
        raise MessageFormatError(f"Instances row of {instance_id!r} has Tags that are not JSON") from None
    if not isinstance(tags, dict):
        raise MessageFormatError(f"Instances row of {instance_id!r} has Tags that are not a JSON object")
    return {str(k): str(v) for k, v in tags.items()}


class InstancesTable:
    """Read and write one task hub's Instances rows."""

    def __init__(self, tables: Tables, table: str, large: LargeProperties) -> None:
        self._tables = tables
        self._large = large
        self.table = table

    async def read(self, instance_id: str, *, fetch_payloads: bool = True) -> InstanceRecord | None:
        """The row of ``instance_id``, with offloaded payloads read back, or None."""
        row = await self._tables.get(self.table, escape_key(instance_id), _ROW_KEY)
        if row is None:
            return None
        return await self._from_row(instance_id, row, fetch_payloads=fetch_payloads)

    async def _from_row(self, instance_id: str, row: Row, *, fetch_payloads: bool) -> InstanceRecord:
        if not fetch_payloads:
            return _record(instance_id, row.values, row.etag, {})
        values, unreadable = await self._restored(row.values)
        return _record(instance_id, values, row.etag, unreadable)

    async def _restored(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """The columns with offloaded payloads read back, and why each one that could not be read was not.

        One row's missing or corrupt blob must not fail a whole listing: its column becomes None and the
        reason is kept for the reader to show.
        """
        # Create-time offload writes {Column}BlobName (as History rows do); checkpoints write URLs.
        result = {key: value for key, value in values.items() if not key.endswith(BLOB_NAME_SUFFIX)}
        unreadable: dict[str, str] = {}
        for column, name in self._large.instance_blobs(values).items():
            try:
                result[column] = await self._payload(column, name)
            except ResourceNotFoundError:
                result[column], unreadable[column] = None, f"blob {name!r} does not exist"
            except MessageFormatError as error:
                result[column], unreadable[column] = None, str(error)
        return result, unreadable

    async def _payload(self, column: str, blob_name: str) -> str | None:
        text = await self._large.download(blob_name)
        if column == "Input" and blob_name.endswith(_START_MESSAGE_SUFFIX):
            return _start_message_input(text, blob_name)
        return text

    async def write(self, record: InstanceRecord, *, mode: WriteMode) -> str | None:
        """Write ``record`` (large payloads offloaded first); returns the new ETag.

        ``mode`` REPLACE/MERGE are conditioned on ``record.etag`` (unconditional without one); a lost race
        raises ConflictError.
        """
        escaped_id = escape_key(record.instance_id)
        values = await self._large.offload_instance(_columns(record), escaped_id=escaped_id)
        if mode is WriteMode.REPLACE:
            # A replaced row must not keep a stale create-time {Column}BlobName pointing at old data.
            values = {k: v for k, v in values.items() if not k.endswith(BLOB_NAME_SUFFIX)}
        return await self._tables.write(self.table, Write(mode, Row(escaped_id, _ROW_KEY, values), record.etag))

    async def insert(self, record: InstanceRecord) -> str | None:
        """Write a new row; ConflictError when one exists. Returns its ETag."""
        return await self.write(record, mode=WriteMode.INSERT)

    async def replace(self, record: InstanceRecord) -> str | None:
        """Replace the whole row, conditioned on ``record.etag`` (ConflictError when it changed). Returns its ETag."""
        return await self.write(record, mode=WriteMode.REPLACE)

    async def update(self, record: InstanceRecord) -> str | None:
        """Merge ``record``'s set columns into the row, conditioned on ``record.etag`` when it has one.

        Raises ConflictError when the row changed, ResourceNotFoundError when it is gone. Returns the new ETag.
        """
        return await self.write(record, mode=WriteMode.MERGE)

    async def put(self, record: InstanceRecord) -> str | None:
        """Write the whole row, whatever is there (an upsert). Returns its ETag."""
        return await self.write(record, mode=WriteMode.UPSERT_REPLACE)

    async def end(
        self,
        record: InstanceRecord,
        status: OrchestrationRuntimeStatus,
        output: str | None,
        now: datetime,
    ) -> str | None:
        """Mark the instance of ``record`` (as read) ended with ``status`` and ``output``, in its row alone.

        For an instance that has no history to checkpoint: a Pending one terminated, or one whose history
        cannot be read failed. Conditioned on ``record.etag``.
        """
        ended = dataclasses.replace(
            record, runtime_status=status, output=output, last_updated_time=now, completed_time=now
        )
        return await self.update(ended)

    async def delete(self, instance_id: str) -> None:
        """Delete the row of ``instance_id``, whatever its version; a missing row counts as deleted."""
        await self._tables.write(self.table, Write(WriteMode.DELETE, Row(escape_key(instance_id), _ROW_KEY, {})))

    async def query_page(
        self,
        query: str | None,
        *,
        unescape: Callable[[str], str],
        parameters: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        continuation: Mapping[str, str] | None = None,
        fetch_payloads: bool = False,
        columns: Sequence[str] | None = None,
    ) -> tuple[list[InstanceRecord], dict[str, str] | None]:
        """One page of rows matching ``query`` (None: all); ``unescape`` turns a PartitionKey into an instance ID.

        ``columns`` (InstanceRecord attribute names) reads only those columns and the keys: the other
        attributes are None. A projection is how a scan over many rows stays small (no payload travels).
        """
        select = None if columns is None else ["PartitionKey", "RowKey", *(_COLUMNS[name] for name in columns)]
        page: Page = await self._tables.query_page(
            self.table, query, parameters=parameters, select=select, page_size=page_size, continuation=continuation
        )
        records = [
            await self._from_row(unescape(row.partition_key), row, fetch_payloads=fetch_payloads) for row in page.rows
        ]
        return records, page.continuation
