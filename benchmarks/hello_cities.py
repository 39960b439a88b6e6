"""HelloCities5 throughput of one in-process worker, with the storage calls and the CPU each orchestration costs.

    python -m benchmarks.hello_cities                        # 200 orchestrations: a table
    python -m benchmarks.hello_cities --json                 # the same figures as JSON
    python -m benchmarks.hello_cities --orchestrations 500 --warm-up 20
    python -m benchmarks.hello_cities --connection "$CONN"   # an Azurite (or account) already running

A fresh task hub (4 partitions) and one worker in this process with the default ``WorkerOptions``: the polling
interval stays at its default (``max_polling_interval`` 1 s, ``--max-polling-interval`` to change it), because under
load the queues are rarely idle and the worker wakes a queue's poller itself whenever it sends to that queue; the
interval mostly decides how many empty polls the idle moments cost, which is part of what is measured.

Once the worker owns every partition, ``--warm-up`` orchestrations run to completion first and are not counted (they
pay the first-use costs: the client's hub check, connection set-up, code paths). Then N (``--orchestrations``)
``hello_cities5`` orchestrations, each calling the ``say_hello`` activity for five cities in sequence, are started
at once (``start_new`` calls 50 at a time), and the script waits until all have ended.

Figures:

* ``seconds``: from the first ``start_new`` to the last completion, the latest ``LastUpdatedTime`` of the N Instances
  rows (written by the worker, on this host's clock). ``detected s`` is when the polling noticed it.
* ``HelloCities5/s`` = N / seconds; ``activities/s`` = 5 N / seconds.
* storage calls per orchestration, from :mod:`durable_storage.calls`: the *worker* scope (every request of the
  worker's tasks from the first start until all N ended, plus 0.3 s for the deletes that follow the last
  checkpoints: leases and idle polls included, as on a bill) and the *client* scope (the N ``start_new`` calls).
  The completion polls (an Instances query every second from the main task) are in neither scope.
* CPU ms per orchestration: this process's CPU time (``time.process_time()``: worker, client starts and the
  completion polls, one event loop and the activity thread pool) from the first start until the end was
  noticed, / N; Azurite's, from ``/proc/<pid>/stat``, when this script started it.

The per-orchestration call mix (worker + client scopes) is also written to ``--mix-out`` (default
``benchmarks/.last_mix.json``, not tracked) for ``benchmarks.storage_floor``, which replays it with the SDK alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import durable_storage as df
from benchmarks._bench import (
    Meter,
    add_run_options,
    breakdown_lines,
    counted_worker,
    emit,
    fresh_client,
    last_update,
    parser_for,
    per_unit,
    progress,
    run_on_storage,
    until_ended,
)
from durable_storage.calls import counting

CITIES = ("Tokyo", "Seattle", "London", "Paris", "Cairo")
EXPECTED = [f"Hello {city}!" for city in CITIES]
COMPLETION_POLL = 1.0  # seconds between the completion checks (outside every counting scope)
START_CHUNK = 50  # start_new calls in flight at once
SETTLE = 0.3  # seconds after the end for the last checkpoints' trailing queue deletes to be counted
DEFAULT_MIX = Path(__file__).with_name(".last_mix.json")

app = df.App()


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    """A trivial activity: the benchmark measures the plumbing around it."""
    return f"Hello {city}!"


# The same orchestration with say_hello as a local activity (activity_trigger(local=True)): --local.
local_app = df.App()
local_app.activity_trigger(input_name="city", local=True)(say_hello)


@local_app.orchestration_trigger(context_name="context")
@app.orchestration_trigger(context_name="context")
def hello_cities5(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[str]]:
    """Five activity calls in sequence (Microsoft's HelloCities5)."""
    greetings = []
    for city in CITIES:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@dataclass(frozen=True, slots=True)
class HelloResult:
    """The figures of one run."""

    orchestrations: int
    warm_up: int
    max_polling_interval_s: float
    local_activities: bool
    seconds: float
    detected_s: float
    orchestrations_per_s: float
    activities_per_s: float
    worker_calls_per_orchestration: float
    client_calls_per_orchestration: float
    calls_per_orchestration: float
    worker_calls: dict[str, float]  # per orchestration, by "service operation"
    client_calls: dict[str, float]
    mix: dict[str, float]  # worker + client, per orchestration
    cpu_ms_per_orchestration: float
    cpu_s: float
    azurite_cpu_s: float | None
    failures: int


async def _start_all(client: df.DurableOrchestrationClient, count: int) -> list[str]:
    ids: list[str] = []
    for first in range(0, count, START_CHUNK):
        size = min(START_CHUNK, count - first)
        ids += await asyncio.gather(*(client.start_new("hello_cities5") for _ in range(size)))
    return ids


def _failures(statuses: Sequence[df.DurableOrchestrationStatus]) -> int:
    return sum(
        1 for s in statuses if s.runtime_status is not df.OrchestrationRuntimeStatus.Completed or s.output != EXPECTED
    )


async def measure(
    connection: str,
    orchestrations: int,
    *,
    warm_up: int = 10,
    max_polling_interval: float = 1.0,
    timeout: float = 600,
    local: bool = False,
) -> HelloResult:
    """Run the warm-up, then the N measured orchestrations, on a fresh hub with one counted in-process worker.

    ``local``: say_hello runs as a local activity, inside the orchestration's episode.
    """
    options = df.WorkerOptions(max_polling_interval=max_polling_interval)
    chosen = local_app if local else app
    async with (
        fresh_client(connection, "hello") as client,
        counted_worker(client, chosen, options) as (_, worker_tally),
    ):
        if warm_up:
            progress(f"hello_cities: warm-up, {warm_up} orchestrations")
            await until_ended(client, await _start_all(client, warm_up), timeout=timeout)
            await asyncio.sleep(SETTLE)
        progress(f"hello_cities: {orchestrations} HelloCities5 orchestrations")
        worker_before = worker_tally.snapshot()
        meter = Meter()
        first_start = time.time()
        with counting() as client_tally:  # the gather's tasks copy this context: each start_new is counted
            ids = await _start_all(client, orchestrations)
        progress(f"hello_cities: all started after {meter.elapsed():.1f} s")
        # Polled once a second: each poll decodes the rows still open in this process, whose CPU is measured with
        # the worker's; the wall time comes from the rows' LastUpdatedTime, not from when the poll noticed.
        statuses = await until_ended(client, ids, timeout=timeout, interval=COMPLETION_POLL)
        span = meter.stop()
        await asyncio.sleep(SETTLE)
        worker_calls = worker_tally.since(worker_before)
    seconds = last_update(statuses) - first_start
    client_calls = client_tally.snapshot()
    n = orchestrations
    result = HelloResult(
        orchestrations=n,
        warm_up=warm_up,
        max_polling_interval_s=max_polling_interval,
        local_activities=local,
        seconds=round(seconds, 3),
        detected_s=round(span.wall_s, 3),
        orchestrations_per_s=round(n / seconds, 2),
        activities_per_s=round(n * len(CITIES) / seconds, 1),
        worker_calls_per_orchestration=round(worker_calls.total() / n, 2),
        client_calls_per_orchestration=round(client_calls.total() / n, 2),
        calls_per_orchestration=round((worker_calls.total() + client_calls.total()) / n, 2),
        worker_calls=per_unit(worker_calls, n),
        client_calls=per_unit(client_calls, n),
        mix=per_unit(worker_calls + client_calls, n),
        cpu_ms_per_orchestration=round(span.cpu_s * 1000 / n, 2),
        cpu_s=round(span.cpu_s, 2),
        azurite_cpu_s=round(span.azurite_cpu_s, 2) if span.azurite_cpu_s is not None else None,
        failures=_failures(statuses),
    )
    progress(f"hello_cities: {result.orchestrations_per_s} HelloCities5/s, {result.calls_per_orchestration} calls each")
    return result


def write_mix(result: HelloResult, path: Path) -> None:
    """The per-orchestration call mix, as benchmarks.storage_floor reads it."""
    document = {
        "source": "benchmarks.hello_cities",
        "orchestrations": result.orchestrations,
        "per_orchestration": result.mix,
        "worker": result.worker_calls,
        "client": result.client_calls,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    progress(f"hello_cities: call mix written to {path}")


def render(result: HelloResult) -> str:
    """The figures as plain text."""
    azurite = f"{result.azurite_cpu_s:.1f}" if result.azurite_cpu_s is not None else "-"
    header = (
        f"{'orchestrations':>14} {'seconds':>8} {'detected s':>10} {'HelloCities5/s':>14} {'activities/s':>12} "
        f"{'calls/orch':>10} {'CPU ms/orch':>11} {'CPU s':>6} {'azurite CPU s':>13} {'failures':>8}"
    )
    lines = [
        header,
        "-" * len(header),
        f"{result.orchestrations:>14,} {result.seconds:>8.2f} {result.detected_s:>10.2f} "
        f"{result.orchestrations_per_s:>14.2f} {result.activities_per_s:>12.1f} "
        f"{result.calls_per_orchestration:>10.2f} "
        f"{result.cpu_ms_per_orchestration:>11.1f} {result.cpu_s:>6.1f} {azurite:>13} {result.failures:>8}",
        f"(one in-process worker, 4 partitions, max polling interval {result.max_polling_interval_s:g} s, "
        f"{'local activities, ' if result.local_activities else ''}"
        f"{result.warm_up} warm-up orchestrations not counted, {os.cpu_count()} CPUs on this host)",
        "",
    ]
    columns = {"worker": result.worker_calls, "client start": result.client_calls, "total": result.mix}
    lines += breakdown_lines(columns, "orchestration")
    return "\n".join(lines)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of the HelloCities5 run (storage_floor --run-hello takes them too)."""
    parser.add_argument("--orchestrations", type=int, default=200, metavar="N", help="measured (default: 200)")
    parser.add_argument("--warm-up", type=int, default=10, metavar="W", help="not counted (default: 10)")
    add_run_options(parser, timeout=600.0)


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.orchestrations < 1 or args.warm_up < 0:
        parser.error("--orchestrations must be at least 1 and --warm-up at least 0")


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the figures; write the call mix."""
    parser = parser_for(__doc__)
    add_options(parser)
    parser.add_argument("--mix-out", type=Path, default=DEFAULT_MIX, metavar="PATH", help=f"default: {DEFAULT_MIX}")
    parser.add_argument(
        "--local", action="store_true", help="say_hello as a local activity (activity_trigger(local=True))"
    )
    args = parser.parse_args(argv)
    check_options(parser, args)

    async def work(connection: str) -> HelloResult:
        return await measure(
            connection,
            args.orchestrations,
            warm_up=args.warm_up,
            max_polling_interval=args.max_polling_interval,
            timeout=args.timeout,
            local=args.local,
        )

    result = run_on_storage(args.connection, work)
    write_mix(result, args.mix_out)
    emit({"cpus": os.cpu_count(), **asdict(result)}, render(result), args.json)


if __name__ == "__main__":
    main()
