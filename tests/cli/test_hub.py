"""``durable-storage hub create|info|delete`` and ``quarantine list|requeue``, as a user sees them."""

from __future__ import annotations

from datetime import datetime, timezone

from durable_storage._storage.queues import QueueMessage
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name
from tests.cli.conftest import Cli


async def test_hub_create_is_idempotent_and_delete_needs_yes(cli: Cli, connection_string: str) -> None:
    name = unique_hub_name()
    try:
        missing = await cli("hub", "info", task_hub=name)
        created = await cli("hub", "create", task_hub=name)
        again = await cli("hub", "create", "--json", task_hub=name)
        refused = await cli("hub", "delete", task_hub=name)
        deleted = await cli("hub", "delete", "--yes", task_hub=name)
        gone = await cli("hub", "delete", "--yes", task_hub=name)
    finally:
        async with TaskHub.from_connection_string(connection_string, task_hub=name) as hub:
            await hub.delete()

    assert missing.code == 3 and f"task hub {name}: does not exist" in missing.out
    assert created.code == 0 and f"task hub {name}: 4 partitions" in created.out
    assert f"{name}-control-03" in created.out and f"tables: {name}History, {name}Instances" in created.out
    assert (again.code, again.json()["exists"], again.json()["partition_count"]) == (0, True, 4)
    assert refused.code == 2 and f"refusing to delete task hub {name}" in refused.err and "--yes" in refused.err
    assert (deleted.code, deleted.out.strip()) == (0, f"task hub {name} deleted")
    assert gone.code == 3 and f"task hub '{name}' does not exist" in gone.err


async def test_hub_create_with_another_partition_count_exits_2_naming_both(cli: Cli, hub: TaskHub) -> None:
    ran = await cli("--partition-count", "2", "hub", "create")

    assert ran.code == 2 and f"task hub '{hub.name}' exists with 4 partitions, not 2" in ran.err


async def test_quarantine_list_is_a_table_and_requeue_of_an_unknown_message_exits_3(cli: Cli, hub: TaskHub) -> None:
    queue = hub.names.work_item_queue
    message = QueueMessage(
        queue=queue,
        id="msg-1",
        body="not a task message",
        dequeue_count=5,
        inserted_on=None,
        next_visible_on=None,
        pop_receipt=None,
    )
    empty = await cli("quarantine", "list")
    await hub.quarantine.add(
        message, reason="cannot decode: [bold]not JSON", instance_id="abc", now=datetime.now(timezone.utc)
    )

    listed = await cli("quarantine", "list")
    as_json = await cli("quarantine", "list", "--json")
    missing = await cli("quarantine", "requeue", "nope")

    assert (empty.code, empty.out.strip()) == (0, f"task hub {hub.name}: no quarantined messages")
    lines = listed.out.splitlines()
    assert lines[0] == f"task hub {hub.name}: 1 quarantined messages"
    assert lines[1].split() == ["MESSAGE", "ID", "QUEUE", "INSTANCE", "RECEIVED", "QUARANTINED", "REASON"]
    assert lines[2].split()[:4] == ["msg-1", queue, "abc", "5x"]
    assert lines[2].endswith("cannot decode: [bold]not JSON")  # user text is never read as rich markup
    assert [m["message_id"] for m in as_json.json()] == ["msg-1"]
    assert missing.code == 3 and "no quarantined message has ID 'nope'" in missing.err


async def test_without_partition_count_every_command_uses_the_hubs_own(cli: Cli, connection_string: str) -> None:
    async with TaskHub.from_connection_string(connection_string, task_hub=unique_hub_name(), partition_count=8) as hub:
        await hub.create_if_not_exists()
        try:
            created = await cli("hub", "create", task_hub=hub.name)
            started = await cli("start", "echo_orchestrator", "--id", "routed", "--input", "1", task_hub=hub.name)
            status = await cli("status", "routed", "--json", task_hub=hub.name)
            refused = await cli("--partition-count", "4", "hub", "create", task_hub=hub.name)
        finally:
            await hub.delete()

    assert created.code == 0 and f"task hub {hub.name}: 8 partitions" in created.out
    assert (started.code, status.code, status.json()["runtimeStatus"]) == (0, 0, "Pending")
    assert refused.code == 2 and f"task hub '{hub.name}' exists with 8 partitions, not 4" in refused.err
