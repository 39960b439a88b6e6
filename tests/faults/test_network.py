"""T07 (reliability.md §5.2): a network partition cuts one worker off from storage, then heals.

Worker A reaches Azurite only through ``durable_storage.testing.proxy`` (one proxy per service); worker B connects
directly. Once they share the partitions, ``ledger_chain`` orchestrations run on both, and the proxies black-hole
A for three leases or more: A's requests are read and never answered, as in a partition.

What a user must see: B takes all of A's partitions within one lease and one round, and finishes everything, old
and new, while A is still cut off. From B's takeover of a queue until A gets it back, A consumes nothing of it:
its dequeue loop starts no receive there (the dequeue trace), and at the heal, when A's requests that hung in the
partition are retried, every delete or visibility change it sends for that queue's messages is refused (the
proxy sees each request and its status). The one receive that was in flight when A was cut off is retried once
at the heal; whatever it returns, A puts back at once (that retry is reported, not hidden). After the heal A
rejoins, the partitions rebalance to two each, and A dequeues again. Every orchestration completes with the right
output and exactly one ExecutionCompleted, and each step is scheduled once in its history: no stale episode of A
was committed beside B's.
Activities may run twice (A's work item or reply was in flight when it was cut off); the test prints how often.

The helpers here also serve T08 (test_azurite_restart.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage._connection import DEV_ACCOUNT_NAME
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.testing.proxy import Exchange, ProxyMode, StorageProxies
from tests.e2e import apps
from tests.e2e.support import (
    PROCESS_TIMINGS,
    WorkerProcess,
    chain_output,
    events,
    ledger_counts,
    read_trace,
    settles,
    start_worker_process,
    stop_for_good,
)

pytestmark = pytest.mark.timeout(90)

STEPS = 3
CHAINS = 20  # per phase: before, during and after the partition
LEASE = float(PROCESS_TIMINGS["--lease-interval"])
ROUND = float(PROCESS_TIMINGS["--lease-renew-interval"])
OUTAGE = 3 * LEASE  # how long A is cut off at least: until B has finished everything

Trace = list[dict[str, Any]]


async def start_chains(client: DurableOrchestrationClient, prefix: str, count: int = CHAINS) -> list[str]:
    ids = [f"{prefix}-{n:02}" for n in range(count)]
    await asyncio.gather(*(client.start_new("ledger_chain", i, STEPS) for i in ids))
    return ids


async def all_completed(hub: TaskHub, ids: list[str]) -> bool:
    """True when every instance's Instances row (read raw, never repaired by a status query) is terminal."""
    rows = await asyncio.gather(*(hub.instances.read(i, fetch_payloads=False) for i in ids))
    return all(row is not None and row.completed_time is not None for row in rows)


async def check_completed_once(client: DurableOrchestrationClient, ids: list[str], ledger: Path) -> int:
    """Each chain completed once with the right output, each step scheduled once; returns duplicate activity runs."""
    runs = ledger_counts(ledger)
    assert set(runs) == {step.lower() for i in ids for step in chain_output(i, STEPS)}, (
        "a step never ran, or a stray one did"
    )
    for instance_id in ids:
        status = await client.get_status(instance_id)
        assert (status.runtime_status, status.output) == (
            OrchestrationRuntimeStatus.Completed,
            chain_output(instance_id, STEPS),
        )
        history = await client.get_history(instance_id)
        completed = events(history, "ExecutionCompleted")
        assert len(completed) == 1, f"{instance_id}: {len(completed)} ExecutionCompleted events"
        assert json.loads(completed[0]["Result"]) == chain_output(instance_id, STEPS)
        # Fenced by the sentinel ETag: each step scheduled once, whoever replayed it.
        assert [e["EventId"] for e in events(history, "TaskScheduled")] == list(range(STEPS)), instance_id
        # A reply that comes twice (a re-run activity, a re-sent or re-delivered reply) is recorded twice and used
        # once, as in DTFx (storage-layout.md §7); but every step has its reply.
        assert {e["TaskScheduledId"] for e in events(history, "TaskCompleted")} == set(range(STEPS)), instance_id
    return sum(runs.values()) - len(runs)


Spawn = Callable[[str], WorkerProcess]


@pytest.fixture
def spawn(hub: TaskHub, tmp_path: Path) -> Iterator[Spawn]:
    """Start worker processes on the test's hub through a given connection string; they trace their dequeues."""
    started: list[WorkerProcess] = []
    environment = {apps.LEDGER_VARIABLE: str(tmp_path / "ledger.txt")}
    traced = ("--dequeue-trace", str(tmp_path / "dequeues.jsonl"))

    def start(connection: str) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        started.append(start_worker_process(connection, hub, log, environment, traced))
        return started[-1]

    yield start
    for worker in started:
        stop_for_good(worker)


async def owned_by(hub: TaskHub, worker: str) -> set[str]:
    return {lease.partition for lease in await hub.partitions.read_all() if lease.current_owner == worker}


def first(trace: Trace, worker: str, queue: str, event: str, after: float) -> float | None:
    """When ``worker`` first recorded ``event`` on ``queue`` after ``after`` (None: never)."""
    return next(
        (e["t"] for e in trace if (e["worker"], e["queue"], e["event"]) == (worker, queue, event) and e["t"] > after),
        None,
    )


def while_taken(trace: Trace, *, a: str, b: str, queue: str, cut: float, healed: float) -> tuple[float, float]:
    """From B's first listen on ``queue`` after the cut to A's first listen on it after the heal (or for ever)."""
    taken = first(trace, b, queue, "listen", cut)
    assert taken is not None, f"B never listened to {queue}"
    return taken, first(trace, a, queue, "listen", healed) or float("inf")


def message_requests(exchanges: list[Exchange], queue: str, start: float, end: float) -> list[Exchange]:
    """The requests on ``queue``'s messages (receive, delete, update) forwarded between ``start`` and ``end``."""
    path = f"/{DEV_ACCOUNT_NAME}/{queue}/messages"
    return [e for e in exchanges if start <= e.at < end and e.request.split(" ")[1].startswith(path)]


async def test_a_partitioned_worker_loses_its_partitions_commits_nothing_and_rejoins(
    connection_string: str, hub: TaskHub, client: DurableOrchestrationClient, spawn: Spawn, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.txt"
    async with StorageProxies(connection_string) as proxies:
        cut_off, direct = spawn(proxies.connection_string), spawn(connection_string)
        a, b = await cut_off.running(), await direct.running()
        await settles(hub, {a, b})
        before = await start_chains(client, "before")

        async def both_busy() -> bool:
            return sum(ledger_counts(ledger).values()) >= CHAINS

        await wait_until(both_busy, timeout=30, interval=0.1, what="the chains to be under way")
        a_queues = await owned_by(hub, a)
        assert a_queues, "A owned nothing when it was cut off"

        proxies.set_mode(ProxyMode.BLACKHOLE)
        cut, cut_clock = time.time(), time.monotonic()
        await settles(hub, {b}, timeout=OUTAGE)
        during = await start_chains(client, "during")
        await wait_until(
            lambda: all_completed(hub, before + during),
            timeout=30,
            interval=0.25,
            what="B alone to finish every chain while A is cut off",
        )
        finished_alone = time.monotonic() - cut_clock
        await asyncio.sleep(max(0.0, cut_clock + OUTAGE - time.monotonic()))  # the rest of the deliberate outage
        cut_for = time.monotonic() - cut_clock

        proxies.set_mode(ProxyMode.PASS)
        healed, healed_clock = time.time(), time.monotonic()
        await settles(hub, {a, b})
        rejoined = time.monotonic() - healed_clock
        after = await start_chains(client, "after")
        await wait_until(lambda: all_completed(hub, after), timeout=30, interval=0.25, what="the chains after the heal")
        a_queues_after = await owned_by(hub, a)

    trace = read_trace(tmp_path / "dequeues.jsonl")
    takeover = max((first(trace, b, queue, "listen", cut) or float("inf")) - cut for queue in a_queues)
    print(
        f"T07: A cut off for {cut_for:.1f} s; B took A's {len(a_queues)} partitions in {takeover:.2f} s and finished "
        f"{2 * CHAINS} chains alone {finished_alone:.1f} s after the cut; A rejoined {rejoined:.2f} s after the heal"
    )
    # A's last renewal runs out within one lease of the cut; B claims the row on its next round.
    assert takeover <= LEASE + ROUND + 1.0
    for queue in a_queues:
        start, end = while_taken(trace, a=a, b=b, queue=queue, cut=cut, healed=healed)
        loop = [e for e in trace if (e["worker"], e["queue"], e["event"]) == (a, queue, "receive")]
        assert [e for e in loop if start <= e["t"] < end] == [], (
            f"A's dequeue loop received from {queue} after B took it"
        )
        sent = message_requests(proxies.queue.stats.exchanges, queue, start, end)
        seen = Counter(f"{e.request.split()[0]} {e.status}" for e in sent)
        print(f"T07: A's requests on the messages of {queue} while B owned it: {dict(seen)}")
        # A visibility of 0 gives a message back (A releasing an activity result it had put held for its own
        # session, once it finds the partition gone): only deletes and longer hides take one from B.
        taken_from_b = [
            e
            for e in sent
            if e.request.startswith(("DELETE", "PUT"))
            and "visibilitytimeout=0 " not in e.request
            and (e.status or 500) < 300
        ]
        assert taken_from_b == [], f"A deleted or hid messages of {queue} while B owned it"
        assert len([e for e in sent if e.request.startswith("GET")]) <= 1, f"A kept receiving from {queue}"
    assert "ran out before it was renewed" in cut_off.output or "lost by" in cut_off.output
    # A rejoined for real: it holds half the partitions and dequeues them.
    assert len(a_queues_after) == hub.partition_count // 2
    assert all(first(trace, a, queue, "receive", healed) for queue in a_queues_after)
    duplicates = await check_completed_once(client, before + during + after, ledger)
    print(f"T07: {duplicates} duplicate activity executions of {3 * CHAINS * STEPS}")
