"""The dispatcher's buffer: messages wait there, by instance, while their instance's episode runs.

A message whose visibility runs out while it waits is received again and replaces its older copy
(storage-layout.md §5.1 step 3).
How full the buffer is must follow from what it holds: counting each re-delivery as a new message paused every
dequeue loop of the worker while nothing new was buffered (and, once 64 had leaked, for ever, while the partition
leases kept being renewed).
"""

from __future__ import annotations

import asyncio
from typing import Any

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage.testing import wait_until
from tests.e2e.support import events, fast_options, reaches

ITEMS = 50
# With a 1 s visibility, each waiting item is received again about every second: ~250 re-deliveries in all.
WAITING_SECONDS = 5.0

app = df.App()
holding = asyncio.Event()
release = asyncio.Event()


@app.activity_trigger(input_name="value", local=True)
async def hold(value: Any) -> Any:
    # A slow episode: local activities run inside it, so the instance's later messages wait in the buffer.
    holding.set()
    await release.wait()
    return value


@app.orchestration_trigger(context_name="context")
def collector(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("hold", None)
    received = []
    for _ in range(ITEMS):
        received.append((yield context.wait_for_external_event("item")))
    return len(received)


@app.orchestration_trigger(context_name="context")
def quick(context: df.DurableOrchestrationContext) -> Any:
    return "done"
    yield  # a generator


async def test_messages_received_again_while_buffered_never_pause_the_loops(
    client: DurableOrchestrationClient,
) -> None:
    holding.clear()
    release.clear()
    options = fast_options(control_queue_visibility=1, max_polling_interval=0.1)
    async with Worker(client, app, options=options) as worker:
        await client.start_new("collector", instance_id="collector")
        await asyncio.wait_for(holding.wait(), timeout=30)
        await asyncio.gather(*(client.raise_event("collector", "item", n) for n in range(ITEMS)))
        await asyncio.sleep(WAITING_SECONDS)  # the items wait in the buffer, received again and again

        try:
            # 50 messages are buffered, fewer than the 64 that pause the loops: other instances still run.
            await client.start_new("quick", instance_id="meanwhile")
            await reaches(client, "meanwhile", OrchestrationRuntimeStatus.Completed)
        finally:
            release.set()
        await reaches(client, "collector", OrchestrationRuntimeStatus.Completed)

        async def empty() -> bool:
            return worker.orchestrations.buffered == 0  # late copies are still taken (and dropped) meanwhile

        await wait_until(empty, timeout=20, what="the buffer to be empty")

    assert (await client.get_status("collector")).output == ITEMS
    history = await client.get_history("collector")
    assert len(events(history, "EventRaised")) == ITEMS  # each copy received again replaced the one before
