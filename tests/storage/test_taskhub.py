"""Creating, inspecting and deleting a task hub: exact .NET names, idempotence, a fixed partition count."""

from __future__ import annotations

import pytest

from durable_storage.errors import InvalidNameError, TaskHubMismatchError
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name


def make_hub(connection_string: str, name: str, partitions: int = 4) -> TaskHub:
    return TaskHub.from_connection_string(
        connection_string, task_hub=name, partition_count=partitions, retry=FAST_RETRY
    )


async def test_a_new_hub_has_every_resource_under_the_dotnet_names(connection_string: str) -> None:
    name = "Mixed" + unique_hub_name()
    async with make_hub(connection_string, name, partitions=3) as hub:
        await hub.create_if_not_exists()
        info = await hub.info()
        await hub.delete()

    lower = name.lower()
    assert info.exists and info.partition_count == 3
    assert dict(info.queues) == {
        f"{lower}-control-00": 0,
        f"{lower}-control-01": 0,
        f"{lower}-control-02": 0,
        f"{lower}-workitems": 0,
    }
    assert dict(info.tables) == {f"{name}History": True, f"{name}Instances": True, f"{name}Partitions": True}
    assert info.containers[f"{lower}-largemessages"] is True


async def test_creating_twice_changes_nothing_and_keeps_data(hub: TaskHub) -> None:
    await hub.account.queues.put(hub.names.control_queue(1), "keep me")
    before = await hub.info()

    await hub.create_if_not_exists()

    after = await hub.info()
    assert after == before
    assert after.queues[hub.names.control_queue(1)] == 1


async def test_a_client_with_another_partition_count_is_refused_before_creating_anything(
    hub: TaskHub, connection_string: str
) -> None:
    async with make_hub(connection_string, hub.name, partitions=8) as other:
        with pytest.raises(TaskHubMismatchError, match=r"exists with 4 partitions, not 8.*or 4, or delete the hub"):
            await other.create_if_not_exists()
    info = await hub.info()
    assert info.partition_count == 4
    assert len(info.queues) == 5


async def test_delete_is_idempotent_and_removes_everything(connection_string: str) -> None:
    async with make_hub(connection_string, unique_hub_name()) as hub:
        await hub.create_if_not_exists()
        await hub.delete()
        await hub.delete()
        info = await hub.info()

    assert not info.exists and info.partition_count is None
    assert set(info.queues.values()) == {None}
    assert not any(info.tables.values()) and not any(info.containers.values())


async def test_delete_removes_the_queues_of_a_hub_created_with_more_partitions(connection_string: str) -> None:
    name = unique_hub_name()
    async with make_hub(connection_string, name, partitions=6) as big:
        await big.create_if_not_exists()
    async with make_hub(connection_string, name, partitions=2) as small:
        await small.delete()
    async with make_hub(connection_string, name, partitions=6) as big:
        info = await big.info()
    assert set(info.queues.values()) == {None}


@pytest.mark.parametrize("bad", ["ab", "1hub", "my-hub", "a" * 46, "hub_name", ""])
def test_invalid_hub_names_are_refused_before_any_io(bad: str) -> None:
    with pytest.raises(InvalidNameError, match="must be 3-45 letters or digits, starting with a letter"):
        TaskHub.from_connection_string("UseDevelopmentStorage=true", task_hub=bad)


@pytest.mark.parametrize("bad", [0, 17, -1])
def test_partition_counts_outside_1_to_16_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="must be an integer from 1 to 16"):
        TaskHub.from_connection_string("UseDevelopmentStorage=true", task_hub="Good", partition_count=bad)


def test_repr_shows_the_account_but_never_the_key() -> None:
    hub = TaskHub.from_connection_string("UseDevelopmentStorage=true", task_hub="Shown")
    assert "devstoreaccount1" in repr(hub)
    assert "Eby8vdM02" not in repr(hub)
