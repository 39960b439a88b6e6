"""Shared helpers of hello_cities, storage_floor, fan_out, sequence and events: storage, hubs, meters, output.

Each of those scripts measures one in-process worker (or, for storage_floor, the Azure SDK alone) against a fresh
Azurite (or ``--connection``), on a fresh task hub that is deleted afterwards: Azurite slows down as stored and
consumed messages pile up (performance.md §2.2), so no measurement may inherit another's.

Storage calls are counted with :mod:`durable_storage.calls`. The worker is started inside a task of its own under a
``counting()`` scope (:func:`counted_worker`): its tasks inherit that scope, while the benchmark's own status polls,
made from the main task, stay out of it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import durable_storage as df
from benchmarks.scale import azurite_pid, cpu_seconds, storage
from durable_storage.calls import StorageCalls, counting
from durable_storage.testing import unique_hub_name

__all__ = [
    "Meter",
    "Span",
    "breakdown_lines",
    "counted_worker",
    "emit",
    "fresh_client",
    "last_update",
    "parser_for",
    "per_unit",
    "percentile",
    "progress",
    "run_on_storage",
    "until_ended",
]

T = TypeVar("T")

OWN_TIMEOUT = 60.0  # the longest a new worker may take to own every partition
_OPEN = [
    df.OrchestrationRuntimeStatus.Pending,
    df.OrchestrationRuntimeStatus.Running,
    df.OrchestrationRuntimeStatus.ContinuedAsNew,
    df.OrchestrationRuntimeStatus.Suspended,
]
_STARTED = time.perf_counter()


# --- progress and statistics ----------------------------------------------------------------------------------------


def progress(message: str) -> None:
    """One progress line on stderr, stamped with the seconds since the script started (stdout stays for figures)."""
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.5 = the median)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def per_unit(calls: Mapping[tuple[str, str], int], units: int) -> dict[str, float]:
    """Calls per unit of work by ``"service operation"``, most frequent first."""
    ordered = sorted(calls.items(), key=lambda item: (-item[1], item[0]))
    return {f"{service} {operation}": round(count / units, 3) for (service, operation), count in ordered}


def breakdown_lines(columns: Mapping[str, Mapping[str, float]], unit: str) -> list[str]:
    """A table of calls per ``unit`` by operation (rows) and scope (columns), with a total row."""
    operations = list(dict.fromkeys(op for column in columns.values() for op in column))
    header = f"{'calls per ' + unit:<32}" + "".join(f"{name:>14}" for name in columns)
    lines = [header, "-" * len(header)]
    for operation in operations:
        lines.append(
            f"{operation:<32}" + "".join(f"{column.get(operation, 0.0):>14.2f}" for column in columns.values())
        )
    lines.append(f"{'total':<32}" + "".join(f"{sum(column.values()):>14.2f}" for column in columns.values()))
    return lines


# --- CPU and wall time ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """Wall seconds, this process's CPU seconds and (when this script started it) Azurite's CPU seconds."""

    wall_s: float
    cpu_s: float
    azurite_cpu_s: float | None


class Meter:
    """Measures a :class:`Span` from its creation until :meth:`stop`."""

    def __init__(self) -> None:
        self._azurite = azurite_pid()  # None with --connection: that Azurite is not our child
        self._azurite_before = self._azurite_cpu()
        self._cpu = time.process_time()  # all threads of this process: the worker's activity pool included
        self._wall = time.perf_counter()

    def _azurite_cpu(self) -> float | None:
        if self._azurite is None:
            return None
        with contextlib.suppress(OSError):
            return cpu_seconds(self._azurite)
        return None

    def elapsed(self) -> float:
        return time.perf_counter() - self._wall

    def stop(self) -> Span:
        wall = self.elapsed()
        cpu = time.process_time() - self._cpu
        after = self._azurite_cpu()
        before = self._azurite_before
        azurite = after - before if after is not None and before is not None else None
        return Span(wall, cpu, azurite)


# --- storage, hubs, the worker --------------------------------------------------------------------------------------


def run_on_storage(connection: str | None, work: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """``work(connection string)`` in a new event loop, on ``connection`` or on a fresh Azurite stopped after."""
    with storage(connection) as conn:
        return asyncio.run(work(conn))


@contextlib.asynccontextmanager
async def fresh_client(
    connection: str, prefix: str, partitions: int = 4
) -> AsyncIterator[df.DurableOrchestrationClient]:
    """A client of a new task hub (created here, deleted on the way out)."""
    client = df.DurableOrchestrationClient.from_connection_string(
        connection, task_hub=unique_hub_name(prefix), partition_count=partitions
    )
    try:
        await client.task_hub.create_if_not_exists()
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.task_hub.delete()
        await client.close()


async def _start_counted(worker: df.Worker) -> StorageCalls:
    # The worker's tasks are created by start() and copy this task's context, scope included: they keep counting
    # into the tally after this block (and this task) has ended.
    with counting() as tally:
        await worker.start()
    return tally


@contextlib.asynccontextmanager
async def counted_worker(
    client: df.DurableOrchestrationClient, app: df.App, options: df.WorkerOptions
) -> AsyncIterator[tuple[df.Worker, StorageCalls]]:
    """A worker in this process, owning every partition, and the tally of its storage calls (and only of its)."""
    worker = df.Worker(client, app, options=options)
    try:
        tally = await asyncio.create_task(_start_counted(worker))
        hub = client.task_hub
        deadline = time.monotonic() + OWN_TIMEOUT
        while True:
            leases = await hub.partitions.read_all()
            if len(leases) == hub.partition_count and all(lease.current_owner == worker.worker_id for lease in leases):
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the worker did not own every partition of {hub.name} within {OWN_TIMEOUT:g} s")
            await asyncio.sleep(0.05)
        yield worker, tally
    finally:
        await worker.close()


async def until_ended(
    client: df.DurableOrchestrationClient, ids: Collection[str], *, timeout: float, interval: float = 0.25
) -> list[df.DurableOrchestrationStatus]:
    """Wait until every instance of ``ids`` has ended; returns their statuses.

    Each poll queries the Instances rows still open (Pending, Running, ...), a shrinking answer, rather than the
    ended ones, whose decoding would cost this process more CPU the further the run gets.
    """
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        still_open = [s for s in await client.get_status_by(runtime_status=_OPEN) if s.instance_id in wanted]
        if not still_open:
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{len(still_open)} of {len(wanted)} instances still open after {timeout:g} s")
        await asyncio.sleep(interval)
    return [s for s in await client.get_status_by() if s.instance_id in wanted]


def last_update(statuses: Sequence[df.DurableOrchestrationStatus]) -> float:
    """The latest LastUpdatedTime of ``statuses`` as a POSIX time (the worker's clock: this host's)."""
    return max(s.last_updated_time.timestamp() for s in statuses if s.last_updated_time is not None)


# --- command line and output ----------------------------------------------------------------------------------------


def parser_for(doc: str | None) -> argparse.ArgumentParser:
    """A parser with the options every one of these scripts takes: ``--connection`` and ``--json``."""
    parser = argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--connection", metavar="CONN", help="a storage connection string (default: start Azurite)")
    return parser


def add_run_options(parser: argparse.ArgumentParser, *, timeout: float, timeout_help: str = "for the run") -> None:
    """The options of a benchmark that runs one in-process worker: its longest poll wait, and the run's deadline."""
    parser.add_argument(
        "--max-polling-interval", type=float, default=1.0, metavar="SECONDS", help="the worker's (default: 1)"
    )
    parser.add_argument(
        "--timeout", type=float, default=timeout, metavar="SECONDS", help=f"{timeout_help} (default: {timeout:g})"
    )


def emit(figures: Mapping[str, Any], table: str, as_json: bool) -> None:
    """The figures on stdout: one JSON document, or the plain-text table."""
    print(json.dumps(figures, indent=2) if as_json else table)
