"""T11 (reliability.md §5.2): two workers whose clocks disagree by two minutes share one task hub.

Worker A runs on the machine's clock; worker B's clock is shifted by ``--clock-skew`` (+120 s,
then -120 s): every History timestamp, lease ``ExpiresAt`` and timer ``FireAt`` that B writes is two minutes off.

What a user must see:
- leases still renew: once the two workers share the partitions, no partition changes owner while they both run
  (comparing another worker's ``ExpiresAt`` with our own clock would make one of them take every row, dt PR #1303);
- no result is lost across continue-as-new: 20-generation loops end with the right sum;
- timers fire once, never before their ``FireAt`` minus the writer's skew, and not minutes late when the worker
  that receives them is not the one that set them (A sets timers, is stopped, and B fires them).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import WorkerProcess, events, settles

GENERATIONS = 20
LOOPS = 6
TIMERS = 6
TIMER_SECONDS = 3.0
ROUNDING = 1.0  # queue visibility is whole seconds


async def owners(hub: TaskHub) -> dict[str, str | None]:
    return {lease.partition: lease.current_owner for lease in await hub.partitions.read_all()}


async def check_timers(client: DurableOrchestrationClient, started: dict[str, float], skew: float) -> list[float]:
    """Every timer instance completed, its timer fired once and on time; returns how late each woke (real s)."""
    lateness = []
    for instance_id, started_at in started.items():
        status = await client.wait_for_completion(instance_id, timeout=40, poll_interval=0.2)
        assert status.runtime_status is OrchestrationRuntimeStatus.Completed, (instance_id, status)
        fire_at, woke = status.output["fire_at"], status.output["woke"]
        # FireAt is on the clock of whichever worker ran the first episode: never early by more than that skew.
        assert woke >= fire_at - max(skew, 0.0) - ROUNDING, (instance_id, fire_at, woke)
        lateness.append(woke - (started_at + TIMER_SECONDS))
        history = await client.get_history(instance_id)
        created = [event["EventId"] for event in events(history, "TimerCreated")]
        fired = [event["TimerId"] for event in events(history, "TimerFired")]
        assert Counter(fired) == Counter(created) and len(created) == 1, (instance_id, created, fired)
    return lateness


@pytest.mark.slow
@pytest.mark.parametrize("skew", [120.0, -120.0])
async def test_workers_two_minutes_apart_keep_their_leases_lose_nothing_and_fire_timers_once(
    skew: float, hub: TaskHub, client: DurableOrchestrationClient, worker_process: Callable[..., WorkerProcess]
) -> None:
    steady, skewed = worker_process(), worker_process("--clock-skew", str(skew))
    a, b = await steady.running(), await skewed.running()
    await settles(hub, {a, b})
    shared = await owners(hub)

    loops = [
        await client.start_new("generations", f"loop-{n}", {"left": GENERATIONS, "total": 0}) for n in range(LOOPS)
    ]
    timers = {}
    for n in range(TIMERS):
        timers[await client.start_new("timer_then_time", f"timer-{n}", TIMER_SECONDS)] = time.time()
    changes: list[dict[str, str | None]] = []

    async def watch_owners() -> None:
        while True:
            now = await owners(hub)
            if now != shared:
                changes.append(now)
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch_owners())
    try:
        for instance_id in loops:
            status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.2)
            expected = sum(n * n for n in range(1, GENERATIONS + 1))
            assert (status.runtime_status, status.output) == (OrchestrationRuntimeStatus.Completed, expected), status
            history = await client.get_history(instance_id)
            assert len(events(history, "ExecutionCompleted")) == 1, "the last generation completed more than once"
        lateness = await check_timers(client, timers, skew)
    finally:
        watcher.cancel()
    assert not changes, f"partitions changed owner while both workers ran: {shared} -> {changes[:3]}"

    # A sets timers on its partitions by its clock, then leaves; B, two minutes off, must fire them on time.
    handed_over = {}
    for n in range(TIMERS):
        handed_over[await client.start_new("timer_then_time", f"handover-{n}", TIMER_SECONDS)] = time.time()

    async def all_set() -> bool:
        for instance_id in handed_over:
            if not events(await client.get_history(instance_id), "TimerCreated"):
                return False
        return True

    await wait_until(all_set, timeout=20, interval=0.1, what="every timer to be set")
    steady.process.send_signal(signal.SIGTERM)
    assert await steady.exited() == 0, steady.output
    await settles(hub, {b})
    late_after_handover = await check_timers(client, handed_over, skew)
    print(
        f"T11 skew {skew:+.0f} s: {LOOPS} loops x {GENERATIONS} generations, {2 * TIMERS} timers of "
        f"{TIMER_SECONDS:.0f} s; woke at most {max(lateness):.1f} s late on one worker, "
        f"{max(late_after_handover):.1f} s after a handover to the skewed one"
    )
    # Hidden again for two minutes by a receiver that trusts its own clock would be 120 s late (and time out above).
    assert max(late_after_handover) < 30, late_after_handover
