"""Scale-out with worker processes: HelloCities5 throughput per worker count, and partition rebalance times.

    python -m benchmarks.scale                          # 1, 2 and 3 workers, 200 orchestrations each: a table
    python -m benchmarks.scale --json                   # the same figures as JSON
    python -m benchmarks.scale --workers 1,2,4 --partitions 8 --orchestrations 500
    python -m benchmarks.scale --connection "$CONN"     # an Azurite (or account) already running
    python -m benchmarks.scale --no-rebalance           # throughput only

Each worker count W gets a fresh task hub with ``--partitions`` partitions and W ``python -m durable_storage
worker durable_storage._demo:app`` processes (lease interval 4 s, renewed every second). Once the Partitions table
is balanced (every worker owns floor(P/W) or ceil(P/W) partitions), N ``hello_cities`` orchestrations (five
``say_hello`` activities in sequence) are started at once and timed from the first start until all have ended.
Each process's CPU seconds over the workload (worker processes, Azurite when this script started it, and this
client) show which one was the limit: a process whose CPU seconds come close to the wall seconds kept one core
busy.

The rebalance figures are measured once, without load, on a fresh hub of their own:

* ``join``: one worker owns every partition, a second starts; seconds from its "running" line to a balanced table.
* ``death``: one of two balanced workers is SIGKILLed; seconds until the survivor owns every partition (bounded
  by the lease interval plus the renew interval: 5 s).
* ``graceful leave``: a new second worker balances, then gets SIGTERM; seconds until the other one owns every
  partition. The SIGTERMed process must exit 0.

Without ``--connection`` every measurement (each worker count, then the rebalance) gets an Azurite of its own.
Azurite 3.35's in-memory queue service collects the extents of consumed messages every 60 s, deleting each one with
a scan of all the others: once a few thousand messages have been consumed (about 4,400 after two 200-orchestration
rows), that blocks all three of its services for 20-30 s. The workers' storage calls time out, their episodes fail
and the messages stay hidden for the 300 s control-queue visibility, so one such pause turns a 20 s row into a
350 s one. A fresh Azurite per measurement keeps the pause out of the figures; with ``--connection`` the rows share
the storage, and the ``log warnings`` column (warning and error records in the worker logs, printed to stderr)
shows when a row was hit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import Azurite, unique_hub_name

CITIES = ("Tokyo", "Seattle", "London", "Paris", "Cairo")
EXPECTED_OUTPUT = [f"Hello {city}!" for city in CITIES]
ORCHESTRATOR = "hello_cities"
APP = "durable_storage._demo:app"
LEASE_INTERVAL = 4.0
LEASE_RENEW_INTERVAL = 1.0
START_CHUNK = 50
STATUS_POLL = 0.25  # seconds between status queries while the workload runs
LEASE_POLL = 0.1  # seconds between Partitions table reads while waiting for a balance
WORKER_START_TIMEOUT = 60.0
BALANCE_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1
_TERMINAL = [
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
    OrchestrationRuntimeStatus.Canceled,
]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Throughput:
    """The figures of one worker count."""

    workers: int
    partitions: int
    orchestrations: int
    seconds: float
    orchestrations_per_s: float
    speed_up: float | None
    worker_cpu_s: list[float]
    azurite_cpu_s: float | None
    client_cpu_s: float
    failures: int
    log_warnings: int


@dataclass(frozen=True, slots=True)
class Rebalance:
    """Seconds until the Partitions table settles after a worker joins, dies or leaves."""

    partitions: int
    join_s: float
    death_s: float
    graceful_leave_s: float
    graceful_exit_code: int


# --- processes ----------------------------------------------------------------------------------------------------


def die_with_parent() -> None:
    """In a child process before exec: a benchmark that dies (even by SIGKILL) takes the child with it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads), from /proc/<pid>/stat fields 14 and 15."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Field 2 (the command) is parenthesised and may hold spaces: split after its closing parenthesis, at field 3.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[14 - 3]) + int(fields[15 - 3])) / _CLOCK_TICKS


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process."""
    times = os.times()
    return times.user + times.system


def azurite_pid() -> int | None:
    """The pid of an Azurite this process started (a child whose command line names azurite), if any."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = stat[stat.rindex(")") + 2 :].split()[1]
            if parent == me and b"azurite" in (entry / "cmdline").read_bytes():
                return int(entry.name)
    return None


async def wait_for(condition: Callable[[], Awaitable[T | None]], *, timeout: float, interval: float, what: str) -> T:
    """Await ``condition()`` every ``interval`` seconds until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        result = await condition()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(interval)


class WorkerProcess:
    """A ``python -m durable_storage worker`` process; its stdout and stderr go to ``log``."""

    def __init__(self, connection: str, hub: str, partitions: int, log: Path) -> None:
        self.log = log
        self.worker_id: str | None = None
        command = [
            sys.executable,
            "-m",
            "durable_storage",
            "--connection",
            connection,
            "--task-hub",
            hub,
            "--partition-count",
            str(partitions),
            "--log-level",
            "WARNING",
            "worker",
            APP,
            "--lease-interval",
            f"{LEASE_INTERVAL:g}",
            "--lease-renew-interval",
            f"{LEASE_RENEW_INTERVAL:g}",
        ]
        with log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check_alive(self) -> None:
        """Raise, with the end of its log, when the process has exited."""
        if self.process.poll() is not None:
            tail = "\n".join(self.output.splitlines()[-30:])
            raise RuntimeError(f"worker process {self.pid} exited with code {self.process.returncode}:\n{tail}")

    def _announced(self) -> str | None:
        for line in self.output.splitlines():
            if line.startswith("worker ") and " running on task hub " in line:
                return line.split()[1]
        return None

    async def running(self, timeout: float = WORKER_START_TIMEOUT) -> str:
        """Wait until the process prints its "running" line; returns (and remembers) its worker ID."""

        async def announced() -> str | None:
            self.check_alive()
            return self._announced()

        self.worker_id = await wait_for(
            announced, timeout=timeout, interval=0.05, what=f"worker process {self.pid}'s 'running' line"
        )
        return self.worker_id

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` s; returns the exit code. Idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def problems(self) -> list[str]:
        """The log lines beyond "running" and "stopping": at --log-level WARNING, each is a warning or worse."""
        expected = ("worker ", "stopping: draining")
        return [line for line in self.output.splitlines() if line and not line.startswith(expected)]


class Workers:
    """The worker processes of one hub; :meth:`stop_all` ends every one of them."""

    def __init__(self, connection: str, hub: str, partitions: int, logs: Path) -> None:
        self._connection = connection
        self._hub = hub
        self._partitions = partitions
        self._logs = logs
        self.started: list[WorkerProcess] = []

    def spawn(self) -> WorkerProcess:
        log = self._logs / f"{self._hub}-worker{len(self.started) + 1}.log"
        worker = WorkerProcess(self._connection, self._hub, self._partitions, log)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        """SIGTERM every live process at once, then wait for each (SIGKILL after 10 s)."""
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in self.started:
            worker.stop()

    def warnings(self) -> int:
        """How many warning or error records the processes logged (traceback lines not counted)."""
        levels = (" WARNING ", " ERROR ", " CRITICAL ")
        return sum(1 for worker in self.started for line in worker.problems() if any(lv in line for lv in levels))

    def report_problems(self) -> None:
        """Print worker log warnings and errors to stderr (the figures on stdout stay clean)."""
        for worker in self.started:
            found = worker.problems()
            if found:
                print(f"worker log {worker.log} has {len(found)} warning or error lines:", file=sys.stderr)
                for line in found[:20]:
                    print(f"  {line}", file=sys.stderr)


# --- leases -------------------------------------------------------------------------------------------------------


def is_balanced(owners: Sequence[str | None], next_owners: Sequence[str | None], workers: Sequence[str]) -> bool:
    """Every partition owned by one of ``workers``, none requested, each worker owning floor or ceil of P/W."""
    if any(owner is None for owner in owners) or any(owner is not None for owner in next_owners):
        return False
    counts = Counter(owners)
    low, high = len(owners) // len(workers), math.ceil(len(owners) / len(workers))
    return set(counts) == set(workers) and all(low <= count <= high for count in counts.values())


async def balanced(hub: TaskHub, workers: Sequence[WorkerProcess], timeout: float = BALANCE_TIMEOUT) -> float:
    """Wait until the hub's partitions are balanced across ``workers`` (all running); returns when, monotonic."""
    ids = [worker.worker_id for worker in workers]
    assert all(ids), "wait for each worker's 'running' line first"

    async def settled() -> float | None:
        for worker in workers:
            worker.check_alive()
        leases = await hub.partitions.read_all()
        now = time.monotonic()
        owners = [lease.current_owner for lease in leases]
        next_owners = [lease.next_owner for lease in leases]
        if any(lease.is_draining for lease in leases):
            return None
        return now if is_balanced(owners, next_owners, [i for i in ids if i]) else None

    return await wait_for(
        settled, timeout=timeout, interval=LEASE_POLL, what=f"a balance of {hub.name}'s partitions across {ids}"
    )


@contextlib.asynccontextmanager
async def fresh_hub(connection: str, partitions: int) -> AsyncIterator[TaskHub]:
    """A new task hub with ``partitions`` partitions, deleted afterwards."""
    hub = TaskHub.from_connection_string(connection, task_hub=unique_hub_name("scale"), partition_count=partitions)
    try:
        await hub.create_if_not_exists()
        yield hub
    finally:
        with contextlib.suppress(Exception):
            await hub.delete()
        await hub.close()


# --- throughput ---------------------------------------------------------------------------------------------------


async def start_workers(workers: Workers, count: int) -> list[WorkerProcess]:
    started = [workers.spawn() for _ in range(count)]
    await asyncio.gather(*(worker.running() for worker in started))
    return started


async def run_workload(client: DurableOrchestrationClient, orchestrations: int, timeout: float) -> tuple[float, int]:
    """Start the orchestrations and wait until all have ended; returns (seconds, failures)."""
    started = time.monotonic()
    ids: list[str] = []
    for first in range(0, orchestrations, START_CHUNK):
        size = min(START_CHUNK, orchestrations - first)
        ids += await asyncio.gather(*(client.start_new(ORCHESTRATOR) for _ in range(size)))
    wanted = set(ids)
    deadline = started + timeout
    while True:
        ended = [
            status for status in await client.get_status_by(runtime_status=_TERMINAL) if status.instance_id in wanted
        ]
        if len(ended) == len(wanted):
            seconds = time.monotonic() - started
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"only {len(ended)} of {orchestrations} orchestrations ended within {timeout:g} s of the first start"
            )
        await asyncio.sleep(STATUS_POLL)
    failures = sum(
        1
        for status in ended
        if status.runtime_status is not OrchestrationRuntimeStatus.Completed or status.output != EXPECTED_OUTPUT
    )
    return seconds, failures


async def measure_throughput(
    connection: str, workers: int, partitions: int, *, orchestrations: int, timeout: float, logs: Path
) -> Throughput:
    """One row of the table: W fresh workers on a fresh hub run the workload."""
    async with fresh_hub(connection, partitions) as hub:
        processes = Workers(connection, hub.name, partitions, logs)
        client = DurableOrchestrationClient.from_connection_string(
            connection, task_hub=hub.name, partition_count=partitions
        )
        try:
            started = await start_workers(processes, workers)
            await balanced(hub, started)
            azurite = azurite_pid()
            before = [cpu_seconds(worker.pid) for worker in started]
            azurite_before = cpu_seconds(azurite) if azurite else None
            client_before = own_cpu_seconds()
            seconds, failures = await run_workload(client, orchestrations, timeout)
            client_cpu = round(own_cpu_seconds() - client_before, 2)
            after = [cpu_seconds(worker.pid) for worker in started]
            azurite_cpu = (
                round(cpu_seconds(azurite) - azurite_before, 2) if azurite and azurite_before is not None else None
            )
            for worker in started:
                worker.check_alive()
        finally:
            await client.close()
            processes.stop_all()
            processes.report_problems()
        warnings = processes.warnings()
    return Throughput(
        workers=workers,
        partitions=partitions,
        orchestrations=orchestrations,
        seconds=seconds,
        orchestrations_per_s=orchestrations / seconds,
        speed_up=None,
        worker_cpu_s=[round(b - a, 2) for a, b in zip(before, after, strict=True)],
        azurite_cpu_s=azurite_cpu,
        client_cpu_s=client_cpu,
        failures=failures,
        log_warnings=warnings,
    )


def with_speed_up(rows: Sequence[Throughput]) -> list[Throughput]:
    """The rows with their throughput relative to the 1-worker row (None without one)."""
    base = next((row.orchestrations_per_s for row in rows if row.workers == 1), None)
    return [
        Throughput(**{**asdict(row), "speed_up": row.orchestrations_per_s / base if base else None}) for row in rows
    ]


# --- rebalance ----------------------------------------------------------------------------------------------------


async def owned_by(hub: TaskHub, worker: WorkerProcess, timeout: float = BALANCE_TIMEOUT) -> float:
    """Wait until ``worker`` owns every partition; returns when, monotonic."""
    return await balanced(hub, [worker], timeout)


async def measure_rebalance(connection: str, partitions: int, logs: Path) -> Rebalance:
    """Join, death and graceful leave on one fresh hub, without load."""
    async with fresh_hub(connection, partitions) as hub:
        processes = Workers(connection, hub.name, partitions, logs)
        try:
            first = processes.spawn()
            await first.running()
            await owned_by(hub, first)

            second = processes.spawn()
            await second.running()
            joined = time.monotonic()
            join_s = await balanced(hub, [first, second]) - joined

            second.process.kill()
            killed = time.monotonic()
            second.process.wait(EXIT_TIMEOUT)
            death_s = await owned_by(hub, first) - killed

            third = processes.spawn()
            await third.running()
            await balanced(hub, [first, third])
            third.process.terminate()
            terminated = time.monotonic()
            leave_s = await owned_by(hub, first) - terminated
            exit_code = third.process.wait(EXIT_TIMEOUT)
            if exit_code != 0:
                print(f"the SIGTERMed worker exited with code {exit_code}, not 0: see {third.log}", file=sys.stderr)
        finally:
            processes.stop_all()
            processes.report_problems()
    return Rebalance(partitions, join_s, death_s, leave_s, exit_code)


# --- output -------------------------------------------------------------------------------------------------------


def _cpu_list(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{value:.1f}" for value in values) + "]"


def render(rows: Sequence[Throughput], rebalance: Rebalance | None, cpus: int) -> str:
    """The figures as plain-text tables."""
    header = (
        f"{'workers':>7} {'orchestrations':>14} {'seconds':>8} {'orch/s':>7} {'speed-up':>8} "
        f"{'worker CPU s':<24} {'azurite CPU s':>13} {'client CPU s':>12} {'failures':>8} {'log warnings':>12}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        speed_up = f"{row.speed_up:.2f}x" if row.speed_up is not None else "-"
        azurite = f"{row.azurite_cpu_s:.1f}" if row.azurite_cpu_s is not None else "-"
        lines.append(
            f"{row.workers:>7} {row.orchestrations:>14,} {row.seconds:>8.2f} {row.orchestrations_per_s:>7.1f} "
            f"{speed_up:>8} {_cpu_list(row.worker_cpu_s):<24} {azurite:>13} {row.client_cpu_s:>12.1f} "
            f"{row.failures:>8} {row.log_warnings:>12}"
        )
    partitions = rows[0].partitions if rows else rebalance.partitions if rebalance else 0
    lines.append(f"({partitions} partitions, {cpus} CPUs on this host)")
    if rebalance is not None:
        lines += [
            "",
            f"{'rebalance':<16} {'seconds':>8}",
            "-" * 25,
            f"{'join':<16} {rebalance.join_s:>8.2f}",
            f"{'death':<16} {rebalance.death_s:>8.2f}",
            f"{'graceful leave':<16} {rebalance.graceful_leave_s:>8.2f}",
            f"(lease interval {LEASE_INTERVAL:g} s, renew interval {LEASE_RENEW_INTERVAL:g} s; "
            f"the SIGTERMed worker exited {rebalance.graceful_exit_code})",
        ]
    return "\n".join(lines)


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"{text!r}: every worker count must be at least 1")
    return counts


@contextlib.contextmanager
def storage(connection: str | None) -> Iterator[str]:
    """The given connection string, or that of a fresh Azurite started (and stopped) here."""
    if connection is not None:
        yield connection
        return
    azurite = Azurite()
    try:
        azurite.start()
        yield azurite.connection_string
    finally:
        azurite.stop()


def run(args: argparse.Namespace, logs: Path) -> tuple[list[Throughput], Rebalance | None]:
    """Every measurement, each on its own Azurite unless ``--connection`` names the storage."""
    rows = []
    for workers in args.workers:
        with storage(args.connection) as connection:
            row = measure_throughput(
                connection,
                workers,
                args.partitions,
                orchestrations=args.orchestrations,
                timeout=args.timeout,
                logs=logs,
            )
            rows.append(asyncio.run(row))
    rebalance = None
    if not args.no_rebalance:
        with storage(args.connection) as connection:
            rebalance = asyncio.run(measure_rebalance(connection, args.partitions, logs))
    return with_speed_up(rows), rebalance


def main(argv: Sequence[str] | None = None) -> None:
    """Measure each worker count, then the rebalance times, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--connection", metavar="CONN", help="a storage connection string (default: start Azurite)")
    parser.add_argument("--workers", type=_counts, default=[1, 2, 3], metavar="W,W,...", help="default: 1,2,3")
    parser.add_argument("--partitions", type=int, default=4, metavar="P", help="partitions per hub (default: 4)")
    parser.add_argument("--orchestrations", type=int, default=200, metavar="N", help="per worker count (default: 200)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, metavar="SECONDS", help="the longest one workload may take (600)"
    )
    parser.add_argument("--no-rebalance", action="store_true", help="skip the rebalance figures")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs and print where they are")
    args = parser.parse_args(argv)
    if not 1 <= args.partitions <= 16:
        parser.error(f"--partitions {args.partitions} is invalid: must be 1-16")
    if args.orchestrations < 1:
        parser.error(f"--orchestrations {args.orchestrations} is invalid: must be at least 1")
    logs = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        rows, rebalance = run(args, logs)
    finally:
        if args.keep_logs:
            print(f"worker logs kept in {logs}", file=sys.stderr)
        else:
            for log in logs.iterdir():
                log.unlink()
            logs.rmdir()
    if args.json:
        figures = {
            "cpus": os.cpu_count(),
            "lease_interval_s": LEASE_INTERVAL,
            "lease_renew_interval_s": LEASE_RENEW_INTERVAL,
            "throughput": [asdict(row) for row in rows],
            "rebalance": asdict(rebalance) if rebalance is not None else None,
        }
        print(json.dumps(figures, indent=2))
    else:
        print(render(rows, rebalance, os.cpu_count() or 0))


if __name__ == "__main__":
    main()
