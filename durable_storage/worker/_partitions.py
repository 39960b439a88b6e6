"""Partition leases in the Partitions table: the V3 table partition manager of storage-layout.md §6.3.

One loop per worker reads every lease row and, row by row, drops queues it no longer owns, claims free or expired
rows, renews its own, and hands over rows another worker asked for: the stealer writes ``NextOwner``, the owner
drains (stops dequeuing, puts buffered messages back, lets running episodes finish, bounded by ``drain_timeout``)
while renewing with ``IsDraining``, then releases (``CurrentOwner`` cleared, ``NextOwner`` kept) and the stealer
claims it. After the rows, the loop balances: a worker below its share asks the busiest owners for rows, so W
workers on P partitions settle on ⌊P/W⌋ or ⌈P/W⌉ each. Every write is a Replace conditioned on the row's ETag.

Where we differ from the reference: a claim lasts ``lease_interval`` like a renewal (the reference hard-codes a
minute), so a worker that dies right after claiming is replaced within one lease plus one round; and each renewal
also checks that the queue's dequeue loop is alive and polling, restarting it if not (the reference's "owned but not
listening" bug). Leases are an optimisation, not the safety net: each dequeue loop stops by itself when its last
written lease runs out (a paused worker wakes up and stops), and every checkpoint is fenced by the History
sentinel ETag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from durable_storage._storage.partitions_table import PartitionLease
from durable_storage.errors import ConflictError, StorageError
from durable_storage.taskhub import TaskHub
from durable_storage.worker._options import WorkerOptions

__all__ = ["ControlQueues", "PartitionManager"]

_log = logging.getLogger(__name__)
_FOLLOW_UP_SECONDS = 1.0  # the round interval while a handover is under way (the reference's too)
_MAX_FAST_RETRIES = 10  # failed rounds retried at once before falling back to the normal interval
_SHUTDOWN_FAILURES = 2  # failed rounds in a row at shutdown that mean storage is gone, not a blip


class ControlQueues(Protocol):
    """What the partition manager drives: the orchestration dispatcher's dequeue loops."""

    async def start_queue(self, queue: str, *, valid_until: float) -> None: ...

    async def release_queue(self, queue: str) -> None: ...

    async def drop_queue(self, queue: str) -> None: ...

    def is_listening(self, queue: str) -> bool: ...

    def last_dequeue(self, queue: str) -> datetime | None: ...

    def loop_restarts(self, queue: str) -> int: ...


@dataclass
class _Tally:
    """What one round saw: rows that are (or are becoming) ours, and rows per other worker."""

    busy: bool = False
    mine: int = 0
    others: Counter[str] = field(default_factory=Counter)  # rows being stolen count for the stealer
    stealable: defaultdict[str, list[PartitionLease]] = field(default_factory=lambda: defaultdict(list))


class _RowChanged(Exception):
    """A lease write lost to another worker's write: the round ends and the table is read again at once."""


class PartitionManager:
    """Owns partitions for one worker and moves them to and from other workers."""

    def __init__(self, hub: TaskHub, options: WorkerOptions, queues: ControlQueues) -> None:
        self._hub = hub
        self._options = options
        self._queues = queues
        self._me = options.worker_id
        self.owned: set[str] = set()
        self._drains: dict[str, asyncio.Task[None]] = {}
        # Per row, its ETag and the monotonic time this worker first read that version: a row nobody has written
        # for a lease interval of *our* time has an expired lease, whatever the writer's clock said (T11).
        self._versions: dict[str, tuple[str | None, float]] = {}

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim, renew and balance until ``stopping`` is set; then drain and release everything owned."""
        failures = 0
        while not stopping.is_set():
            busy, failures = await self._attempt(shutting_down=False, failures=failures)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._delay(busy, failures))
        await self._shut_down()

    async def _shut_down(self) -> None:
        # Keep renewing while the drains run, so that nobody claims a partition whose episodes are still running.
        drained_by = time.monotonic() + self._options.drain_timeout
        deadline = drained_by + self._options.lease_interval
        failures = 0
        while self.owned and time.monotonic() < deadline:
            _, failures = await self._attempt(shutting_down=True, failures=failures)
            if failures >= _SHUTDOWN_FAILURES and self._drains_over(drained_by):
                # Storage keeps failing and nothing is left to drain: the leases run out by themselves, and waiting
                # a lease interval more for a release that cannot be written would only log warnings.
                break
            if self.owned:
                await asyncio.sleep(self._delay(True, failures))
        if self.owned:
            why = "storage is unreachable" if failures else "the shutdown deadline passed"
            _log.warning("partitions %s not released (%s); their leases will expire", sorted(self.owned), why)
            # At once: each waits for its dequeue loop's receive to end, which takes a while when storage is gone.
            await asyncio.gather(*(self._lose(partition, why) for partition in sorted(self.owned)))

    def _drains_over(self, drained_by: float) -> bool:
        # A drain is started by a lease round, so with storage gone since the stop none may have started: the
        # worker's close() still waits for the episodes that are running.
        return time.monotonic() >= drained_by or all(drain.done() for drain in self._drains.values())

    async def _attempt(self, *, shutting_down: bool, failures: int) -> tuple[bool, int]:
        """One round under a timeout; returns (a handover is under way, consecutive failures)."""
        try:
            # A round must end well inside a lease: one stuck request cannot hold every renewal back.
            busy = await asyncio.wait_for(self.round(shutting_down=shutting_down), self._options.lease_interval / 2)
            return busy, 0
        except _RowChanged:
            return True, failures + 1
        except (StorageError, asyncio.TimeoutError) as error:
            _log.warning(
                "partition lease round failed (%d in a row): %s", failures + 1, str(error) or type(error).__name__
            )
            return False, failures + 1

    def _delay(self, busy: bool, failures: int) -> float:
        if 0 < failures < _MAX_FAST_RETRIES:
            return 0.0  # a lost race or a blip: read the table again at once, as the reference does
        if busy:
            return min(_FOLLOW_UP_SECONDS, self._options.lease_renew_interval)
        return self._options.lease_renew_interval

    async def round(self, *, shutting_down: bool = False) -> bool:
        """One pass over the Partitions table; True while a handover involving this worker is under way."""
        now = self._hub.clock()
        started = time.monotonic()  # the monotonic instant of ``now``: our leases hold until started + interval
        leases = await self._hub.partitions.read_all()
        read_at = time.monotonic()
        tally = _Tally()
        for lease in leases:
            version = self._versions.get(lease.partition)
            if version is None or version[0] != lease.etag:
                self._versions[lease.partition] = (lease.etag, read_at)
            if lease.partition in self.owned and lease.current_owner != self._me:
                await self._lose(lease.partition, f"the table names {lease.current_owner or 'no one'} as its owner")
            if lease.current_owner == self._me:
                await self._visit_own(lease, now, started, tally, shutting_down=shutting_down)
            elif not shutting_down:
                await self._visit_other(lease, now, started, tally)
        if not shutting_down and await self._balance(len(leases), tally):
            tally.busy = True
        return tally.busy

    async def _visit_own(
        self, lease: PartitionLease, now: datetime, started: float, tally: _Tally, *, shutting_down: bool
    ) -> None:
        if shutting_down or lease.next_owner is not None:
            tally.busy = True
            await self._hand_over(lease, now, started)
            if lease.next_owner is not None:
                tally.others[lease.next_owner] += 1
        else:
            await self._renew(lease, now, started)
            tally.mine += 1

    async def _visit_other(self, lease: PartitionLease, now: datetime, started: float, tally: _Tally) -> None:
        unchanged_for = time.monotonic() - self._versions[lease.partition][1]
        if _is_claimable(lease, now, self._me, unchanged_for=unchanged_for, options=self._options):
            await self._claim(lease, now, started)
            tally.mine += 1
        elif lease.next_owner == self._me:
            tally.busy = True  # waiting for the owner to drain and release it
            tally.mine += 1
        elif lease.next_owner is not None:
            tally.others[lease.next_owner] += 1
        elif lease.is_draining:
            # Its owner is shutting down and nobody asked for it yet: ask, so it comes to us when released.
            await self._steal(lease)
            tally.busy = True
            tally.mine += 1
        elif lease.current_owner is not None:
            tally.others[lease.current_owner] += 1
            tally.stealable[lease.current_owner].append(lease)

    # --- row transitions ---------------------------------------------------------------------------------

    async def _claim(self, lease: PartitionLease, now: datetime, started: float) -> None:
        claimed = lease.with_changes(
            current_owner=self._me,
            next_owner=None,
            owned_since=now,
            last_renewal=now,
            expires_at=now + timedelta(seconds=self._options.lease_interval),
            is_draining=False,
            last_dequeue=None,
            loop_restarts=0,
        )
        await self._write(claimed)
        previous = f" from {lease.current_owner}, whose lease expired" if lease.current_owner else ""
        _log.info("partition %s acquired by %s%s", lease.partition, self._me, previous)
        self.owned.add(lease.partition)
        await self._queues.start_queue(lease.partition, valid_until=started + self._options.lease_interval)

    async def _renew(self, lease: PartitionLease, now: datetime, started: float) -> None:
        partition = lease.partition
        renewed = lease.with_changes(
            last_renewal=now,
            expires_at=now + timedelta(seconds=self._options.lease_interval),
            is_draining=False,
            last_dequeue=self._queues.last_dequeue(partition) or lease.last_dequeue,
            loop_restarts=self._queues.loop_restarts(partition),
        )
        await self._write(renewed)
        self.owned.add(partition)
        self._drains.pop(partition, None)
        # Idempotent: extends the running loop's lease, or starts a loop that is missing, dead or hung (a restart
        # before expiry, a crashed loop: the reference's "owned but not listening"). A dead or hung one is logged
        # as an error and counted in the row (``hub info`` shows it) from the next renewal on.
        await self._queues.start_queue(partition, valid_until=started + self._options.lease_interval)

    async def _hand_over(self, lease: PartitionLease, now: datetime, started: float) -> None:
        """Drain a row someone asked for (or every row, at shutdown), renewing until the drain ends; then release."""
        partition = lease.partition
        drain = self._drains.get(partition)
        if drain is None or not drain.done():
            if drain is None:
                whom = f"for {lease.next_owner}" if lease.next_owner else "for shutdown"
                _log.info("partition %s draining %s", partition, whom)
                self._drains[partition] = asyncio.create_task(
                    self._queues.release_queue(partition), name=f"drain {partition}"
                )
            draining = lease.with_changes(
                last_renewal=now, expires_at=now + timedelta(seconds=self._options.lease_interval), is_draining=True
            )
            await self._write(draining)
            self.owned.add(partition)
            return
        # Drained: release. NextOwner stays, so the stealer claims the row in its next round (storage-layout.md §6.3).
        await self._write(lease.with_changes(current_owner=None, is_draining=False))
        self._drains.pop(partition, None)
        self.owned.discard(partition)
        _log.info("partition %s released by %s to %s", partition, self._me, lease.next_owner or "any worker")

    async def _steal(self, lease: PartitionLease) -> None:
        await self._write(lease.with_changes(next_owner=self._me))
        _log.info("partition %s requested from %s by %s", lease.partition, lease.current_owner, self._me)

    async def _lose(self, partition: str, why: str) -> None:
        _log.warning("partition %s lost by %s: %s", partition, self._me, why)
        self.owned.discard(partition)
        drain = self._drains.pop(partition, None)
        if drain is not None:
            drain.cancel()
        await self._queues.drop_queue(partition)

    async def _write(self, lease: PartitionLease) -> None:
        try:
            await self._hub.partitions.replace(lease)
        except ConflictError:
            raise _RowChanged(lease.partition) from None

    # --- balance -----------------------------------------------------------------------------------------

    async def _balance(self, total: int, tally: _Tally) -> bool:
        """Ask the busiest workers for rows until this worker holds its share (the reference's BalanceLeasesAsync)."""
        share = total // (len(tally.others) + 1)
        mine = tally.mine
        if mine > share:
            return False
        asked = False
        for owner, count in tally.others.most_common():
            wanted = share - mine
            if wanted < 0:
                break
            excess = count - share
            if excess <= 0:
                continue
            if wanted == 0 and excess > 1:
                wanted = 1  # even shares, but that owner holds two more than we do: take one
            for lease in tally.stealable[owner][: min(wanted, excess)]:
                await self._steal(lease)
                mine += 1
                asked = True
        return asked


def _is_claimable(
    lease: PartitionLease, now: datetime, me: str, *, unchanged_for: float, options: WorkerOptions
) -> bool:
    if lease.current_owner is None and lease.next_owner in (None, me):
        return True  # free, or released to us
    if unchanged_for >= options.lease_interval:
        return True  # its owner has not renewed it for a whole lease of our own (monotonic) time
    # Long dead: its ExpiresAt is further behind than any clock skew we allow, so the worker that starts after a
    # crash does not wait a lease interval to take over (the reference compares ExpiresAt alone, which a skewed
    # clock gets wrong in both directions: dt PR #1303).
    return lease.expires_at is not None and now >= lease.expires_at + timedelta(seconds=options.max_clock_skew)
