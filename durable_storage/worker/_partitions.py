"""Partition leases in the Partitions table (storage-layout.md §6.3, the V3 table partition manager).

A worker claims rows that are free or expired, renews the ones it owns, and releases them on shutdown; each change
is an ETag-conditioned Replace, so two workers never both win a row. Every round also checks that each owned
partition really has a running dequeue loop (the reference's "owned but not listening" bug). Moving partitions
between several workers (steal, drain, balance) builds on this loop in the scale-out issue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from durable_storage._storage.partitions_table import PartitionLease
from durable_storage.errors import ConflictError, StorageError
from durable_storage.taskhub import TaskHub
from durable_storage.worker._options import WorkerOptions

__all__ = ["PartitionManager"]

_log = logging.getLogger(__name__)
_CLAIM_SECONDS = 60.0  # a fresh claim lasts a minute, as in the reference (hard-coded there too)


class PartitionManager:
    """Owns partitions for one worker; calls back when one is acquired or lost."""

    def __init__(
        self,
        hub: TaskHub,
        options: WorkerOptions,
        *,
        on_acquired: Callable[[str], Awaitable[None]],
        on_lost: Callable[[str], Awaitable[None]],
        is_listening: Callable[[str], bool],
    ) -> None:
        self._hub = hub
        self._options = options
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._is_listening = is_listening
        self.owned: set[str] = set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim and renew until ``stopping`` is set, then release everything owned."""
        failures = 0
        while not stopping.is_set():
            try:
                await self.round()
                failures = 0
            except (StorageError, asyncio.TimeoutError) as error:
                failures += 1
                _log.warning("partition lease round failed (%d in a row): %s", failures, error)
            # Retry at once after a failure (a lost race re-reads), up to 10 times, as the reference does.
            delay = 0.0 if 0 < failures < 10 else self._options.lease_renew_interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
        await self.release_all()

    async def round(self) -> None:
        """One pass over the Partitions table: drop lost rows, renew ours, claim free or expired ones."""
        now = datetime.now(timezone.utc)
        for lease in await self._hub.partitions.read_all():
            if lease.partition in self.owned and lease.current_owner != self._options.worker_id:
                await self._lose(lease.partition, "another worker owns it now")
            elif lease.current_owner == self._options.worker_id:
                await self._renew(lease, now)
            elif _is_free(lease, now):
                await self._claim(lease, now)

    async def _renew(self, lease: PartitionLease, now: datetime) -> None:
        renewed = lease.with_changes(last_renewal=now, expires_at=now + timedelta(seconds=self._options.lease_interval))
        try:
            await self._hub.partitions.replace(renewed)
        except ConflictError:
            await self._lose(lease.partition, "its row changed under us")
            return
        if lease.partition not in self.owned or not self._is_listening(lease.partition):
            # Owned but not listening (a restart before expiry, or a dead loop): start listening again.
            self.owned.add(lease.partition)
            await self._on_acquired(lease.partition)

    async def _claim(self, lease: PartitionLease, now: datetime) -> None:
        claimed = lease.with_changes(
            current_owner=self._options.worker_id,
            next_owner=None,
            owned_since=now,
            last_renewal=now,
            expires_at=now + timedelta(seconds=_CLAIM_SECONDS),
            is_draining=False,
        )
        try:
            await self._hub.partitions.replace(claimed)
        except ConflictError:
            return  # someone else claimed it first
        _log.info("partition %s acquired by %s", lease.partition, self._options.worker_id)
        self.owned.add(lease.partition)
        await self._on_acquired(lease.partition)

    async def _lose(self, partition: str, why: str) -> None:
        _log.info("partition %s lost: %s", partition, why)
        self.owned.discard(partition)
        await self._on_lost(partition)

    async def release_all(self) -> None:
        """Stop listening and give every owned partition back, so another worker can take it at once."""
        owned, self.owned = set(self.owned), set()
        for partition in owned:
            await self._on_lost(partition)
        try:
            leases = await self._hub.partitions.read_all()
        except StorageError as error:
            _log.warning("could not release partitions %s: %s", sorted(owned), error)
            return
        for lease in leases:
            if lease.partition in owned and lease.current_owner == self._options.worker_id:
                released = lease.with_changes(current_owner=None, is_draining=False, expires_at=None)
                with contextlib.suppress(StorageError):
                    await self._hub.partitions.replace(released)
                    _log.info("partition %s released by %s", lease.partition, self._options.worker_id)


def _is_free(lease: PartitionLease, now: datetime) -> bool:
    if lease.current_owner is None and lease.next_owner is None:
        return True
    return lease.expires_at is not None and now >= lease.expires_at
