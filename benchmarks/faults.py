"""Fault families on a real workload: does anything get lost, and what runs twice?

    python -m benchmarks.faults                      # every family, 200 orchestrations each: a table
    python -m benchmarks.faults --json               # the same figures as JSON
    python -m benchmarks.faults --families kill,5xx --orchestrations 300
    python -m benchmarks.faults --connection "$CONN" # an Azurite (or account) already running
    python -m benchmarks.faults --defaults           # WorkerOptions' default leases and visibilities instead

Each family runs ``--orchestrations`` three-step chains (``benchmarks/fault_app.py``) on a fresh task hub of 4
partitions, served by ``python -m durable_storage worker`` processes with a 4 s lease renewed every second and 5 s
visibilities (``--defaults``: WorkerOptions' 30 s leases renewed every 10 s and 30 s visibilities), and a fresh
Azurite unless ``--connection`` is given (Azurite 3.35 pauses its queue service for 20-30 s once thousands of
messages were consumed; see ``benchmarks/scale.py``):

* ``crash``: two workers; one runs with ``--crash-at`` set to a crash point of the checkpoint or activity path
  (C1 after the sends, C2 after the History write, C3 after the Instances write, C4 after the deletes, A1 after
  an activity ran, A2 after its result was sent) and dies there on its 5th hit; it is restarted with the next point.
* ``kill``: three workers; every 2-5 s (seeded) one gets SIGKILL and a new one starts, for the first 20 s.
* ``5xx``: two workers whose storage calls fail through ``--faults``: 503, 500 and refused connections on 10 %
  of all calls, and 5 % of queue puts and deletes and History writes executed but answered with a lost response.

Figures per family: orchestrations started, completed with the right output, lost (not completed with the right
output within the deadline: must be 0), activity executions beyond one per step (at-least-once duplicates) and
their rate, seconds from each kill until every partition is owned by a live worker (the recovery time), and
messages quarantined.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.fault_app import LEDGER_VARIABLE, STEPS, expected
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import Azurite, unique_hub_name
from durable_storage.testing.faults import FaultPlan, FaultRule

FAMILIES = ("crash", "kill", "5xx")
CRASH_POINTS = ("C1", "C2", "C3", "C4", "A1", "A2")
PARTITIONS = 4
TIMINGS = ("--lease-interval", "4", "--lease-renew-interval", "1")
VISIBILITIES = ("--control-queue-visibility", "5", "--work-item-visibility", "5")
_PR_SET_PDEATHSIG = 1


@dataclass
class Figures:
    """What one family did to the workload."""

    family: str
    started: int = 0
    completed: int = 0
    lost: int = 0
    activity_executions: int = 0
    duplicate_executions: int = 0
    duplicate_rate: float = 0.0
    disruptions: int = 0  # crashes, kills, or injected storage faults
    recovery_s: list[float] = field(default_factory=list)
    quarantined: int = 0
    seconds: float = 0.0


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Workers:
    """Worker processes of one hub, with their logs and command lines.

    ``app`` is the module:attribute they serve, ``options`` their command-line timings (by default the fault
    families' short leases and visibilities; empty: WorkerOptions' defaults).
    """

    def __init__(
        self,
        connection: str,
        hub: str,
        logs: Path,
        ledger: Path,
        *,
        app: str = "benchmarks.fault_app:app",
        options: Sequence[str] = (*TIMINGS, *VISIBILITIES),
    ) -> None:
        self._connection = connection
        self._hub = hub
        self._logs = logs
        self._ledger = ledger
        self._app = app
        self._options = tuple(options)
        self.running: list[subprocess.Popen[bytes]] = []
        self._count = 0

    def start(self, *seams: str) -> subprocess.Popen[bytes]:
        """Start a worker; ``seams`` are its hidden test options (``--crash-at C2:5``, ``--faults JSON``)."""
        # INFO under injected faults: each injected fault is an INFO line, which is how they are counted.
        level = "INFO" if "--faults" in seams else "WARNING"
        command = [
            sys.executable,
            *("-m", "durable_storage", "--connection", self._connection, "--task-hub", self._hub),
            *("--partition-count", str(PARTITIONS), "--log-level", level, "worker", self._app),
            *self._options,
            *seams,
        ]
        env = {**os.environ, LEDGER_VARIABLE: str(self._ledger)}
        self._count += 1
        with (self._logs / f"{self._hub}-worker-{self._count}.log").open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
            )
        self.running.append(process)
        return process

    def reap(self) -> list[subprocess.Popen[bytes]]:
        """The processes that exited since the last call (no longer counted as running)."""
        dead = [p for p in self.running if p.poll() is not None]
        self.running = [p for p in self.running if p.poll() is None]
        return dead

    def stop_all(self) -> None:
        for process in self.running:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(10)
        self.running = []


async def _owned_by_live(hub: TaskHub, live: set[str]) -> bool:
    owners = {lease.current_owner for lease in await hub.partitions.read_all()}
    return owners <= live and None not in owners


async def _recovery(hub: TaskHub, dead_owner_ids: set[str], started: float, timeout: float = 120.0) -> float:
    """Seconds from ``started`` until no partition is owned by a dead worker any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        owners = {lease.current_owner for lease in await hub.partitions.read_all()}
        if not owners & dead_owner_ids and None not in owners:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return float("nan")


def _worker_ids(logs: Path, hub: str) -> dict[int, str]:
    """pid -> worker ID, from the "worker <id> running" line each process prints."""
    found: dict[int, str] = {}
    for log in logs.glob(f"{hub}-worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("worker ") and " running on task hub " in line:
                worker_id = line.split()[1]
                found[int(worker_id.rsplit("-", 2)[-2])] = worker_id
    return found


async def _drive(
    family: str, connection: str, orchestrations: int, logs: Path, seed: int, *, defaults: bool = False
) -> Figures:
    figures = Figures(family)
    hub_name = unique_hub_name()
    ledger = logs / f"{hub_name}-ledger.txt"
    workers = Workers(connection, hub_name, logs, ledger, options=() if defaults else (*TIMINGS, *VISIBILITIES))
    rng = random.Random(seed)
    async with DurableOrchestrationClient.from_connection_string(connection, task_hub=hub_name) as client:
        hub = client.task_hub
        await hub.create_if_not_exists()
        try:
            plan = _fault_plan(seed) if family == "5xx" else None
            crash_points = list(CRASH_POINTS)
            _start_first(workers, family, plan, crash_points)
            began = time.monotonic()
            ids = [f"chain-{n:04}" for n in range(orchestrations)]
            for chunk in range(0, len(ids), 50):
                await asyncio.gather(*(client.start_new("chain", i) for i in ids[chunk : chunk + 50]))
            figures.started = len(ids)
            next_kill = began + rng.uniform(2, 5)
            while True:
                now = time.monotonic()
                for dead in workers.reap():  # a crash point fired: restart with the next one
                    figures.disruptions += 1
                    known = _worker_ids(logs, hub_name)
                    figures.recovery_s.append(await _recovery(hub, {known.get(dead.pid, "?")}, now))
                    workers.start(*(("--crash-at", f"{crash_points.pop(0)}:5") if crash_points else ()))
                if family == "kill" and now >= next_kill and now - began < 20:
                    victim = workers.running[rng.randrange(len(workers.running))]
                    victim_id = _worker_ids(logs, hub_name).get(victim.pid, "?")
                    victim.send_signal(signal.SIGKILL)
                    victim.wait(10)
                    workers.reap()
                    killed_at = time.monotonic()
                    workers.start()
                    figures.disruptions += 1
                    figures.recovery_s.append(await _recovery(hub, {victim_id}, killed_at))
                    next_kill = time.monotonic() + rng.uniform(2, 5)
                done = await _finished(client, ids)
                if done == len(ids) or time.monotonic() - began > 300:
                    break
                await asyncio.sleep(0.5)
            figures.seconds = time.monotonic() - began
            await _tally(figures, client, ids, ledger)
            if plan is not None:
                figures.disruptions = _injected(logs, hub_name)
        finally:
            workers.stop_all()
            with contextlib.suppress(Exception):
                await hub.delete()
    return figures


async def _tally(figures: Figures, client: DurableOrchestrationClient, ids: Sequence[str], ledger: Path) -> None:
    """Fill in completions, losses, duplicate activity runs and quarantined messages."""
    for instance_id in ids:
        status = await client.get_status(instance_id)
        completed = status.runtime_status is OrchestrationRuntimeStatus.Completed
        figures.completed += int(completed and status.output == expected(instance_id))
    figures.lost = figures.started - figures.completed
    executions = _executions(ledger)
    figures.activity_executions = sum(executions.values())
    figures.duplicate_executions = sum(n - 1 for n in executions.values() if n > 1)
    figures.duplicate_rate = figures.duplicate_executions / max(1, figures.started * STEPS)
    figures.quarantined = len(await client.list_quarantined_messages())


def _executions(ledger: Path) -> Counter[str]:
    return Counter(ledger.read_text().splitlines()) if ledger.exists() else Counter()


def _start_first(workers: Workers, family: str, plan: FaultPlan | None, crash_points: list[str]) -> None:
    for index in range(3 if family == "kill" else 2):
        seams = ("--faults", plan.to_json()) if plan is not None else ()
        if family == "crash" and index == 0:
            seams = ("--crash-at", f"{crash_points.pop(0)}:5")
        workers.start(*seams)


async def _finished(client: DurableOrchestrationClient, ids: Sequence[str]) -> int:
    done = 0
    async for status in client.list_instances(runtime_status=[OrchestrationRuntimeStatus.Completed]):
        done += int(status.instance_id in ids)
    return done


def _fault_plan(seed: int) -> FaultPlan:
    rules = [
        FaultRule(service="queue", operation="put_message", execute_then_fail=0.05),
        FaultRule(service="queue", operation="delete_message", execute_then_fail=0.05),
        FaultRule(service="table", operation="batch", execute_then_fail=0.05),
        FaultRule(server_busy=0.04, operation_timeout=0.03, connection_error=0.03),
    ]
    return FaultPlan(rules, seed=seed)


def _injected(logs: Path, hub: str) -> int:
    return sum(log.read_text(errors="replace").count("injected ") for log in logs.glob(f"{hub}-worker-*.log"))


@contextlib.contextmanager
def _storage(connection: str | None) -> Iterator[str]:
    if connection:
        yield connection
        return
    with Azurite() as azurite:
        yield azurite.connection_string


def render(rows: Sequence[Figures]) -> str:
    header = (
        f"{'family':<7} {'started':>8} {'completed':>10} {'lost':>5} {'activity runs':>14} {'duplicates':>11} "
        f"{'dup rate':>9} {'disruptions':>12} {'recovery s (median/max)':>24} {'quarantined':>12} {'seconds':>8}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        recoveries = [r for r in row.recovery_s if not math.isnan(r)]  # NaN: no recovery seen
        recovery = f"{statistics.median(recoveries):.1f}/{max(recoveries):.1f}" if recoveries else "-"
        lines.append(
            f"{row.family:<7} {row.started:>8} {row.completed:>10} {row.lost:>5} {row.activity_executions:>14} "
            f"{row.duplicate_executions:>11} {row.duplicate_rate:>8.2%} {row.disruptions:>12} {recovery:>24} "
            f"{row.quarantined:>12} {row.seconds:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orchestrations", type=int, default=200)
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated, from {FAMILIES}")
    parser.add_argument("--connection", default=None, help="use this storage instead of a fresh Azurite per family")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--defaults", action="store_true", help="WorkerOptions' default leases and visibilities")
    args = parser.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"--families {unknown} unknown: choose from {FAMILIES}")
    if args.orchestrations < 1:
        parser.error(f"--orchestrations {args.orchestrations} is invalid: must be at least 1")
    rows: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="faults-bench-") as temp:
        for family in families:
            with _storage(args.connection) as connection:
                drive = _drive(family, connection, args.orchestrations, Path(temp), args.seed, defaults=args.defaults)
                rows.append(asyncio.run(drive))
            if not args.json:
                print(render(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(render(rows))
    if any(row.lost for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
