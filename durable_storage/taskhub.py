"""A task hub's storage resources: create, inspect and delete them (storage-layout.md §1.1, §2.4).

``TaskHub`` is the entry point of the storage layer for everything above it: the client and the worker build on
its tables, queues and blobs. Creating is idempotent, and the partition count is fixed at creation: it is
recorded as the number of rows in the Partitions table, exactly as the .NET provider records it, and (as in .NET)
a client or worker that was not given a count adopts the recorded one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from durable_storage._clock import Clock, utcnow
from durable_storage._closing import AsyncClosing
from durable_storage._connection import StorageConnection, parse_connection_string
from durable_storage._connection_settings import from_environment
from durable_storage._envelope import partition_of
from durable_storage._names import (
    DEFAULT_PARTITION_COUNT,
    DEFAULT_TASK_HUB,
    MAX_PARTITIONS,
    TaskHubNames,
    escape_key,
    validate_partition_count,
)
from durable_storage._storage.account import StorageAccount
from durable_storage._storage.credentials import StorageCredential
from durable_storage._storage.faults import FaultPlan
from durable_storage._storage.history_table import HistoryTable
from durable_storage._storage.instances_table import InstancesTable
from durable_storage._storage.large import LargeProperties
from durable_storage._storage.message_channel import MessageChannel
from durable_storage._storage.partitions_table import PartitionsTable
from durable_storage._storage.quarantine_table import QuarantineTable
from durable_storage._storage.timer_status import TimerStatusStore
from durable_storage.errors import ConfigurationError, ResourceNotFoundError, TaskHubMismatchError
from durable_storage.retry import StorageRetryPolicy

__all__ = ["DEFAULT_PARTITION_COUNT", "DEFAULT_TASK_HUB", "PartitionInfo", "TaskHub", "TaskHubInfo"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PartitionInfo:
    """One partition as an operator sees it: who owns it and whether its queue is being worked.

    Attributes:
        partition: the control queue name.
        owner: the worker ID holding the lease, or None when it is free.
        next_owner: the worker that asked for it (a handover under way), or None.
        expires_at: when the owner's lease runs out unless renewed.
        is_draining: True while the owner finishes its running episodes before a handover or shutdown.
        depth: approximate messages in the queue (visible and in flight), or None when the queue is missing.
        oldest_message_at: when the oldest message waiting to be received was enqueued, or None when none waits.
        last_dequeue: when the owner last asked the queue for messages (recorded at each renewal), or None.
        loop_restarts: how often the owner found its dequeue loop of the queue dead or stalled (not polling while
            its lease was renewed) and restarted it, since it claimed the partition (recorded at each renewal).
    """

    partition: str
    owner: str | None
    next_owner: str | None
    expires_at: datetime | None
    is_draining: bool
    depth: int | None
    oldest_message_at: datetime | None
    last_dequeue: datetime | None
    loop_restarts: int = 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-serializable view (times in ISO 8601)."""
        times = {
            "expires_at": self.expires_at,
            "oldest_message_at": self.oldest_message_at,
            "last_dequeue": self.last_dequeue,
        }
        return {
            "partition": self.partition,
            "owner": self.owner,
            "next_owner": self.next_owner,
            "is_draining": self.is_draining,
            "depth": self.depth,
            "loop_restarts": self.loop_restarts,
            **{key: value.isoformat() if value else None for key, value in times.items()},
        }


@dataclass(frozen=True, kw_only=True)
class TaskHubInfo:
    """What exists of a task hub in storage.

    Attributes:
        name: the task hub name.
        exists: True when the Partitions table has rows (the hub was created).
        partition_count: the recorded partition count, or None when the hub does not exist.
        queues: every queue of the hub mapped to its approximate message count, or None when it is missing.
        tables: every table of the hub mapped to whether it exists.
        containers: every blob container of the hub mapped to whether it exists.
        partitions: each partition's lease and queue, in partition order (empty when the hub does not exist).
    """

    name: str
    exists: bool
    partition_count: int | None
    queues: Mapping[str, int | None]
    tables: Mapping[str, bool]
    containers: Mapping[str, bool]
    partitions: tuple[PartitionInfo, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """A JSON-serializable view."""
        return {
            "name": self.name,
            "exists": self.exists,
            "partition_count": self.partition_count,
            "queues": dict(self.queues),
            "tables": dict(self.tables),
            "containers": dict(self.containers),
            "partitions": [partition.to_dict() for partition in self.partitions],
        }


class TaskHub(AsyncClosing):
    """The storage resources of one task hub in one storage account.

    Use :meth:`from_connection_string` or :meth:`from_env`; the hub is an async context manager and
    :meth:`close` is idempotent.

    Args:
        connection: where the account is and how to authenticate.
        credential: the caller's SDK credential, for a connection with ``auth="supplied"``
            (:func:`~durable_storage._connection.from_service_url`); the caller keeps owning it.
        task_hub: the hub name: 3-45 letters or digits, starting with a letter.
        partition_count: control queues (1-16). None (the default): an existing hub's recorded count is adopted
            by :meth:`create_if_not_exists`, and a new hub gets 4. A count given must match an existing hub's.
        retry: the retry policy of storage calls.
        clock: where the client, the worker and the storage layer on this hub read the wall clock (a test seam:
            ``durable_storage.testing.SkewedClock`` plays a machine whose clock is off).
        faults: a test seam: storage requests fail on purpose as this plan says
            (:mod:`durable_storage.testing.faults`); None (the default) sends every request as it is.
    """

    def __init__(
        self,
        connection: StorageConnection,
        *,
        credential: StorageCredential | None = None,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        clock: Clock = utcnow,
        faults: FaultPlan | None = None,
    ) -> None:
        # Validate every name before anything touches storage.
        self._given_count = None if partition_count is None else validate_partition_count(partition_count)
        self.names = TaskHubNames(task_hub, self._given_count or DEFAULT_PARTITION_COUNT)
        if not callable(clock):
            raise ConfigurationError(f"clock {clock!r} is invalid: must be a function returning the UTC time")
        self.clock = clock
        self.account = StorageAccount(connection, credential=credential, retry=retry, faults=faults)
        self.large = LargeProperties(self.account.blobs, self.names.large_messages_container)
        self.history = HistoryTable(self.account.tables, self.names.history_table, self.large, clock=clock)
        self.instances = InstancesTable(self.account.tables, self.names.instances_table, self.large)
        self.partitions = PartitionsTable(self.account.tables, self.names.partitions_table)
        self.messages = MessageChannel(self.account.queues, self.account.blobs, self.names.large_messages_container)
        self.quarantine = QuarantineTable(
            self.account.tables,
            self.account.queues,
            self.account.blobs,
            table=self.names.quarantine_table,
            container=self.names.large_messages_container,
        )
        # Timer functions' schedule status, in the hub's lease container (see _storage/timer_status.py).
        self.timers = TimerStatusStore(self.account.blobs, self.names.lease_container)

    @classmethod
    def from_connection_string(
        cls,
        conn_str: str,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        clock: Clock = utcnow,
        faults: FaultPlan | None = None,
    ) -> TaskHub:
        """A hub in the account of an Azure Storage connection string (``UseDevelopmentStorage=true`` works)."""
        connection = parse_connection_string(conn_str)
        return cls(
            connection, task_hub=task_hub, partition_count=partition_count, retry=retry, clock=clock, faults=faults
        )

    @classmethod
    def from_env(
        cls,
        name: str = "AzureWebJobsStorage",
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        clock: Clock = utcnow,
        faults: FaultPlan | None = None,
    ) -> TaskHub:
        """A hub in the account named by the environment, read as Durable Functions reads ``AzureWebJobsStorage``."""
        connection = from_environment(name)
        return cls(
            connection, task_hub=task_hub, partition_count=partition_count, retry=retry, clock=clock, faults=faults
        )

    @property
    def name(self) -> str:
        """The task hub name."""
        return self.names.hub

    @property
    def partition_count(self) -> int:
        """The partition count: the hub's recorded one once :meth:`create_if_not_exists` ran, else the one given
        (or 4)."""
        return self.names.partition_count

    def escape(self, instance_id: str) -> str:
        """The table key of ``instance_id`` (storage-layout.md §1.3)."""
        return escape_key(instance_id)

    def control_queue_of(self, instance_id: str) -> str:
        """The control queue of ``instance_id``'s messages: FNV-1a of the ID (storage-layout.md §3.3)."""
        return self.names.control_queue(partition_of(instance_id, self.names.partition_count))

    async def stored_partition_count(self) -> int | None:
        """The partition count recorded in storage, or None when the hub was never created."""
        if not await self.account.tables.exists(self.names.partitions_table):
            return None
        return len(await self.partitions.read_all()) or None

    async def create_if_not_exists(self) -> None:
        """Create whatever of the hub is missing: queues, tables, the large-message container, partition rows.

        Safe with any number of workers and clients creating the same hub at once. An existing hub's partition
        count is adopted when none was given (:attr:`partition_count` tells it afterwards).

        Raises:
            TaskHubMismatchError: the hub exists with another partition count than the one given; nothing was
                created.
        """
        self._adopt(await self.stored_partition_count())
        await self._create_resources()
        # Partition rows last: their presence is what marks the hub as created.
        if not await self.partitions.create(list(self.names.control_queues)):
            # Another creator got there first, maybe with another count: its queues were made before its rows.
            self._adopt(await self.stored_partition_count())
        _log.info("task hub %s ready with %d partitions", self.names.hub, self.names.partition_count)

    async def _create_resources(self) -> None:
        names = self.names
        await asyncio.gather(
            *(self.account.queues.create(q) for q in (*names.control_queues, names.work_item_queue)),
            self.account.tables.create(names.history_table),
            self.account.tables.create(names.instances_table),
            # .NET creates this container lazily at the first large message; creating it up front is harmless
            # and lets `info` show the whole hub.
            self.account.blobs.create_container(names.large_messages_container),
        )

    def _adopt(self, stored: int | None) -> None:
        """Take the recorded count unless another was given (.NET's clients and workers adopt it too)."""
        if stored is None or stored == self.names.partition_count:
            return
        if self._given_count is not None:
            raise TaskHubMismatchError(
                f"task hub {self.names.hub!r} exists with {stored} partitions, not {self._given_count}: the "
                "partition count is fixed when a hub is created (instances are routed by it); give no partition "
                f"count (the hub's is used) or {stored}, or delete the hub"
            )
        _log.info("task hub %s has %d partitions: using its count", self.names.hub, stored)
        self.names = TaskHubNames(self.names.hub, stored)

    async def delete(self) -> None:
        """Delete every queue, table and container of the hub. Idempotent; stored data is gone for good."""
        names = self.names
        # Every control queue a hub of this name can have: a hub created with more partitions than this object
        # knows of, or one whose creator lost a race to a creator of fewer partitions, still loses all its queues.
        queues = TaskHubNames(names.hub, MAX_PARTITIONS).control_queues
        await asyncio.gather(
            *(self.account.queues.delete(q) for q in (*queues, names.work_item_queue)),
            *(self.account.tables.delete(t) for t in (*names.tables, names.quarantine_table)),
            *(self.account.blobs.delete_container(c) for c in names.containers),
        )
        _log.info("task hub %s deleted", names.hub)

    async def info(self) -> TaskHubInfo:
        """What exists of the hub: queue depths, tables, containers, and each partition's owner and queue."""
        names = self.names
        exists = await self.account.tables.exists(names.partitions_table)
        leases = await self.partitions.read_all() if exists else []  # read once: the count and the owners
        stored = len(leases) or None
        partition_count = stored or names.partition_count
        queue_names = [names.control_queue(i) for i in range(partition_count)] + [names.work_item_queue]
        depths, oldest, tables, containers = await asyncio.gather(
            asyncio.gather(*(self._depth(q) for q in queue_names)),
            asyncio.gather(*(self._oldest(q) for q in queue_names[:-1])),
            asyncio.gather(*(self.account.tables.exists(t) for t in names.tables)),
            asyncio.gather(*(self.account.blobs.container_exists(c) for c in names.containers)),
        )
        queues = dict(zip(queue_names, depths, strict=True))
        waiting = dict(zip(queue_names, oldest, strict=False))
        partitions = tuple(
            PartitionInfo(
                partition=lease.partition,
                owner=lease.current_owner,
                next_owner=lease.next_owner,
                expires_at=lease.expires_at,
                is_draining=lease.is_draining,
                depth=queues.get(lease.partition),
                oldest_message_at=waiting.get(lease.partition),
                last_dequeue=lease.last_dequeue,
                loop_restarts=lease.loop_restarts,
            )
            for lease in leases
        )
        return TaskHubInfo(
            name=names.hub,
            exists=stored is not None,
            partition_count=stored,
            queues=queues,
            tables=dict(zip(names.tables, tables, strict=True)),
            containers=dict(zip(names.containers, containers, strict=True)),
            partitions=partitions,
        )

    async def _oldest(self, queue: str) -> datetime | None:
        # Peek shows the next visible message, the one a healthy owner would receive next.
        try:
            peeked = await self.account.queues.peek(queue, max_messages=1)
        except ResourceNotFoundError:
            return None
        return peeked[0].inserted_on if peeked else None

    async def _depth(self, queue: str) -> int | None:
        try:
            return await self.account.queues.count(queue)
        except ResourceNotFoundError:
            return None

    async def close(self) -> None:
        """Close the storage clients. Safe to call more than once."""
        await self.account.close()

    def __repr__(self) -> str:
        return f"TaskHub({self.names.hub!r}, partitions={self.names.partition_count}, {self.account.connection!r})"
