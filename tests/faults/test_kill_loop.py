"""T02 (reliability.md §5.2): worker processes are killed with SIGKILL again and again while orchestrations run.

Three worker processes run ``ledger_chain`` orchestrations (three steps each) that the test starts at a steady
pace. Every 2-5 s (a seeded random schedule) one running worker gets SIGKILL, with no warning and no lease
release, and a replacement is started at once; after about 25 s the killing stops. Whatever the kills cut (an
episode between its sends and its History write, an activity between its body and its reply, a lease still held
by a dead worker), every orchestration must complete with its output exactly once, the Instances table must agree,
the queues must drain, and every activity must have run at least once (I1-I5, tests.faults.invariants). The
dequeue trace shows that the kills took partitions with them, that other workers took those over, and that no
control queue was ever dequeued by two live workers at once. Duplicate activity runs are the price of
at-least-once; the test prints their rate and how long the hub took to finish after the last kill. (``ledgered``
writes its ledger line at the end of its body, so only a kill between that write and the work item's delete shows
as a duplicate; a kill during the body reruns it with one line.)

This is the doc's T02 scaled to stay under a minute on two cores: 60 chains instead of 200, no fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import WorkerProcess, chain_output, listening, overlaps, read_trace
from tests.faults.invariants import check_invariants, raw_rows_ended

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SEED = 2024
WORKERS = 3
INSTANCES = 60
STEPS = 3
KILLING_FOR = 25.0  # seconds of kills
START_EVERY = 0.35  # seconds between starts: the load spans most of the killing
KILL_EVERY = (2.0, 5.0)


async def test_orchestrations_survive_repeated_sigkills_of_their_workers(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker_process: Callable[..., WorkerProcess],
    ledger: Path,
    dequeue_trace: Path,
) -> None:
    schedule = random.Random(SEED)
    workers = [worker_process() for _ in range(WORKERS)]
    names: dict[WorkerProcess, str] = dict(
        zip(workers, await asyncio.gather(*(worker.running() for worker in workers)), strict=True)
    )
    ids = [f"order-{n:03}" for n in range(INSTANCES)]

    async def start_all() -> None:
        for instance_id in ids:
            await client.start_new("ledger_chain", instance_id, STEPS)
            await asyncio.sleep(START_EVERY)  # the load's pace, not a wait for anything

    async def boot(worker: WorkerProcess) -> None:
        names[worker] = await worker.running()

    starting = asyncio.create_task(start_all())
    booting: list[asyncio.Task[None]] = []
    killed: dict[str, float] = {}  # worker ID -> when it was killed (unix time, as in the trace)
    began = time.monotonic()
    next_kill = last_kill = began
    try:
        while (next_kill := next_kill + schedule.uniform(*KILL_EVERY)) - began <= KILLING_FOR:
            await asyncio.sleep(max(0.0, next_kill - time.monotonic()))  # the fault schedule, not a wait
            alive = [worker for worker in workers if worker in names and worker.process.poll() is None]
            assert alive, "no worker is running"
            victim = schedule.choice(alive)
            victim.process.send_signal(signal.SIGKILL)
            killed[names[victim]] = time.time()
            last_kill = time.monotonic()
            assert await victim.exited() == -signal.SIGKILL
            workers.remove(victim)
            workers.append(worker_process())  # the replacement boots while the schedule goes on
            booting.append(asyncio.create_task(boot(workers[-1])))
        await starting
        await asyncio.gather(*booting)
    finally:
        for task in (starting, *booting):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    await wait_until(lambda: raw_rows_ended(hub, ids), timeout=60, interval=0.2, what="every orchestration to end")
    finished = time.monotonic()
    report = await check_invariants(
        client,
        hub,
        expected={i: chain_output(i, STEPS) for i in ids},
        ledger=ledger,
        steps=STEPS,
        owners={names[w] for w in workers},
    )
    settled = time.monotonic()  # the queues drained and live workers hold every partition
    for worker in workers:  # the survivors and the replacements never died on their own
        assert worker.process.poll() is None, worker.output[-3000:]
    print(
        f"T02: {len(killed)} SIGKILLs in {last_kill - began:.1f} s; all {INSTANCES} orchestrations ended "
        f"{finished - last_kill:.1f} s after the last kill, the hub was quiescent after {settled - last_kill:.1f} s; "
        f"{report.line('invariants')}; "
        f"duplicated: {report.duplicates}"
    )
    assert len(killed) >= 5  # the schedule really killed, again and again
    assert report.completed == INSTANCES and report.lost == []

    # The kills cut owned partitions, others took them over, and no queue ever had two live readers.
    spans = listening(read_trace(dequeue_trace), died=killed)
    assert overlaps(spans) == []
    orphaned = {(s.worker, s.queue) for s in spans if s.worker in killed and s.end == killed[s.worker]}
    assert orphaned, "no kill hit a worker that was dequeuing a control queue"

    async def taken_over() -> bool:  # the new owners' "listen" lines follow their lease writes by a moment
        spans = listening(read_trace(dequeue_trace), died=killed)
        return all(
            any(s.queue == queue and s.worker != worker and s.start >= killed[worker] for s in spans)
            for worker, queue in orphaned
        )

    await wait_until(taken_over, timeout=5, what=f"live workers to dequeue the orphaned queues {sorted(orphaned)}")
