"""What an operator and the partition manager see of the dequeue loops, against a real Azurite.

A loop only dequeues within the lease its partition manager last wrote (a worker that wakes from a pause past its
lease receives nothing), and ``hub info`` shows each partition's owner, lease, depth, oldest waiting message and the
owner's last dequeue, so that a partition that is owned but not worked stands out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage import App
from durable_storage._storage.message_channel import Received
from durable_storage.cli.hub import render_info
from durable_storage.client._outgoing import instance_message
from durable_storage.history import EventRaisedEvent
from durable_storage.taskhub import PartitionInfo, TaskHub
from durable_storage.testing import wait_until
from durable_storage.worker import WorkerOptions
from durable_storage.worker._dispatch import OrchestrationDispatcher
from durable_storage.worker._partitions import PartitionManager
from tests.worker.test_partitions import DEQUEUED_AT, Member


def dispatcher(hub: TaskHub) -> OrchestrationDispatcher:
    options = WorkerOptions(max_polling_interval=0.1, lease_interval=5, lease_renew_interval=1)
    return OrchestrationDispatcher(hub, App(), options, on_sent=lambda queue: None)


async def test_a_loop_past_its_lease_receives_nothing(hub: TaskHub) -> None:
    queue = hub.names.control_queue(0)
    await hub.account.queues.put(queue, "not even a task message")
    loops = dispatcher(hub)

    await loops.start_queue(queue, valid_until=time.monotonic() - 0.1)  # as after waking from a long pause

    async def stopped() -> bool:
        return not loops.is_listening(queue)

    await wait_until(stopped, timeout=5, what="the loop to stop by itself")
    [waiting] = await hub.account.queues.peek(queue)
    assert waiting.dequeue_count == 0, "the loop received a message outside its lease"
    await loops.drain()


async def test_a_loop_within_its_lease_receives_and_reports_its_last_dequeue(hub: TaskHub) -> None:
    queue = hub.names.control_queue(1)
    loops = dispatcher(hub)
    before = datetime.now(timezone.utc)

    await loops.start_queue(queue, valid_until=time.monotonic() + 30)

    async def polled() -> datetime | None:
        return loops.last_dequeue(queue)

    assert await wait_until(polled, timeout=5, what="a first poll") >= before
    assert loops.is_listening(queue)
    await loops.drop_queue(queue)
    assert not loops.is_listening(queue)


async def test_hub_info_shows_owner_lease_depth_oldest_message_and_last_dequeue(hub: TaskHub) -> None:
    owner = Member(hub, "worker-a")
    await owner.round()
    await owner.round()  # the renewal records the last dequeue
    queue = hub.names.control_queue(2)
    await hub.account.queues.put(queue, "waiting")
    await hub.account.queues.put(queue, "waiting too")

    info = await hub.info()

    assert [p.partition for p in info.partitions] == list(hub.names.control_queues)
    entry = info.partitions[2]
    assert (entry.owner, entry.next_owner, entry.is_draining, entry.depth) == ("worker-a", None, False, 2)
    assert entry.last_dequeue == DEQUEUED_AT
    assert entry.oldest_message_at is not None
    assert abs(entry.oldest_message_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert entry.expires_at is not None and entry.expires_at > datetime.now(timezone.utc)
    assert info.partitions[0].depth == 0 and info.partitions[0].oldest_message_at is None

    later = DEQUEUED_AT + timedelta(seconds=90)
    table = render_info(info, later)
    line = next(row for row in table.splitlines() if queue in row)
    assert "worker-a" in line and "90.0s ago" in line


def test_the_hub_info_command_prints_a_table_and_json(connection_string: str, hub: TaskHub) -> None:
    command = [sys.executable, "-m", "durable_storage", "--connection", connection_string, "--task-hub", hub.name]

    table = subprocess.run([*command, "hub", "info"], capture_output=True, text=True, check=True, timeout=60)
    as_json = subprocess.run(
        [*command, "hub", "info", "--json"], capture_output=True, text=True, check=True, timeout=60
    )

    assert f"task hub {hub.name}: 4 partitions" in table.stdout
    assert all(queue in table.stdout for queue in hub.names.control_queues)
    assert "AccountKey" not in table.stdout + table.stderr
    described = json.loads(as_json.stdout)
    assert [p["partition"] for p in described["partitions"]] == list(hub.names.control_queues)
    assert {p["owner"] for p in described["partitions"]} == {None}


async def test_drain_and_close_finish_every_hand_back_before_the_storage_clients_close(
    connection_string: str, hub: TaskHub
) -> None:
    queue = hub.names.control_queue(3)
    event = EventRaisedEvent(timestamp=datetime.now(timezone.utc), name="Item", input="1")
    held = await hub.messages.send_held(queue, instance_message("someone", event), hold=300)
    async with TaskHub.from_connection_string(connection_string, task_hub=hub.name) as worker_hub:
        loops = dispatcher(worker_hub)
        loops.deliver(held)  # a result for a partition that is not ours: handed back in the background
        await loops.drain()
        await loops.close()
    # The worker's storage clients are closed, as when its process exits: the hand-back was done before.
    [back] = await hub.messages.receive(queue, visibility=30)
    assert back.message.id == held.message.id


async def test_a_stalled_loop_is_logged_restarted_and_shown_by_hub_info(
    hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    stalled = hub.names.control_queue(0)
    polls: Counter[str] = Counter()

    async def receive(queue: str, *, visibility: float) -> list[Received]:
        polls[queue] += 1
        if queue == stalled and polls[queue] == 2:
            await asyncio.Event().wait()  # a receive that never returns: the loop hangs in it
        return await hub.messages.receive(queue, visibility=visibility)

    options = WorkerOptions(worker_id="w", max_polling_interval=0.1, lease_interval=2, lease_renew_interval=0.5)
    loops = OrchestrationDispatcher(hub, App(), options, on_sent=lambda queue: None, receive=receive)
    stopping = asyncio.Event()
    managing = asyncio.create_task(PartitionManager(hub, options, loops).run(stopping))
    try:

        async def shown() -> PartitionInfo | None:
            [entry] = [p for p in (await hub.info()).partitions if p.partition == stalled]
            return entry if entry.loop_restarts == 1 and polls[stalled] > 2 else None

        entry = await wait_until(shown, timeout=20, what="the stalled loop to be restarted and recorded")
        assert entry.owner == "w"
        assert "(loop restarted 1x)" in render_info(await hub.info(), datetime.now(timezone.utc))
        assert loops.is_listening(stalled)  # polling again
        assert all(loops.loop_restarts(q) == 0 for q in hub.names.control_queues if q != stalled)
        [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert f"the dequeue loop of {stalled} has not gone round" in error.getMessage()
    finally:
        stopping.set()
        await managing
        await loops.drain()
        await loops.close()
