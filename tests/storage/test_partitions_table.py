"""The Partitions table on a real Azurite: a lease row per control queue, fenced by ETags (storage-layout.md §2.4).

Every change is a Replace conditioned on the ETag the row was read at, so of two workers that read the same free
row and both try to claim it, exactly one wins.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage._storage.partitions_table import PartitionLease
from durable_storage._storage.tables import Row, Write, WriteMode
from durable_storage.errors import ConflictError
from durable_storage.taskhub import TaskHub

NOW = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


async def raw_rows(hub: TaskHub) -> list[Row]:
    return [row async for row in hub.account.tables.query(hub.names.partitions_table, "PartitionKey ge ''")]


def claimed(lease: PartitionLease, worker: str) -> PartitionLease:
    """``lease`` as ``worker`` writes it when it takes the partition for 30 s."""
    return lease.with_changes(current_owner=worker, owned_since=NOW, last_renewal=NOW, expires_at=NOW + LEASE)


async def free_lease(hub: TaskHub, index: int = 0) -> PartitionLease:
    return (await hub.partitions.read_all())[index]


async def test_a_created_hub_has_one_free_row_per_control_queue(hub: TaskHub) -> None:
    rows = await raw_rows(hub)

    assert sorted(row.row_key for row in rows) == [f"{hub.name.lower()}-control-{i:02d}" for i in range(4)]
    assert {row.partition_key for row in rows} == {""}
    assert all(row.values == {} for row in rows)  # free: no owner, and null columns are not stored
    leases = await hub.partitions.read_all()
    assert [lease.partition for lease in leases] == list(hub.names.control_queues)
    assert all(lease.current_owner is None and lease.expires_at is None and not lease.is_draining for lease in leases)


async def test_creating_again_keeps_the_rows_and_their_owners(hub: TaskHub) -> None:
    await hub.partitions.replace(claimed(await free_lease(hub), "worker-1"))

    await hub.create_if_not_exists()

    leases = await hub.partitions.read_all()
    assert len(leases) == 4
    assert leases[0].current_owner == "worker-1"


async def test_claiming_a_row_stores_the_owner_and_returns_a_new_etag(hub: TaskHub) -> None:
    lease = await free_lease(hub)

    mine = await hub.partitions.replace(claimed(lease, "worker-1"))

    assert mine.etag and mine.etag != lease.etag
    assert await free_lease(hub) == mine
    row = next(row for row in await raw_rows(hub) if row.row_key == lease.partition)
    assert row.values["CurrentOwner"] == "worker-1"
    assert row.values["ExpiresAt"] == NOW + LEASE
    assert row.values["IsDraining"] is False


async def test_a_replace_with_the_old_etag_fails_so_two_workers_cannot_both_win(hub: TaskHub) -> None:
    lease = await free_lease(hub)
    await hub.partitions.replace(claimed(lease, "worker-1"))

    with pytest.raises(ConflictError) as caught:
        await hub.partitions.replace(claimed(lease, "worker-2"))

    assert caught.value.status == 412
    assert (await free_lease(hub)).current_owner == "worker-1"


async def test_of_two_workers_racing_for_a_free_row_exactly_one_wins(hub: TaskHub) -> None:
    lease = await free_lease(hub, 2)

    outcomes = await asyncio.gather(
        *(hub.partitions.replace(claimed(lease, f"worker-{n}")) for n in range(2)), return_exceptions=True
    )

    winners = [o for o in outcomes if isinstance(o, PartitionLease)]
    assert len(winners) == 1
    assert [type(o) for o in outcomes if not isinstance(o, PartitionLease)] == [ConflictError]
    assert (await free_lease(hub, 2)).current_owner == winners[0].current_owner


async def test_each_write_moves_the_etag_on(hub: TaskHub) -> None:
    mine = await hub.partitions.replace(claimed(await free_lease(hub), "worker-1"))
    renewed = await hub.partitions.replace(mine.with_changes(last_renewal=NOW + timedelta(seconds=10)))

    assert renewed.etag != mine.etag
    with pytest.raises(ConflictError):
        await hub.partitions.replace(mine.with_changes(expires_at=NOW + timedelta(hours=1)))
    assert (await free_lease(hub)).last_renewal == NOW + timedelta(seconds=10)


async def test_null_columns_are_absent_from_the_row(hub: TaskHub) -> None:
    mine = await hub.partitions.replace(claimed(await free_lease(hub), "worker-1"))
    stealing = await hub.partitions.replace(mine.with_changes(next_owner="worker-2", is_draining=True))

    # Releasing: the owner columns go away instead of holding empty values.
    await hub.partitions.replace(stealing.with_changes(current_owner=None, next_owner=None, is_draining=False))

    row = next(row for row in await raw_rows(hub) if row.row_key == mine.partition)
    assert set(row.values) == {"OwnedSince", "LastRenewal", "ExpiresAt", "IsDraining"}
    assert (await free_lease(hub)).current_owner is None


async def test_an_empty_owner_written_by_dotnet_reads_as_none(hub: TaskHub) -> None:
    lease = await free_lease(hub)
    row = Row("", lease.partition, {"CurrentOwner": "", "NextOwner": "", "IsDraining": False})
    await hub.account.tables.write(hub.names.partitions_table, Write(WriteMode.REPLACE, row, lease.etag))

    read = await free_lease(hub)
    assert read.current_owner is None and read.next_owner is None
