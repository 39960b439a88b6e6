"""A worker process stopped by SIGTERM hands back every control message it held, visible again at once.

The process runs with the default 300 s control-queue visibility: a message it received and neither completed nor
handed back would stay hidden for five minutes, so whatever cannot be received within a second of its exit was
left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import Callable

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e import apps
from tests.e2e.support import PROCESS_TIMINGS, WorkerProcess, events, fast_options

INSTANCES = 8
DEFAULT_VISIBILITY = {**PROCESS_TIMINGS, "--control-queue-visibility": "300"}  # the old default: a long hide


async def send_items(client: DurableOrchestrationClient, ids: list[str], stop: asyncio.Event) -> None:
    """Raise "Item" events to ``ids`` in turn, a few at a time, until ``stop`` is set."""
    for n in itertools.count():
        if stop.is_set():
            return
        await asyncio.gather(*(client.raise_event(i, "Item", n) for i in ids))


async def visible_within(hub: TaskHub, queue: str, seconds: float) -> int:
    """How many messages of ``queue`` can be received within ``seconds`` (each hidden again for a minute)."""
    deadline = time.monotonic() + seconds
    received = 0
    while time.monotonic() < deadline:
        batch = await hub.messages.receive(queue, visibility=60)
        if not batch:
            if received:
                break
            continue
        received += len(batch)
    return received


async def test_after_sigterm_every_message_the_worker_held_is_visible_again_within_a_second(
    client: DurableOrchestrationClient, hub: TaskHub, worker_process: Callable[..., WorkerProcess]
) -> None:
    process = worker_process(timings=DEFAULT_VISIBILITY)
    worker_id = await process.running()
    ids = [await client.start_new("collect", f"collector-{n}", 1_000_000) for n in range(INSTANCES)]
    stop = asyncio.Event()
    sending = asyncio.create_task(send_items(client, ids, stop))
    try:

        async def flowing() -> bool:
            histories = [await client.get_history(i) for i in ids]
            return all(len(events(history, "EventRaised")) >= 3 for history in histories)

        await wait_until(flowing, timeout=30, interval=0.2, what=f"{worker_id} to take events")
        process.process.send_signal(signal.SIGTERM)  # while messages keep arriving and being received
        assert await process.exited() == 0
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await sending

    for queue in hub.names.control_queues:
        waiting = await hub.account.queues.count(queue)  # visible or hidden
        assert await visible_within(hub, queue, 1.0) == waiting, f"messages of {queue} stayed hidden"


async def test_a_cancelled_worker_run_still_drains_and_releases_its_partitions(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    worker = Worker(client, apps.app, options=fast_options())
    running = asyncio.create_task(worker.run())

    async def owns_every_partition() -> bool:
        return {lease.current_owner for lease in await hub.partitions.read_all()} == {worker.worker_id}

    await wait_until(owns_every_partition, timeout=20, what="the worker to own every partition")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running

    assert {lease.current_owner for lease in await hub.partitions.read_all()} == {None}  # released, not left to expire
