"""The Partitions table of the V3 table partition manager (storage-layout.md §2.4, §6.3).

One row per control queue, ``PartitionKey = ""`` and ``RowKey`` = the queue name. Every change is a Replace
conditioned on the row's ETag, so two workers can never both believe they won the same lease.

``LastDequeueTime`` and ``DequeueLoopRestarts`` are ours, not the reference's: the owner's latest Get Messages call
on the queue, and how often the owner's liveness check found its dequeue loop stalled or dead and restarted it since
it claimed the partition, written with each renewal so that ``hub info`` can show a partition that is owned but not
polled. .NET ignores the columns (and drops them at its next Replace).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from durable_storage._storage.tables import Row, Tables, Write, WriteMode
from durable_storage.errors import ConflictError

__all__ = ["PartitionLease", "PartitionsTable"]

_PARTITION_KEY = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionLease:
    """One partition's lease row. ``etag`` is the row version the lease was read at."""

    partition: str
    current_owner: str | None = None
    next_owner: str | None = None
    owned_since: datetime | None = None
    last_renewal: datetime | None = None
    expires_at: datetime | None = None
    is_draining: bool = False
    last_dequeue: datetime | None = None
    loop_restarts: int = 0
    etag: str | None = None

    def with_changes(self, **changes: Any) -> PartitionLease:
        """A copy with ``changes`` applied (same ETag, so writing it is still conditioned on the read)."""
        return replace(self, **changes)


def _values(lease: PartitionLease) -> dict[str, Any]:
    # Null columns are omitted: .NET reads a missing column as null (storage-layout.md §2.1).
    columns = {
        "CurrentOwner": lease.current_owner,
        "NextOwner": lease.next_owner,
        "OwnedSince": lease.owned_since,
        "LastRenewal": lease.last_renewal,
        "ExpiresAt": lease.expires_at,
        "IsDraining": lease.is_draining,
        "LastDequeueTime": lease.last_dequeue,
        "DequeueLoopRestarts": lease.loop_restarts or None,
    }
    return {name: value for name, value in columns.items() if value is not None}


def _lease(row: Row) -> PartitionLease:
    values = row.values
    return PartitionLease(
        partition=row.row_key,
        current_owner=values.get("CurrentOwner") or None,
        next_owner=values.get("NextOwner") or None,
        owned_since=values.get("OwnedSince"),
        last_renewal=values.get("LastRenewal"),
        expires_at=values.get("ExpiresAt"),
        is_draining=bool(values.get("IsDraining", False)),
        last_dequeue=values.get("LastDequeueTime"),
        loop_restarts=int(values.get("DequeueLoopRestarts") or 0),
        etag=row.etag,
    )


class PartitionsTable:
    """Lease rows of one task hub's partitions."""

    def __init__(self, tables: Tables, table: str) -> None:
        self._tables = tables
        self.table = table

    async def create(self, partitions: list[str]) -> bool:
        """Create the table and one free row per partition, all in one transaction.

        Returns:
            True when this call wrote the rows; False when the table had rows already (nothing was written).
        """
        await self._tables.create(self.table)
        if (await self._tables.query_page(self.table, "PartitionKey eq ''", page_size=1)).rows:
            return False
        # One entity-group transaction, not one insert per row as .NET does (storage-layout.md §2.4): the number of rows
        # is the hub's partition count, and a worker or client starting at the same moment must never count a
        # half-written set. Every row has PartitionKey '', so they fit one transaction (16 rows at most).
        writes = [Write(WriteMode.INSERT, Row(_PARTITION_KEY, partition, {})) for partition in partitions]
        try:
            await self._tables.transact(self.table, writes)
        except ConflictError:
            return False  # another creator's transaction came first: its rows are the hub's
        return True

    async def read_all(self) -> list[PartitionLease]:
        """Every lease row, in partition order."""
        rows = [row async for row in self._tables.query(self.table, "PartitionKey eq ''")]
        return sorted((_lease(row) for row in rows), key=lambda lease: lease.partition)

    async def replace(self, lease: PartitionLease) -> PartitionLease:
        """Write ``lease`` if its row is unchanged since it was read; returns it with the new ETag.

        Raises:
            ConflictError: someone else changed the row first (412).
        """
        row = Row(_PARTITION_KEY, lease.partition, _values(lease))
        mode = WriteMode.REPLACE if lease.etag else WriteMode.INSERT
        etag = await self._tables.write(self.table, Write(mode, row, lease.etag))
        return replace(lease, etag=etag)
