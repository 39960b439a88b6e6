"""Held control messages stay hidden while this worker works on them, and only as long (issue 20, item 4).

Control messages are received hidden for ``control_queue_visibility`` (30 s by default, so that a killed worker's
messages surface soon) and renewed while they wait in their instance's buffer or run in an episode. A live worker
must never see its own message come back while it still works on it: a re-delivery counts against
``max_dequeue_count``, and with a limit of 1 it is quarantined and its orchestration fails. An episode much shorter
than the visibility must cost no renewal.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._envelope import MessageData
from durable_storage.calls import counting
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.worker._visibility import HeldMessages, due
from tests.e2e.support import fast_options

VISIBILITY = 2.0
EPISODE_SECONDS = 3 * VISIBILITY  # an episode three visibility timeouts long

app = df.App()
runs: list[str] = []


@app.activity_trigger(input_name="seconds", local=True)
def slow_local(seconds: float) -> str:
    runs.append("slow_local")
    time.sleep(seconds)  # the episode runs this long, holding its messages
    return "slept"


@app.orchestration_trigger(context_name="context")
def long_episode(context: df.DurableOrchestrationContext) -> Any:
    slept = yield context.call_activity("slow_local", context.get_input())
    go = yield context.wait_for_external_event("go")
    return [slept, go]


@app.orchestration_trigger(context_name="context")
def short_episodes(context: df.DurableOrchestrationContext) -> Any:
    results = []
    for step in range(5):
        results.append((yield context.call_activity("slow_local", 0.0)))
        results.append(step)
    return results


async def test_a_message_held_past_its_visibility_is_renewed_not_received_again(
    client: DurableOrchestrationClient,
) -> None:
    runs.clear()
    # One delivery allowed: a message of ours received a second time would be quarantined and fail the instance.
    options = fast_options(control_queue_visibility=VISIBILITY, max_dequeue_count=1)
    async with Worker(client, app, options=options):
        instance_id = await client.start_new("long_episode", "held-long", EPISODE_SECONDS)

        async def started() -> bool:
            return runs == ["slow_local"]

        await wait_until(started, timeout=10, what="the long episode to start")
        await client.raise_event(instance_id, "go", "went")  # buffered behind the running episode
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
    assert (status.runtime_status, status.output) == (OrchestrationRuntimeStatus.Completed, ["slept", "went"])
    assert runs == ["slow_local"]
    assert await client.list_quarantined_messages() == []


async def test_episodes_shorter_than_half_the_visibility_cost_no_renewal(client: DurableOrchestrationClient) -> None:
    with counting() as calls:
        async with Worker(client, app, options=fast_options()):  # the default visibility, 30 s
            instance_id = await client.start_new("short_episodes", "held-short")
            status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    assert calls.snapshot()[("queue", "update_message")] == 0, calls.snapshot()


async def _one_received(hub: TaskHub, queue: str, visibility: float) -> Any:
    await hub.messages.send(queue, MessageData(activity_id=uuid.uuid4()))
    [received] = await hub.messages.receive(queue, visibility=visibility)
    return received


async def test_held_messages_stay_hidden_and_settle_with_the_newest_pop_receipt(hub: TaskHub) -> None:
    queue = hub.names.control_queue(0)
    received = await _one_received(hub, queue, VISIBILITY)
    held = HeldMessages(hub.messages.renew, visibility=VISIBILITY)
    held.hold(received)
    began = time.monotonic()
    while time.monotonic() - began < 3 * VISIBILITY:  # three visibility timeouts: it never shows
        assert await hub.account.queues.peek(queue) == []
        await asyncio.sleep(0.2)
    [settled] = await held.settle([received])
    assert settled.message.pop_receipt != received.message.pop_receipt  # renewed, so the receipt changed
    assert len(held) == 0
    assert await hub.messages.delete(settled.message)
    await held.close()


async def test_a_released_queue_s_messages_surface_within_a_visibility_timeout(hub: TaskHub) -> None:
    queue = hub.names.control_queue(1)
    received = await _one_received(hub, queue, VISIBILITY)
    held = HeldMessages(hub.messages.renew, visibility=VISIBILITY)
    held.hold(received)
    held.release_queue(queue)  # the partition left us: no more renewals

    async def surfaced() -> bool:
        return len(await hub.account.queues.peek(queue)) == 1

    await wait_until(surfaced, timeout=VISIBILITY + 2, interval=0.1, what="the released message to surface")
    await held.close()


def test_due_renewals_are_the_past_ones_and_those_within_the_window() -> None:
    assert due([10.0, 12.0, 13.5, 20.0], now=11.0, window=2.5) == [0, 1, 2]
    assert due([], now=0.0, window=1.0) == []
