"""Messages that can never be processed go to the quarantine; their queue goes on and their instance fails.

A message is quarantined when it cannot be decoded, when its instance's history cannot be read, or when it was
received more than ``max_dequeue_count`` times. It is logged once with its message ID and reason, can be listed
and re-queued by the client, and the orchestration it was for ends Failed with that reason.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._envelope import (
    MessageData,
    TaskMessage,
    decode_message,
    encode_message,
    large_message_wrapper,
)
from durable_storage._storage.tables import Row, Write, WriteMode
from durable_storage.history import OrchestrationInstance, TaskFailedEvent, TaskScheduledEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.worker._activity import ActivityDispatcher
from tests.e2e import apps
from tests.e2e.support import fast_options
from tests.faults.invariants import check_clear_failure

Status = OrchestrationRuntimeStatus


def control_queue(hub: TaskHub, instance_id: str) -> str:
    return hub.control_queue_of(instance_id)


async def quarantined(client: DurableOrchestrationClient, count: int) -> None:
    async def there() -> bool:
        return len(await client.list_quarantined_messages()) >= count

    await wait_until(there, timeout=30, interval=0.1, what=f"{count} quarantined messages")


async def wear_out(hub: TaskHub, queue: str, times: int) -> None:
    """Receive the queue's message ``times`` times without completing it, as crashing workers would."""
    for _ in range(times):
        [message] = await hub.account.queues.receive(queue, max_messages=1, visibility=30)
        await hub.account.queues.update_visibility(message, visible_in=0)


async def test_an_undecodable_message_is_quarantined_at_once_and_its_queue_goes_on(
    client: DurableOrchestrationClient, hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    queue = control_queue(hub, "healthy")
    await hub.account.queues.put(queue, "this is not a task message")
    instance_id = await client.start_new("echo_orchestrator", "healthy", "still served")

    with caplog.at_level(logging.ERROR, logger="durable_storage.worker"):
        async with Worker(client, apps.app, options=fast_options()):
            status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
            await quarantined(client, 1)

    assert status.output == "still served"
    [entry] = await client.list_quarantined_messages()
    assert (entry.queue, entry.body, entry.dequeue_count, entry.instance_id) == (
        queue,
        "this is not a task message",
        1,
        None,
    )
    assert entry.reason.startswith("cannot be decoded")
    assert await hub.account.queues.count(queue) == 0
    logged = [r.getMessage() for r in caplog.records if entry.message_id in r.getMessage()]
    assert len(logged) == 1 and "quarantined" in logged[0]

    assert await client.requeue_quarantined_message(entry.message_id)
    [back] = await hub.account.queues.peek(queue)
    assert back.body == "this is not a task message"
    assert await client.list_quarantined_messages() == []
    assert not await client.requeue_quarantined_message(entry.message_id)


MALFORMED = {
    "not JSON": "this is not a task message",
    "empty": "",
    "wrong schema": json.dumps({"foo": 1}),
    "unknown $type": json.dumps({"$type": "Evil.Type, Evil", "ActivityId": str(uuid.uuid4())}),
    "10,000-deep nesting": "[" * 10_000 + "]" * 10_000,
    "NaN": '{"TaskMessage": NaN}',
    "5,000-digit integer": '{"Episode": ' + "9" * 5_000 + "}",
    "invalid base64": "%%%not-base64",
    "base64 of invalid UTF-8": base64.b64encode(b"\xff\xfe\xfa").decode(),
    "blob on another host": encode_message(large_message_wrapper("https://elsewhere.example/evil/x.json.gz")),
    "blob outside our container": encode_message(large_message_wrapper("../other-container/x.json.gz")),
}


async def test_every_kind_of_malformed_message_is_quarantined_and_both_queues_go_on(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    queue = control_queue(hub, "served")
    for body in MALFORMED.values():
        await hub.account.queues.put(queue, body)
        await hub.account.queues.put(hub.names.work_item_queue, body)
    instance_id = await client.start_new("guarded", "served", "echo")

    async with Worker(client, apps.app, options=fast_options()):
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
        await quarantined(client, 2 * len(MALFORMED))

    assert status.output == {"result": "payload"}  # its messages shared both queues with the malformed ones
    entries = await client.list_quarantined_messages()
    for where in (queue, hub.names.work_item_queue):
        bodies = sorted(e.body for e in entries if e.queue == where)
        assert bodies == sorted(MALFORMED.values()), where
    assert all(e.reason and e.dequeue_count == 1 for e in entries)
    assert await hub.account.queues.count(queue) == 0
    assert await hub.account.queues.count(hub.names.work_item_queue) == 0


async def test_a_message_received_too_often_is_quarantined_and_its_orchestration_fails_with_the_reason(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    instance_id = await client.start_new("echo_orchestrator", "worn", "never run")
    await wear_out(hub, control_queue(hub, instance_id), 3)

    async with Worker(client, apps.app, options=fast_options(max_dequeue_count=3)):
        await quarantined(client, 1)
        await check_clear_failure(client, hub, instance_id, cause="a message was quarantined: received 4 times")

    [entry] = await client.list_quarantined_messages()
    assert entry.instance_id == instance_id and entry.dequeue_count == 4
    assert entry.reason == "received 4 times without completing (limit 3)"
    status = await client.get_status(instance_id)
    assert "a message was quarantined: received 4 times" in str(status.output)


async def test_an_instance_whose_history_cannot_be_read_fails_and_its_message_is_quarantined(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    async with Worker(client, apps.app, options=fast_options()):
        instance_id = await client.start_new("approval", "corrupt", 300)

        async def waiting() -> bool:
            return any(e["EventType"] == "TimerCreated" for e in await client.get_history(instance_id))

        await wait_until(waiting, timeout=30, what="the approval to wait")
    # Corrupted while no worker holds the instance (a worker that wrote the history replays from memory, and only
    # a history it loads can show the corruption): the next worker loads it.
    escaped = hub.escape(instance_id)
    row = await hub.account.tables.get(hub.names.history_table, escaped, "0000000000000001")
    assert row is not None
    bogus = Row(escaped, row.row_key, {**row.values, "EventType": "NoSuchEvent"})
    await hub.account.tables.write(hub.names.history_table, Write(WriteMode.UPSERT_REPLACE, bogus))
    async with Worker(client, apps.app, options=fast_options()):
        await client.raise_event(instance_id, "Approval", "alice")
        await quarantined(client, 1)
        # Its 300 s timer's message stays hidden in the queue (and is dropped when it fires).
        await check_clear_failure(client, hub, instance_id, cause="NoSuchEvent", pending_timers=1)

    [entry] = await client.list_quarantined_messages()
    assert entry.instance_id == instance_id
    assert "NoSuchEvent" in entry.reason


async def test_a_work_item_received_too_often_is_quarantined_and_its_orchestration_gets_a_task_failure(
    hub: TaskHub, client: DurableOrchestrationClient
) -> None:
    target = OrchestrationInstance("worn-activity", uuid.uuid4().hex)
    scheduled = TaskScheduledEvent(event_id=0, timestamp=datetime.now(timezone.utc), name="echo", input='"payload"')
    message = MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(event=scheduled, orchestration_instance=target),
        sender=target,
    )
    await hub.messages.send(hub.names.work_item_queue, message)
    await wear_out(hub, hub.names.work_item_queue, 2)
    activities = ActivityDispatcher(hub, apps.app, fast_options(max_dequeue_count=2), on_sent=lambda queue: None)
    stopping = asyncio.Event()
    running = asyncio.create_task(activities.run(stopping))
    try:
        await quarantined(client, 1)
    finally:
        stopping.set()
        await running
        await activities.close()

    [entry] = await client.list_quarantined_messages()
    assert entry.instance_id == "worn-activity" and entry.queue == hub.names.work_item_queue
    [reply] = await hub.account.queues.peek(control_queue(hub, "worn-activity"))
    failure = decode_message(reply.body).task_message
    assert failure is not None and isinstance(failure.event, TaskFailedEvent)
    assert failure.event.task_scheduled_id == 0
    assert failure.event.reason is not None
    assert "Activity function 'echo' did not complete in 3 attempts (limit 2)" in failure.event.reason
    assert await hub.account.queues.count(hub.names.work_item_queue) == 0


def test_the_quarantine_commands_list_and_requeue(connection_string: str, hub: TaskHub) -> None:
    command = [sys.executable, "-m", "durable_storage", "--connection", connection_string, "--task-hub", hub.name]

    listed = subprocess.run([*command, "quarantine", "list", "--json"], check=True, capture_output=True, text=True)
    missing = subprocess.run([*command, "quarantine", "requeue", "nope"], check=False, capture_output=True, text=True)

    assert (listed.returncode, json.loads(listed.stdout)) == (0, [])
    assert missing.returncode == 3  # not found (durable_storage/cli/_common.py)
    assert "no quarantined message has ID 'nope'" in missing.stderr


async def test_a_redelivered_work_item_whose_result_is_recorded_is_deleted_unrun(
    hub: TaskHub, client: DurableOrchestrationClient
) -> None:
    async with Worker(client, apps.app, options=fast_options()):
        instance_id = await client.start_new("echo_orchestrator", "answered", "first")
        await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    row = await hub.instances.read(instance_id, fetch_payloads=False)
    assert row is not None and row.execution_id
    # A copy of its work item comes back (a crash after the reply, a lapsed visibility): received once already.
    target = OrchestrationInstance(instance_id, row.execution_id)
    scheduled = TaskScheduledEvent(event_id=0, timestamp=datetime.now(timezone.utc), name="echo", input='"again"')
    copy = MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(event=scheduled, orchestration_instance=target),
        sender=target,
    )
    await hub.messages.send(hub.names.work_item_queue, copy)
    await wear_out(hub, hub.names.work_item_queue, 1)

    activities = ActivityDispatcher(hub, apps.app, fast_options(), on_sent=lambda queue: None)
    stopping = asyncio.Event()
    running = asyncio.create_task(activities.run(stopping))
    try:

        async def gone() -> bool:
            return await hub.account.queues.count(hub.names.work_item_queue) == 0

        await wait_until(gone, timeout=20, what="the copy to be deleted")
    finally:
        stopping.set()
        await running
        await activities.close()
    # Not run: no second result was sent to the orchestration.
    assert await hub.account.queues.count(control_queue(hub, instance_id)) == 0
    assert await client.list_quarantined_messages() == []
