"""Fan-out/fan-in of one orchestration: 1,000 activities started at once with task_all, their results summed.

    python -m benchmarks.fan_out                          # 1,000 activities: a table
    python -m benchmarks.fan_out --json                   # the same figures as JSON
    python -m benchmarks.fan_out --activities 200
    python -m benchmarks.fan_out --connection "$CONN"     # an Azurite (or account) already running

A fresh task hub (4 partitions) and one worker in this process with the default ``WorkerOptions`` (at most 10
activities at once, ``max_polling_interval`` 1 s: ``--max-polling-interval`` to change it). Once the worker owns
every partition, a warm-up ``fan_out_sum`` of 10 activities runs (not counted); then one ``fan_out_sum`` of A
(``--activities``) ``identity`` activities: its first episode schedules all A with ``context.task_all`` (A work items
in one checkpoint), the results come back to its control queue and later episodes take them in batches until the
sum is returned and checked.

Figures:

* ``seconds``: from ``start_new`` to the completion (the instance's ``LastUpdatedTime``); ``activities/s`` = A /
  seconds. The instance is on one partition, so its fan-in runs on one control queue and one History partition.
* storage calls per activity, from :mod:`durable_storage.calls`: the worker's calls (the worker runs in a counting
  scope of its own; the client's status polls are outside it) from the start until the end, plus 0.3 s for the
  trailing deletes, / A, and by kind. The one ``start_new`` (3 calls) is not included.
* CPU ms per activity: this process's CPU time (worker, the activity thread pool and the completion polls every
  0.25 s) / A; Azurite's CPU seconds when this script started it.

Azurite's queue calls slow down as messages pile up in the account (performance.md §2.2): a fan-out of 1,000 puts
1,000 messages in the work-item queue at once, so this measures Azurite under that backlog as much as the worker.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import durable_storage as df
from benchmarks._bench import (
    Meter,
    add_run_options,
    breakdown_lines,
    counted_worker,
    emit,
    fresh_client,
    parser_for,
    per_unit,
    progress,
    run_on_storage,
    until_ended,
)

WARM_UP = 10
SETTLE = 0.3  # seconds after the end for the last checkpoint's trailing queue deletes to be counted

app = df.App()


@app.activity_trigger(input_name="number")
def identity(number: int) -> int:
    """A trivial activity: returns its input."""
    return number


@app.orchestration_trigger(context_name="context")
def fan_out_sum(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Calls ``identity`` for 0..A-1 at once and returns the sum of the results."""
    count = int(context.get_input())
    results = yield context.task_all([context.call_activity("identity", n) for n in range(count)])
    return sum(results)


@dataclass(frozen=True, slots=True)
class FanOutResult:
    """The figures of one fan-out."""

    activities: int
    max_polling_interval_s: float
    seconds: float
    detected_s: float
    activities_per_s: float
    calls_per_activity: float
    calls: dict[str, float]  # per activity, by "service operation"
    cpu_ms_per_activity: float
    cpu_s: float
    azurite_cpu_s: float | None
    correct: bool  # the orchestration completed with the expected sum


async def _run_one(client: df.DurableOrchestrationClient, count: int, timeout: float) -> df.DurableOrchestrationStatus:
    instance = await client.start_new("fan_out_sum", client_input=count)
    (status,) = await until_ended(client, [instance], timeout=timeout)
    return status


async def measure(connection: str, activities: int, *, max_polling_interval: float, timeout: float) -> FanOutResult:
    """A warm-up, then one fan-out of ``activities``, on a fresh hub with one counted in-process worker."""
    options = df.WorkerOptions(max_polling_interval=max_polling_interval)
    async with fresh_client(connection, "fanout") as client, counted_worker(client, app, options) as (_, tally):
        progress(f"fan_out: warm-up, {WARM_UP} activities")
        await _run_one(client, WARM_UP, timeout)
        await asyncio.sleep(SETTLE)
        progress(f"fan_out: one orchestration fanning out to {activities} activities")
        before = tally.snapshot()
        meter = Meter()
        started = time.time()
        status = await _run_one(client, activities, timeout)
        span = meter.stop()
        await asyncio.sleep(SETTLE)
        calls = tally.since(before)
    assert status.last_updated_time is not None
    seconds = status.last_updated_time.timestamp() - started
    result = FanOutResult(
        activities=activities,
        max_polling_interval_s=max_polling_interval,
        seconds=round(seconds, 3),
        detected_s=round(span.wall_s, 3),
        activities_per_s=round(activities / seconds, 1),
        calls_per_activity=round(calls.total() / activities, 2),
        calls=per_unit(calls, activities),
        cpu_ms_per_activity=round(span.cpu_s * 1000 / activities, 2),
        cpu_s=round(span.cpu_s, 2),
        azurite_cpu_s=round(span.azurite_cpu_s, 2) if span.azurite_cpu_s is not None else None,
        correct=status.runtime_status is df.OrchestrationRuntimeStatus.Completed
        and status.output == activities * (activities - 1) // 2,
    )
    progress(f"fan_out: {result.activities_per_s} activities/s, {result.calls_per_activity} calls each")
    return result


def render(result: FanOutResult) -> str:
    """The figures as plain text."""
    azurite = f"{result.azurite_cpu_s:.1f}" if result.azurite_cpu_s is not None else "-"
    header = (
        f"{'activities':>10} {'seconds':>8} {'detected s':>10} {'activities/s':>12} {'calls/activity':>14} "
        f"{'CPU ms/activity':>15} {'CPU s':>6} {'azurite CPU s':>13} {'correct':>7}"
    )
    lines = [
        header,
        "-" * len(header),
        f"{result.activities:>10,} {result.seconds:>8.2f} {result.detected_s:>10.2f} {result.activities_per_s:>12.1f} "
        f"{result.calls_per_activity:>14.2f} {result.cpu_ms_per_activity:>15.2f} {result.cpu_s:>6.1f} "
        f"{azurite:>13} {result.correct!s:>7}",
        f"(one orchestration, task_all; one in-process worker, 4 partitions, max polling interval "
        f"{result.max_polling_interval_s:g} s, {os.cpu_count()} CPUs on this host)",
        "",
        *breakdown_lines({"worker": result.calls}, "activity"),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure one fan-out and print the figures."""
    parser = parser_for(__doc__)
    parser.add_argument("--activities", type=int, default=1000, metavar="A", help="fanned out (default: 1000)")
    add_run_options(parser, timeout=600.0)
    args = parser.parse_args(argv)
    if args.activities < 1:
        parser.error("--activities must be at least 1")

    async def work(connection: str) -> FanOutResult:
        return await measure(
            connection, args.activities, max_polling_interval=args.max_polling_interval, timeout=args.timeout
        )

    result = run_on_storage(args.connection, work)
    emit({"cpus": os.cpu_count(), **asdict(result)}, render(result), args.json)


if __name__ == "__main__":
    main()
