"""The partition count a hub records: adopted by whoever was not given one, and written all at once.

As in .NET, the count is the number of rows in the Partitions table, and clients and workers that were not told a
count use the recorded one (a new hub gets 4); only a count given explicitly, and different, is an error. The rows
are written in one transaction, so workers and clients creating a hub at the same moment never count a half-made
set (issue 17, items 4 and 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage._envelope import partition_of
from durable_storage.errors import TaskHubMismatchError
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name


def make_hub(connection_string: str, name: str, partitions: int | None = None) -> TaskHub:
    return TaskHub.from_connection_string(
        connection_string, task_hub=name, partition_count=partitions, retry=FAST_RETRY
    )


@pytest.fixture
async def hub_of_8(connection_string: str) -> AsyncIterator[TaskHub]:
    """A hub created with 8 partitions (deleted after the test)."""
    async with make_hub(connection_string, unique_hub_name(), 8) as hub:
        await hub.create_if_not_exists()
        yield hub
        await hub.delete()


async def test_a_new_hub_given_no_count_gets_4(connection_string: str) -> None:
    async with make_hub(connection_string, unique_hub_name()) as hub:
        await hub.create_if_not_exists()
        stored = await hub.stored_partition_count()
        await hub.delete()

    assert (stored, hub.partition_count) == (4, 4)


async def test_a_hub_object_given_no_count_adopts_the_recorded_one(connection_string: str, hub_of_8: TaskHub) -> None:
    async with make_hub(connection_string, hub_of_8.name) as adopting:
        await adopting.create_if_not_exists()
        info = await adopting.info()

    assert adopting.partition_count == 8 and info.partition_count == 8
    assert set(info.queues.values()) == {0} and len(info.queues) == 9


async def test_only_a_count_given_and_different_is_refused_naming_what_exists(
    connection_string: str, hub_of_8: TaskHub
) -> None:
    async with make_hub(connection_string, hub_of_8.name, 8) as same:
        await same.create_if_not_exists()
    async with make_hub(connection_string, hub_of_8.name, 4) as other:
        with pytest.raises(TaskHubMismatchError, match=r"exists with 8 partitions, not 4: .*give no partition count"):
            await other.create_if_not_exists()


async def test_a_client_given_no_count_routes_by_the_hubs_count(connection_string: str, hub_of_8: TaskHub) -> None:
    instance_id = next(f"order-{n}" for n in range(100) if partition_of(f"order-{n}", 8) >= 4)
    async with DurableOrchestrationClient.from_connection_string(
        connection_string, task_hub=hub_of_8.name, retry=FAST_RETRY
    ) as client:
        await client.start_new("hello", instance_id)
        status = await client.get_status(instance_id)

    assert status.runtime_status is not None and client.task_hub.partition_count == 8
    queue = hub_of_8.names.control_queue(partition_of(instance_id, 8))
    assert (await hub_of_8.info()).queues[queue] == 1


async def test_a_hub_being_created_by_many_at_once_is_never_seen_half_made(connection_string: str) -> None:
    name = unique_hub_name()
    creators = [make_hub(connection_string, name, 4) for _ in range(5)]
    watcher = make_hub(connection_string, name, 4)
    seen: set[int | None] = set()
    creating = asyncio.gather(*(creator.create_if_not_exists() for creator in creators))
    while not creating.done():
        seen.add(await watcher.stored_partition_count())
    await creating
    await watcher.delete()
    for hub in (*creators, watcher):
        await hub.close()

    assert seen <= {None, 4} and {hub.partition_count for hub in creators} == {4}


async def test_creators_at_once_with_different_counts_one_wins_and_the_other_is_told(connection_string: str) -> None:
    name = unique_hub_name()
    two, eight = make_hub(connection_string, name, 2), make_hub(connection_string, name, 8)
    outcomes = await asyncio.gather(two.create_if_not_exists(), eight.create_if_not_exists(), return_exceptions=True)
    stored = await two.stored_partition_count()
    await eight.delete()
    await two.close()
    await eight.close()

    refused = [outcome for outcome in outcomes if isinstance(outcome, TaskHubMismatchError)]
    assert len(refused) == 1 and outcomes.count(None) == 1
    loser = 2 if stored == 8 else 8
    assert f"exists with {stored} partitions, not {loser}" in str(refused[0])
