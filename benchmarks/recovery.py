"""Recovery after SIGKILL with WorkerOptions' defaults: how long until a killed worker's orchestrations resume?

    python -m benchmarks.recovery                          # 60 HelloCities5 on two workers, one killed: a table
    python -m benchmarks.recovery --json                   # the same figures as JSON
    python -m benchmarks.recovery --visibility 300         # both visibilities at the old 300 s (the .NET default)
    python -m benchmarks.recovery --connection "$CONN"     # an Azurite (or account) already running

Two ``python -m durable_storage worker benchmarks.hello_cities:app`` processes (``--workers``) with no timing
options, so WorkerOptions' defaults (30 s leases renewed every 10 s, 30 s visibilities renewed while held), share
a fresh task hub of 4 partitions. Once each owns its share, ``--orchestrations`` HelloCities5 are started at once;
when ``--kill-after`` of them have completed, the first worker gets SIGKILL (no warning, no lease release, its
buffered messages, running episodes and activities cut off), and the script waits until all have completed.

Figures: ``in flight`` (not completed at the kill), ``completed`` with the right output and ``lost`` (must be 0);
``takeover s``, from the kill until every partition is owned by a live worker (the dead worker's leases expire by
the survivor's own clock: ``lease_interval`` plus up to two renew rounds); ``resumed s``, from the kill until the
last orchestration completed (its Instances row's ``LastUpdatedTime``, on this host's clock): everything the dead
worker held, received and hidden, had to surface and run again by then; ``total s``, from the first start until
the last completion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from benchmarks.faults import Workers, _finished, _recovery, _storage, _worker_ids
from benchmarks.hello_cities import EXPECTED
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name, wait_until

START_CHUNK = 50  # start_new calls in flight at once


@dataclass(frozen=True)
class Recovery:
    """What one kill cost."""

    orchestrations: int
    workers: int
    visibility: str  # "default" or the seconds given
    killed_after: int  # orchestrations completed when the kill came
    in_flight: int
    completed: int
    lost: int
    takeover_s: float
    resumed_s: float
    total_s: float


async def _running(workers: Workers, logs: Path, hub: str) -> dict[int, str]:
    """pid -> worker ID of every running worker, once each has said it runs."""

    async def announced() -> dict[int, str] | None:
        found = _worker_ids(logs, hub)
        return found if all(p.pid in found for p in workers.running) else None

    found = await wait_until(announced, timeout=60, what="the workers to start")
    assert found is not None  # wait_until returns only a truthy value
    return found


async def _balanced(hub: TaskHub, live: set[str]) -> None:
    async def settled() -> bool:
        leases = await hub.partitions.read_all()
        owners = Counter(lease.current_owner for lease in leases)
        return set(owners) == live and not any(lease.next_owner or lease.is_draining for lease in leases)

    await wait_until(settled, timeout=120, interval=0.5, what="every worker to own its share of the partitions")


async def _completed_at(client: DurableOrchestrationClient, ids: Sequence[str]) -> tuple[int, list[datetime]]:
    """How many completed with the right output, and every completion's LastUpdatedTime."""
    right, ends = 0, []
    for instance_id in ids:
        status = await client.get_status(instance_id)
        if status.runtime_status is OrchestrationRuntimeStatus.Completed and status.last_updated_time is not None:
            right += int(status.output == EXPECTED)
            ends.append(status.last_updated_time)
    return right, ends


async def measure(connection: str, args: argparse.Namespace, logs: Path) -> Recovery:
    """Start the workers and the orchestrations, kill one worker, wait for everything to complete."""
    hub_name = unique_hub_name()
    options = () if args.visibility is None else ("--control-queue-visibility", "--work-item-visibility")
    timings = [item for name in options for item in (name, str(args.visibility))]
    workers = Workers(
        connection, hub_name, logs, logs / "ledger.txt", app="benchmarks.hello_cities:app", options=timings
    )
    async with DurableOrchestrationClient.from_connection_string(connection, task_hub=hub_name) as client:
        hub = client.task_hub
        await hub.create_if_not_exists()
        try:
            for _ in range(args.workers):
                workers.start()
            names = await _running(workers, logs, hub_name)
            await _balanced(hub, set(names.values()))
            began = time.time()
            ids: list[str] = []
            for chunk in range(0, args.orchestrations, START_CHUNK):
                size = min(START_CHUNK, args.orchestrations - chunk)
                ids += await asyncio.gather(*(client.start_new("hello_cities5") for _ in range(size)))

            async def enough() -> int | None:
                done = await _finished(client, ids)
                return done if done >= args.kill_after else None

            killed_after = await wait_until(enough, timeout=args.timeout, interval=0.1, what="the first completions")
            assert killed_after is not None
            victim = workers.running[0]
            victim.send_signal(signal.SIGKILL)
            killed, killed_wall = time.monotonic(), time.time()
            victim.wait(10)
            workers.reap()
            in_flight = len(ids) - await _finished(client, ids)
            takeover = await _recovery(hub, {names[victim.pid]}, killed, timeout=args.timeout)

            async def all_done() -> bool:
                return await _finished(client, ids) == len(ids)

            await wait_until(all_done, timeout=args.timeout, interval=0.5, what="every orchestration to complete")
            completed, ends = await _completed_at(client, ids)
        finally:
            workers.stop_all()
            await hub.delete()
    last = max(ends).timestamp()
    return Recovery(
        orchestrations=len(ids),
        workers=args.workers,
        visibility="default" if args.visibility is None else f"{args.visibility:g} s",
        killed_after=killed_after,
        in_flight=in_flight,
        completed=completed,
        lost=len(ids) - completed,
        takeover_s=round(takeover, 1),
        resumed_s=round(last - killed_wall, 1),
        total_s=round(last - began, 1),
    )


def render(row: Recovery) -> str:
    """The figures as a two-line table."""
    header = (
        f"{'orchestrations':>14} {'workers':>8} {'visibility':>10} {'killed after':>13} {'in flight':>10} "
        f"{'completed':>10} {'lost':>5} {'takeover s':>11} {'resumed s':>10} {'total s':>8}"
    )
    line = (
        f"{row.orchestrations:>14} {row.workers:>8} {row.visibility:>10} {row.killed_after:>13} {row.in_flight:>10} "
        f"{row.completed:>10} {row.lost:>5} {row.takeover_s:>11.1f} {row.resumed_s:>10.1f} {row.total_s:>8.1f}"
    )
    return f"{header}\n{'-' * len(header)}\n{line}"


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, measure once, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--orchestrations", type=int, default=60, metavar="N", help="HelloCities5 (default: 60)")
    parser.add_argument("--workers", type=int, default=2, metavar="W", help="worker processes (default: 2)")
    parser.add_argument("--kill-after", type=int, default=10, metavar="K", help="completions before the kill (10)")
    parser.add_argument("--visibility", type=float, default=None, metavar="S", help="both visibilities (default: ours)")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S", help="for each wait (default: 900)")
    parser.add_argument("--connection", metavar="CONN", help="a storage connection string (default: start Azurite)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.workers < 2:
        parser.error(f"--workers {args.workers} is invalid: a kill needs a survivor, so at least 2")
    if not 1 <= args.kill_after < args.orchestrations:
        parser.error(f"--kill-after {args.kill_after} is invalid: must be 1 to --orchestrations - 1")
    with tempfile.TemporaryDirectory(prefix="recovery-bench-") as temp, _storage(args.connection) as connection:
        row = asyncio.run(measure(connection, args, Path(temp)))
    print(json.dumps(asdict(row), indent=2) if args.json else render(row))
    if row.lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
