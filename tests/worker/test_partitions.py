"""The V3 partition manager against a real Azurite, one round at a time (storage-layout.md §6.3).

Each manager drives a recording stand-in for the dispatcher's dequeue loops (the ``ControlQueues`` protocol, our
own interface; the Partitions table is the real one), so each test can step the protocol round by round: claim,
renew, steal request, drain, release, claim by the stealer, balance, expiry and shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.worker import WorkerOptions
from durable_storage.worker._partitions import PartitionManager
from tests.hubs import fresh_hub

LEASE_SECONDS = 5.0
DEQUEUED_AT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


class RecordingQueues:
    """Which queues a manager has its dispatcher listen to; drains finish when ``drained`` is set."""

    def __init__(self) -> None:
        self.listening: dict[str, float] = {}
        self.started: Counter[str] = Counter()
        self.dropped: list[str] = []
        self.drained = asyncio.Event()
        self.drained.set()

    async def start_queue(self, queue: str, *, valid_until: float) -> None:
        if queue not in self.listening:
            self.started[queue] += 1
        self.listening[queue] = valid_until

    async def release_queue(self, queue: str) -> None:
        self.listening.pop(queue, None)
        await self.drained.wait()

    async def drop_queue(self, queue: str) -> None:
        self.listening.pop(queue, None)
        self.dropped.append(queue)

    def is_listening(self, queue: str) -> bool:
        return queue in self.listening

    def last_dequeue(self, queue: str) -> datetime | None:
        return DEQUEUED_AT if queue in self.listening else None

    def loop_restarts(self, queue: str) -> int:
        return 0


class Member:
    """A manager and its recording queues."""

    def __init__(self, hub: TaskHub, name: str) -> None:
        self.name = name
        self.queues = RecordingQueues()
        options = WorkerOptions(worker_id=name, lease_interval=LEASE_SECONDS, lease_renew_interval=1)
        self.manager = PartitionManager(hub, options, self.queues)

    async def round(self, *, shutting_down: bool = False) -> bool:
        busy = await self.manager.round(shutting_down=shutting_down)
        await asyncio.sleep(0)  # let a drain started by this round run
        return busy


async def owners(hub: TaskHub) -> Counter[str | None]:
    return Counter(lease.current_owner for lease in await hub.partitions.read_all())


async def settle(hub: TaskHub, members: list[Member], *, rounds: int = 20) -> int:
    """Run rounds of every member until a whole pass changes nothing; returns how many passes that took."""
    for passes in range(1, rounds + 1):
        before = await hub.partitions.read_all()
        for member in members:
            await member.round()
        after = await hub.partitions.read_all()
        if [(x.current_owner, x.next_owner, x.is_draining) for x in before] == [
            (x.current_owner, x.next_owner, x.is_draining) for x in after
        ]:
            return passes
    raise AssertionError(f"no stable assignment after {rounds} passes: {await owners(hub)}")


@pytest.fixture
async def big_hub(connection_string: str) -> AsyncIterator[TaskHub]:
    async with fresh_hub(connection_string, partition_count=16) as hub:
        yield hub


async def test_a_lone_worker_claims_every_partition_listens_and_records_its_last_dequeue(hub: TaskHub) -> None:
    a = Member(hub, "a")
    before = datetime.now(timezone.utc)

    await a.round()

    leases = await hub.partitions.read_all()
    assert {lease.current_owner for lease in leases} == {"a"}
    assert set(a.queues.listening) == {lease.partition for lease in leases}
    for lease in leases:
        assert lease.expires_at is not None
        assert before + timedelta(seconds=LEASE_SECONDS - 1) < lease.expires_at
    # Each loop's lease ends locally no later than the row says (monotonic deadline from the round's start).
    assert max(a.queues.listening.values()) <= time.monotonic() + LEASE_SECONDS
    await a.round()  # the renewal records when the owner last polled each queue
    assert {lease.last_dequeue for lease in await hub.partitions.read_all()} == {DEQUEUED_AT}


async def test_a_second_worker_gets_its_share_by_steal_drain_release_and_claim(hub: TaskHub) -> None:
    a, b = Member(hub, "a"), Member(hub, "b")
    await a.round()
    a.queues.drained.clear()  # a's drains wait until the test lets them finish

    assert await b.round()  # b asks for two rows; a still owns and dequeues them
    requested = [lease.partition for lease in await hub.partitions.read_all() if lease.next_owner == "b"]
    assert len(requested) == 2
    assert await owners(hub) == {"a": 4}
    assert set(requested) <= set(a.queues.listening)

    await a.round()  # a drains them: stops dequeuing, keeps the lease renewed while episodes finish
    leases = {lease.partition: lease for lease in await hub.partitions.read_all()}
    assert all(leases[p].is_draining and leases[p].current_owner == "a" for p in requested)
    assert not set(requested) & set(a.queues.listening)
    await a.round()
    await b.round()
    assert await owners(hub) == {"a": 4}, "released before the drain finished"

    a.queues.drained.set()
    await asyncio.sleep(0)
    await a.round()  # released: CurrentOwner cleared, NextOwner kept for the stealer
    leases = {lease.partition: lease for lease in await hub.partitions.read_all()}
    assert all(leases[p].current_owner is None and leases[p].next_owner == "b" for p in requested)
    await a.round()
    assert all(leases[p].current_owner is None for p in requested), "a must not take back a row given to b"

    await b.round()
    assert await owners(hub) == {"a": 2, "b": 2}
    assert set(b.queues.listening) == set(requested)
    assert await settle(hub, [a, b]) == 1  # and it stays that way


@pytest.mark.parametrize("workers", [2, 3, 5, 16, 17])
async def test_workers_settle_on_an_even_split_of_sixteen_partitions(big_hub: TaskHub, workers: int) -> None:
    members = [Member(big_hub, f"w{n:02}") for n in range(workers)]
    await members[0].round()  # one worker had them all, then the others joined

    await settle(big_hub, members)

    counts = await owners(big_hub)
    expected_owners = min(workers, 16)
    assert len(counts) == expected_owners and None not in counts
    assert set(counts.values()) <= {16 // expected_owners, -(-16 // expected_owners)}
    for member in members:  # each dequeues exactly the rows it owns
        mine = {lease.partition for lease in await big_hub.partitions.read_all() if lease.current_owner == member.name}
        assert set(member.queues.listening) == mine


async def test_a_lease_long_expired_is_claimed_and_the_old_owner_drops_its_queue(hub: TaskHub) -> None:
    a, b = Member(hub, "a"), Member(hub, "b")
    await a.round()
    victim = (await hub.partitions.read_all())[0]
    # Expired further back than any clock skew allowed (300 s): a crashed long ago, and b need not wait.
    past = datetime.now(timezone.utc) - timedelta(seconds=301)
    await hub.partitions.replace(victim.with_changes(expires_at=past))

    await b.round()
    assert (await hub.partitions.read_all())[0].current_owner == "b"
    assert victim.partition in b.queues.listening

    await a.round()
    assert victim.partition not in a.queues.listening
    assert a.queues.dropped == [victim.partition]


async def test_a_lease_expires_by_the_claimers_own_time_not_by_the_owners_clock(hub: TaskHub) -> None:
    a, b = Member(hub, "a"), Member(hub, "b")
    await a.round()
    leases = await hub.partitions.read_all()
    # a's clock runs two minutes behind: by b's clock, every row a wrote expired long ago.
    skewed = [
        await hub.partitions.replace(row.with_changes(expires_at=row.expires_at - timedelta(seconds=120)))
        for row in leases
    ]
    await b.round()
    assert await owners(hub) == Counter({"a": len(leases)}), "b took rows whose owner is alive"

    await a.round()  # a renews: the rows change, so b's count starts again
    await asyncio.sleep(LEASE_SECONDS / 2)
    await b.round()
    assert await owners(hub) == Counter({"a": len(leases)})

    # a stops renewing: a lease interval of b's own time after b last saw the rows change, they are b's.
    await asyncio.sleep(LEASE_SECONDS)
    await b.round()
    assert await owners(hub) == Counter({"b": len(skewed)})


async def test_a_renewal_restarts_a_dequeue_loop_that_died(hub: TaskHub) -> None:
    a = Member(hub, "a")
    await a.round()
    queue = next(iter(a.queues.listening))
    del a.queues.listening[queue]  # the loop died, the lease did not

    await a.round()

    assert queue in a.queues.listening
    assert a.queues.started[queue] == 2


async def test_shutdown_drains_then_releases_and_a_peer_takes_the_draining_rows(hub: TaskHub) -> None:
    a, b = Member(hub, "a"), Member(hub, "b")
    await a.round()
    a.queues.drained.clear()

    await a.round(shutting_down=True)
    assert all(lease.is_draining for lease in await hub.partitions.read_all())
    assert a.queues.listening == {}
    await b.round()  # a peer asks for every draining row with no taker yet
    assert {lease.next_owner for lease in await hub.partitions.read_all()} == {"b"}

    a.queues.drained.set()
    await asyncio.sleep(0)
    await a.round(shutting_down=True)
    assert await owners(hub) == {None: 4}
    assert a.manager.owned == set()
    await b.round()
    assert await owners(hub) == {"b": 4}


async def test_run_releases_everything_when_stopped(hub: TaskHub) -> None:
    a = Member(hub, "a")
    stopping = asyncio.Event()
    running = asyncio.create_task(a.manager.run(stopping))

    async def owns_all() -> bool:
        return await owners(hub) == {"a": 4}

    await wait_until(owns_all, timeout=10, what="a to claim every partition")
    stopping.set()
    await asyncio.wait_for(running, 15)

    assert await owners(hub) == {None: 4}
    assert all(not lease.is_draining for lease in await hub.partitions.read_all())
