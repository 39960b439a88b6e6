"""Scale-out with worker processes: partitions move between workers as they come, go, stall or die.

Every worker process records its dequeue loops (``worker --dequeue-trace``) and every execution of the
``ledgered`` activity (``DURABLE_STORAGE_TEST_LEDGER``); the tests merge those files to check that no control
queue was ever dequeued by two workers at once, that nothing was lost, and which work ran twice. The processes run
with a 4 s lease renewed every second (support.PROCESS_TIMINGS), so that a dead worker's partitions move within
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import (
    PROCESS_TIMINGS,
    WorkerProcess,
    chain_output,
    events,
    ledger_counts,
    listening,
    overlaps,
    read_trace,
    settles,
)

Status = OrchestrationRuntimeStatus
STEPS = 3
LEASE = float(PROCESS_TIMINGS["--lease-interval"])
ROUND = float(PROCESS_TIMINGS["--lease-renew-interval"])


@contextlib.asynccontextmanager
async def steady_load(client: DurableOrchestrationClient, started: list[str]) -> AsyncIterator[None]:
    """Start a ``ledger_chain`` every 0.1 s while the block runs (their IDs go to ``started``).

    The loop is told to stop rather than cancelled: a start cancelled halfway may have sent its message (so it
    runs) without its ID reaching ``started``.
    """
    stop = asyncio.Event()

    async def keep_starting() -> None:
        while not stop.is_set():
            started.append(await client.start_new("ledger_chain", f"load-{len(started):04}", STEPS))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    task = asyncio.create_task(keep_starting())
    try:
        yield
    finally:
        stop.set()
        await task


async def all_complete(client: DurableOrchestrationClient, ids: list[str]) -> None:
    """Every instance completes with the right output (nothing lost, nothing mixed up)."""
    for instance_id in ids:
        status = await client.wait_for_completion(instance_id, timeout=90, poll_interval=0.25)
        assert (status.runtime_status, status.output) == (Status.Completed, chain_output(instance_id, STEPS)), (
            instance_id
        )


async def some_steps_ran(ledger: Path, count: int) -> None:
    async def ran() -> bool:
        return sum(ledger_counts(ledger).values()) >= count

    await wait_until(ran, timeout=30, interval=0.1, what=f"{count} activities to run")


def queues_of(trace_path: Path, worker: str) -> set[str]:
    return {event["queue"] for event in read_trace(trace_path) if event["worker"] == worker}


async def test_partitions_follow_one_two_three_then_one_worker_while_orchestrations_run(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker_process: Callable[[], WorkerProcess],
    dequeue_trace: Path,
    ledger: Path,
) -> None:
    first = worker_process()
    a = await first.running()
    await settles(hub, {a})
    started: list[str] = []
    async with steady_load(client, started):
        second = worker_process()
        b = await second.running()
        await settles(hub, {a, b})
        third = worker_process()
        c = await third.running()
        await settles(hub, {a, b, c})
        second.process.send_signal(signal.SIGTERM)
        third.process.send_signal(signal.SIGTERM)
        assert (await second.exited(), await third.exited()) == (0, 0)
        await settles(hub, {a})

    await all_complete(client, started)
    trace = read_trace(dequeue_trace)
    assert overlaps(listening(trace)) == []
    assert queues_of(dequeue_trace, b) and queues_of(dequeue_trace, c), "the joining workers never dequeued"
    assert len(queues_of(dequeue_trace, a)) == hub.partition_count
    # Graceful moves abandon nothing that ran: every activity ran exactly once.
    counts = ledger_counts(ledger)
    assert set(counts) == {step.lower() for instance_id in started for step in chain_output(instance_id, STEPS)}
    assert {step: n for step, n in counts.items() if n > 1} == {}


async def test_a_sigkilled_workers_partitions_are_taken_over_within_a_lease_and_a_round(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker_process: Callable[[], WorkerProcess],
    dequeue_trace: Path,
    ledger: Path,
) -> None:
    survivor, victim = worker_process(), worker_process()
    a, b = await survivor.running(), await victim.running()
    await settles(hub, {a, b})
    orphaned = {lease.partition for lease in await hub.partitions.read_all() if lease.current_owner == b}
    ids = [await client.start_new("ledger_chain", f"order-{n:02}", STEPS) for n in range(30)]
    await some_steps_ran(ledger, 20)

    victim.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    assert await victim.exited() == -signal.SIGKILL
    await settles(hub, {a})

    await all_complete(client, ids)
    trace = read_trace(dequeue_trace)
    assert overlaps(listening(trace, died={b: killed_at})) == []
    taken_over: dict[str, float] = {}
    for event in trace:  # when the survivor started listening to each queue after the kill
        if event["worker"] == a and event["event"] == "listen" and event["t"] > killed_at:
            taken_over.setdefault(event["queue"], event["t"] - killed_at)
    assert set(taken_over) == orphaned
    # The bound of the issue: one lease (the dead worker's last renewal runs out) plus one round of the survivor,
    # with one second for that round's own storage calls.
    assert max(taken_over[queue] for queue in orphaned) <= LEASE + ROUND + 1.0, taken_over
    counts = ledger_counts(ledger)
    assert set(counts) == {step.lower() for instance_id in ids for step in chain_output(instance_id, STEPS)}


async def test_a_paused_owner_stops_dequeuing_and_commits_nothing_stale_after_sigcont(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker_process: Callable[[], WorkerProcess],
    dequeue_trace: Path,
    ledger: Path,
) -> None:
    healthy, paused = worker_process(), worker_process()
    a, b = await healthy.running(), await paused.running()
    await settles(hub, {a, b})
    ids = [await client.start_new("ledger_chain", f"order-{n:02}", STEPS) for n in range(30)]
    await some_steps_ran(ledger, 20)

    paused.process.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    try:
        await settles(hub, {a})  # its leases ran out while it slept: the healthy worker took them
        resumed_at = time.time()
    finally:
        paused.process.send_signal(signal.SIGCONT)
    await settles(hub, {a, b})  # awake again, it lost its rows, then asked for its share back

    await all_complete(client, ids)
    trace = read_trace(dequeue_trace)
    for queue in {e["queue"] for e in trace if e["worker"] == b}:
        mine = [e for e in trace if e["worker"] == b and e["queue"] == queue and e["t"] > stopped_at]
        relisten = min((e["t"] for e in mine if e["event"] == "listen" and e["t"] > resumed_at), default=None)
        stale = [e for e in mine if e["event"] == "receive" and (relisten is None or e["t"] < relisten)]
        assert stale == [], f"{b} dequeued {queue} after its lease ran out"
    assert "ran out before it was renewed" in paused.output or "lost by" in paused.output
    for instance_id in ids:
        history = await client.get_history(instance_id)
        # One schedule and one result per step: no stale episode was committed beside the new owner's.
        assert len(events(history, "TaskScheduled")) == STEPS
        assert len(events(history, "TaskCompleted")) == STEPS


async def test_sigterm_hands_partitions_over_without_redoing_finished_work(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker_process: Callable[[], WorkerProcess],
    dequeue_trace: Path,
    ledger: Path,
) -> None:
    staying, leaving = worker_process(), worker_process()
    a, b = await staying.running(), await leaving.running()
    await settles(hub, {a, b})
    ids = [await client.start_new("ledger_chain", f"order-{n:02}", STEPS) for n in range(30)]
    await some_steps_ran(ledger, 10)

    leaving.process.send_signal(signal.SIGTERM)
    assert await leaving.exited() == 0
    await settles(hub, {a})

    await all_complete(client, ids)
    assert overlaps(listening(read_trace(dequeue_trace))) == []
    assert "released by" in leaving.output
    counts = ledger_counts(ledger)
    assert set(counts) == {step.lower() for instance_id in ids for step in chain_output(instance_id, STEPS)}
    assert {step: n for step, n in counts.items() if n > 1} == {}
