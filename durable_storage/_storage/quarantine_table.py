"""The quarantine: queue messages that can never be processed, set aside so their queue keeps moving.

Ours; the .NET provider has none (reliability.md §6 proposes this layout). Table ``{Hub}Quarantine``, created at the
first quarantined message: ``PartitionKey`` = the queue the message came from, ``RowKey`` = its queue message ID.
Columns: ``Body`` (the raw queue message text, as it was in the queue) or, when it is longer than a table string may
be, ``BodyBlobName`` (a gzip blob ``quarantine/{queue}/{message id}`` in ``{hub}-largemessages``); ``Reason``;
``InstanceId`` (when known); ``DequeueCount``; ``InsertedTime`` (when it was first enqueued); ``QuarantinedTime``.
Re-queueing puts the body back into its queue as a new message and removes the row and its blob.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from durable_storage._storage.blobs import Blobs
from durable_storage._storage.queues import QueueMessage, Queues
from durable_storage._storage.tables import Row, Tables, Write, WriteMode
from durable_storage.errors import ResourceNotFoundError
from durable_storage.models import QuarantinedMessage

__all__ = ["QuarantineTable"]

_INLINE_CHARS = 30_000  # a table string holds 32K UTF-16 code units; leave room for surrogate pairs
_MAX_REASON_CHARS = 4_000


class QuarantineTable:
    """Quarantined messages of one task hub."""

    def __init__(self, tables: Tables, queues: Queues, blobs: Blobs, *, table: str, container: str) -> None:
        self._tables = tables
        self._queues = queues
        self._blobs = blobs
        self.table = table
        self._container = container
        self._created = False

    async def add(
        self, message: QueueMessage, *, reason: str, instance_id: str | None, now: datetime
    ) -> QuarantinedMessage:
        """Keep ``message`` in the quarantine (idempotent per message ID); the caller deletes it from its queue."""
        if not self._created:
            await self._tables.create(self.table)
            self._created = True
        values: dict[str, object] = {
            "Reason": reason[:_MAX_REASON_CHARS],
            "DequeueCount": message.dequeue_count,
            "QuarantinedTime": now,
        }
        if instance_id is not None:
            values["InstanceId"] = instance_id
        if message.inserted_on is not None:
            values["InsertedTime"] = message.inserted_on
        if len(message.body) > _INLINE_CHARS:
            blob = _blob_name(message.queue, message.id)
            await self._blobs.upload_text(self._container, blob, message.body)
            values["BodyBlobName"] = blob
        else:
            values["Body"] = message.body
        await self._tables.write(self.table, Write(WriteMode.UPSERT_REPLACE, Row(message.queue, message.id, values)))
        return _quarantined(Row(message.queue, message.id, values), message.body)

    async def list(self) -> list[QuarantinedMessage]:
        """Every quarantined message, by queue and message ID (bodies included)."""
        try:
            rows = [row async for row in self._tables.query(self.table, None)]
        except ResourceNotFoundError:
            return []  # nothing was ever quarantined
        return [_quarantined(row, await self._body(row)) for row in rows]

    async def get(self, queue: str, message_id: str) -> QuarantinedMessage | None:
        """One quarantined message, or None."""
        try:
            row = await self._tables.get(self.table, queue, message_id)
        except ResourceNotFoundError:
            return None
        return _quarantined(row, await self._body(row)) if row is not None else None

    async def requeue(self, queue: str, message_id: str) -> bool:
        """Put the message back into its queue (as a new message) and out of the quarantine; False if unknown."""
        entry = await self.get(queue, message_id)
        if entry is None:
            return False
        await self._queues.put(queue, entry.body)
        await self.remove(queue, message_id)
        return True

    async def remove(self, queue: str, message_id: str) -> None:
        """Forget a quarantined message (and its body blob)."""
        with contextlib.suppress(ResourceNotFoundError):
            await self._tables.write(self.table, Write(WriteMode.DELETE, Row(queue, message_id, {})))
        await self._blobs.delete(self._container, _blob_name(queue, message_id))

    async def _body(self, row: Row) -> str:
        blob = row.values.get("BodyBlobName")
        if isinstance(blob, str) and blob:
            return await self._blobs.download_text(self._container, blob)
        return str(row.values.get("Body", ""))


def _blob_name(queue: str, message_id: str) -> str:
    return f"quarantine/{queue}/{message_id}"


def _quarantined(row: Row, body: str) -> QuarantinedMessage:
    values = row.values
    return QuarantinedMessage(
        queue=row.partition_key,
        message_id=row.row_key,
        reason=str(values.get("Reason", "")),
        instance_id=values.get("InstanceId"),
        dequeue_count=int(values.get("DequeueCount", 0) or 0),
        inserted_on=values.get("InsertedTime"),
        quarantined_at=values.get("QuarantinedTime"),
        body=body,
    )
