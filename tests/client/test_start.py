"""start_new and restart: the ExecutionStarted message first, then the Pending row (storage-layout.md §9.1).

Re-using an ID: Pending, Running, Suspended and ContinuedAsNew instances refuse with InstanceAlreadyExistsError and
nothing is sent; instances that ended are re-created with a new execution and the next generation. No worker runs
here: tests write the rows a worker would have written.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage import DurableOrchestrationClient, InstanceAlreadyExistsError, InstanceNotFoundError
from durable_storage.client._outgoing import start_delay
from durable_storage.history import ExecutionStartedEvent, OrchestrationInstance
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name
from tests.user_types import Point

from .support import EXECUTION, control_queue, sent_to, write_row

HEX32 = re.compile(r"[0-9a-f]{32}")


def started(message: Any) -> ExecutionStartedEvent:
    event = message.task_message.event
    assert isinstance(event, ExecutionStartedEvent)
    return event


async def test_start_sends_the_start_message_then_writes_a_pending_row(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    instance_id = await client.start_new("hello", "order-1", {"city": "Tokyo"}, version="1.0")

    (message,) = await sent_to(hub, "order-1")
    event = started(message)
    row = await hub.instances.read("order-1")
    assert instance_id == "order-1"
    assert message.sender == OrchestrationInstance("", "") and message.episode is None
    assert (event.name, event.version, event.input, event.generation) == ("hello", "1.0", '{"city": "Tokyo"}', 0)
    assert event.scheduled_start_time is None and event.parent_instance is None
    execution_id = event.orchestration_instance.execution_id
    assert execution_id is not None and HEX32.fullmatch(execution_id)
    assert message.task_message is not None
    assert message.task_message.orchestration_instance == OrchestrationInstance("order-1", execution_id)
    assert row is not None
    assert row.runtime_status is Status.Pending
    assert (row.name, row.version, row.input, row.execution_id) == ("hello", "1.0", '{"city": "Tokyo"}', execution_id)
    assert (row.generation, row.task_hub_name, row.created_time) == (0, hub.name, event.timestamp)
    assert row.last_updated_time == row.created_time and row.output is None


async def test_without_an_id_a_new_32_hex_digit_id_is_used(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    first = await client.start_new("hello")
    second = await client.start_new("hello")

    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second
    (message,) = await sent_to(hub, first)
    assert started(message).input == "null"


@pytest.mark.parametrize("status", [Status.Pending, Status.Running, Status.Suspended, Status.ContinuedAsNew])
async def test_an_id_that_has_not_ended_is_refused_and_its_row_is_untouched(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "busy", status)

    with pytest.raises(InstanceAlreadyExistsError, match=rf"'busy' already exists and is {status.name}") as caught:
        await client.start_new("hello", "busy")

    assert caught.value.instance_id == "busy" and caught.value.runtime_status is status
    row = await hub.instances.read("busy")
    assert row is not None and row.execution_id == EXECUTION and row.runtime_status is status
    # The start message went out before the insert found the row (two requests per start, not three): it is of
    # generation 0 and another execution, which the worker's start check drops (the row is not older).
    assert_superseded(await sent_to(hub, "busy"), row)


def assert_superseded(messages: list[Any], row: Any) -> None:
    for message in messages:
        event = started(message)
        assert event.generation == 0 and event.generation <= (row.generation or 0)
        assert event.orchestration_instance.execution_id != row.execution_id


@pytest.mark.parametrize("status", [Status.Completed, Status.Failed, Status.Terminated, Status.Canceled])
async def test_an_id_that_ended_is_recreated_with_the_next_generation(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "again", status, generation=3, output='"done"', completed_time=datetime.now(timezone.utc))

    await client.start_new("hello", "again", [1, 2])

    first, message = await sent_to(hub, "again", 2)
    event = started(message)
    row = await hub.instances.read("again")
    assert event.generation == 4 and event.orchestration_instance.execution_id != EXECUTION
    assert row is not None
    assert (row.runtime_status, row.generation, row.input) == (Status.Pending, 4, "[1, 2]")
    assert row.execution_id == event.orchestration_instance.execution_id
    # Replaced, not merged: nothing of the old execution's end is left on the row.
    assert row.output is None and row.completed_time is None
    assert_superseded([first], row)  # sent before the insert found the ended row


async def test_start_at_hides_the_message_until_then_and_records_the_time(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    at = datetime.now(timezone(timedelta(hours=-5))) + timedelta(hours=1)

    await client.start_new("hello", "later", start_at=at)

    queue = control_queue(hub, "later")
    row = await hub.instances.read("later")
    assert await hub.account.queues.count(queue) == 1
    assert await hub.messages.receive(queue, visibility=1) == []
    assert row is not None and row.runtime_status is Status.Pending
    assert row.scheduled_start_time == at and row.scheduled_start_time.utcoffset() == timedelta(0)


async def test_start_at_in_the_past_is_visible_at_once(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    at = datetime(2020, 1, 1, tzinfo=timezone.utc)

    await client.start_new("hello", "overdue", start_at=at)

    (message,) = await sent_to(hub, "overdue")
    assert started(message).scheduled_start_time == at


def test_a_start_is_delayed_until_its_time_but_at_most_six_days() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    assert start_delay(None, now) == 0
    assert start_delay(now - timedelta(days=1), now) == 0
    assert start_delay(now + timedelta(days=3, seconds=5), now) == timedelta(days=3, seconds=5).total_seconds()
    # Beyond the queue's 7 days the message surfaces early and the worker re-delays it (storage-layout.md §8).
    assert start_delay(now + timedelta(days=30), now) == timedelta(days=6).total_seconds()


async def test_an_id_with_key_characters_is_escaped_in_tables_and_raw_in_messages(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await client.start_new("hello", "orders/7#a?")

    (message,) = await sent_to(hub, "orders/7#a?")
    row = await hub.instances.read("orders/7#a?")
    assert started(message).orchestration_instance.instance_id == "orders/7#a?"
    assert row is not None and row.runtime_status is Status.Pending


async def test_a_large_input_travels_through_blobs_and_reads_back_whole(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    payload = {"text": "Zürich " * 20_000}

    await client.start_new("hello", "big", payload)

    (message,) = await sent_to(hub, "big")
    raw = await hub.account.tables.get(hub.names.instances_table, "big", "")
    names = await hub.account.blobs.list_names(hub.names.large_messages_container, prefix="big/")
    status = await client.get_status("big", show_input=True)
    assert started(message).input is not None and len(started(message).input or "") > 100_000
    assert raw is not None and str(raw.values["Input"]).startswith("http")
    assert any("/message-" in n for n in names) and any("/history--Input-" in n for n in names)
    assert status.input_ == payload


async def test_a_custom_class_input_is_encoded_through_its_to_json(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await client.start_new("hello", "point", Point(1, 2))

    (message,) = await sent_to(hub, "point")
    assert started(message).input == (
        '{"__class__": "Point", "__module__": "tests.user_types", "__data__": {"x": 1, "y": 2}}'
    )


async def test_the_first_operation_creates_the_task_hub(connection_string: str) -> None:
    name = unique_hub_name()
    client = DurableOrchestrationClient.from_connection_string(connection_string, task_hub=name, retry=FAST_RETRY)
    async with client:
        try:
            assert not (await client.task_hub.info()).exists
            await client.start_new("hello", "first")
            info = await client.task_hub.info()
            assert info.exists and info.partition_count == 4
        finally:
            await client.task_hub.delete()


async def test_restart_starts_a_new_instance_with_the_same_input(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "done", Status.Completed, input='{"n": 7}', version="2")

    new_id = await client.restart("done")

    (message,) = await sent_to(hub, new_id)
    event = started(message)
    assert new_id != "done" and HEX32.fullmatch(new_id)
    assert (event.name, event.input, event.version, event.generation) == ("hello", '{"n": 7}', "2", 0)


async def test_restart_with_the_same_id_recreates_an_instance_that_ended(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "done", Status.Failed, generation=1)

    assert await client.restart("done", restart_with_new_instance_id=False) == "done"

    first, message = await sent_to(hub, "done", 2)
    assert started(message).generation == 2
    row = await hub.instances.read("done")
    assert_superseded([first], row)


async def test_restart_of_a_running_instance_under_its_own_id_is_refused(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "busy", Status.Running)

    with pytest.raises(InstanceAlreadyExistsError):
        await client.restart("busy", restart_with_new_instance_id=False)
    with pytest.raises(InstanceNotFoundError, match="'nobody' was not found"):
        await client.restart("nobody")
    assert_superseded(await sent_to(hub, "busy"), await hub.instances.read("busy"))
