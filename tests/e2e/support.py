"""Helpers of the end-to-end tests: worker options, history summaries, status waits, and worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import math
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, TaskHub, WorkerOptions
from durable_storage.testing import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1
# Crash-recovery timings of a worker process: a dead worker's leases expire and its messages reappear in seconds.
PROCESS_TIMINGS = {
    "--lease-interval": "4",
    "--lease-renew-interval": "1",
    "--control-queue-visibility": "5",
    "--work-item-visibility": "5",
}

History = Sequence[dict[str, Any]]


def fast_options(**changes: Any) -> WorkerOptions:
    """Worker options for tests: short polling and lease intervals (the defaults suit production)."""
    return WorkerOptions(**{"max_polling_interval": 0.2, "lease_renew_interval": 1, "lease_interval": 5, **changes})


def events(history: History, event_type: str) -> list[dict[str, Any]]:
    """The events of one type in a history from ``client.get_history``, in order."""
    return [event for event in history if event["EventType"] == event_type]


def names(history: History, event_type: str = "TaskScheduled") -> list[str]:
    """The ``Name`` of each event of one type: by default, the activities scheduled, in order."""
    return [event["Name"] for event in events(history, event_type)]


async def output_of_run(
    client: DurableOrchestrationClient, name: str, client_input: Any, *, timeout: float = 60
) -> Any:
    """Start orchestration ``name`` with ``client_input``, wait for it to complete, and return its output."""
    instance_id = await client.start_new(name, client_input=client_input)
    status = await client.wait_for_completion(instance_id, timeout=timeout, poll_interval=0.1)
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    return status.output


async def reaches(client: DurableOrchestrationClient, instance_id: str, status: OrchestrationRuntimeStatus) -> None:
    """Wait until the instance's status is ``status``."""

    async def there() -> bool:
        return (await client.get_status(instance_id)).runtime_status is status

    await wait_until(there, timeout=20, what=f"{instance_id} to be {status.name}")


def die_with_parent() -> None:
    """In a child process before exec: a test run that dies (even by SIGKILL) takes the child with it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


async def run_program(*command: str, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str, str]:
    """Run ``command`` to its end (within ``timeout`` seconds): its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout)
    return process.returncode, stdout.decode(), stderr.decode()


class WorkerProcess:
    """A ``python -m durable_storage worker`` process; its stdout and stderr go to ``log``."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def running(self, timeout: float = 30) -> str:
        """Wait until the worker says it runs; returns its worker ID."""

        async def announced() -> str | None:
            assert self.process.poll() is None, f"the worker process exited early:\n{self.output}"
            for line in self.output.splitlines():
                if line.startswith("worker ") and " running on task hub " in line:
                    return line.split()[1]
            return None

        return await wait_until(announced, timeout=timeout, what="the worker process to start")

    async def exited(self, timeout: float = 30) -> int:
        """Wait for the process to exit; returns its exit code."""

        async def has_exited() -> bool:
            return self.process.poll() is not None

        await wait_until(has_exited, timeout=timeout, what="the worker process to exit")
        return self.process.returncode


def start_worker_process(
    connection: str,
    hub: TaskHub,
    log: Path,
    environment: dict[str, str],
    options: Sequence[str] = (),
    *,
    timings: dict[str, str] | None = None,
) -> WorkerProcess:
    """A ``python -m durable_storage worker tests.e2e.apps:app`` process on ``hub`` with ``timings``.

    It reaches storage through ``connection``, runs with ``environment`` added to ours and the worker ``options``
    (such as ``--crash-at C2:3``), and writes to ``log``. ``timings`` are its command-line timing options:
    PROCESS_TIMINGS unless given (``{}``: WorkerOptions' defaults).
    """
    command = [
        sys.executable,
        *("-m", "durable_storage", "--connection", connection, "--task-hub", hub.name),
        *("--partition-count", str(hub.partition_count), "worker", "tests.e2e.apps:app"),
        *(item for pair in (PROCESS_TIMINGS if timings is None else timings).items() for item in pair),
        *options,
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    return WorkerProcess(process, log)


def stop_for_good(worker: WorkerProcess) -> None:
    """Kill the process if it still runs, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        worker.process.kill()
    worker.process.wait(10)


# --- scale-out: who owns and who dequeues each partition ----------------------------------------------------------


async def settles(hub: TaskHub, workers: set[str], *, timeout: float = 30) -> None:
    """Wait until exactly ``workers`` own the hub's partitions, ⌊P/W⌋ or ⌈P/W⌉ each, with no handover under way."""
    share = len(await hub.partitions.read_all()) / len(workers)
    allowed = {math.floor(share), math.ceil(share)}

    async def balanced() -> bool:
        leases = await hub.partitions.read_all()
        if any(lease.next_owner or lease.is_draining or lease.current_owner not in workers for lease in leases):
            return False
        counts = Counter(lease.current_owner for lease in leases)
        return set(counts) == workers and set(counts.values()) <= allowed

    await wait_until(balanced, timeout=timeout, interval=0.1, what=f"the partitions to settle on {sorted(workers)}")


@dataclass(frozen=True)
class Listening:
    """One worker's dequeue loop on one control queue, from the trace: from its start to its end (or death)."""

    worker: str
    queue: str
    start: float
    end: float


def read_trace(path: Path) -> list[dict[str, Any]]:
    """The dequeue events that worker processes recorded (``worker --dequeue-trace``), in time order."""
    lines = path.read_text().splitlines() if path.exists() else []
    return sorted((json.loads(line) for line in lines), key=lambda event: float(event["t"]))


def listening(trace: list[dict[str, Any]], *, died: dict[str, float] | None = None) -> list[Listening]:
    """The dequeue loops in ``trace``; a loop still open ends when its worker ``died`` (or never)."""
    spans: list[Listening] = []
    open_loops: dict[tuple[str, str], float] = {}
    for event in trace:
        key = (event["worker"], event["queue"])
        if event["event"] == "listen":
            open_loops[key] = event["t"]
        elif event["event"] == "stop" and key in open_loops:
            spans.append(Listening(*key, open_loops.pop(key), event["t"]))
    for (worker, queue), start in open_loops.items():
        spans.append(Listening(worker, queue, start, (died or {}).get(worker, math.inf)))
    return spans


def overlaps(spans: list[Listening]) -> list[tuple[Listening, Listening]]:
    """Pairs of loops of different workers on the same queue that ran at the same time (there must be none)."""
    return [
        (one, other)
        for one in spans
        for other in spans
        if one.queue == other.queue and one.worker < other.worker and one.start < other.end and other.start < one.end
    ]


def chain_output(instance_id: str, steps: int) -> list[str]:
    """What ``apps.ledger_chain`` returns for ``steps`` steps: each step's ``ledgered`` result, in order."""
    return [f"{instance_id}/{step}".upper() for step in range(steps)]


def ledger_counts(path: Path) -> Counter[str]:
    """How often each ``ledgered`` step ran, from the ledger file the worker processes append to."""
    return Counter(path.read_text().splitlines() if path.exists() else [])
