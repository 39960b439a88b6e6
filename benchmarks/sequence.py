"""Latency of sequential steps at low load: one orchestration calling K trivial activities one after another.

    python -m benchmarks.sequence                         # 3 runs of 50 steps: a table
    python -m benchmarks.sequence --json                  # the same figures as JSON
    python -m benchmarks.sequence --steps 100 --runs 5
    python -m benchmarks.sequence --max-polling-interval 0.05 # poll idle queues every 50 ms
    python -m benchmarks.sequence --connection "$CONN"    # an Azurite (or account) already running

A fresh task hub (4 partitions) and one worker in this process with the default ``WorkerOptions``
(``max_polling_interval`` 1 s, ``--max-polling-interval`` to change it; ``min_polling_interval`` 0.05 s). In one
process the worker wakes a queue's poller itself when it sends to that queue, so steps do not wait for a poll; the
first step does (the queue was idle), which ``first step`` shows. With separate worker processes a message from
another process waits for the receiver's next poll, up to the interval.

After a warm-up run of 5 steps (not counted), R (``--runs``) ``stamped_sequence`` orchestrations run one at a
time, each calling the ``stamp`` activity K (``--steps``) times in sequence; ``stamp`` returns ``time.time()`` at
the moment it runs, and the orchestration returns those stamps. One step is the time between two consecutive
stamps: the activity's result put on the control queue, received, the orchestrator replayed and checkpointed (the
History batch, the Instances row, the next activity message), that message received and the next activity run.
K-1 steps per run, R(K-1) in all; the percentiles are nearest-rank over all of them.

Also: ``first step`` (mean over runs): from the call to ``start_new`` to the first stamp (the client's start and the
first episode); ``last step``: from the last stamp to the orchestration's completion (its ``LastUpdatedTime``; an
episode's start time, so it leaves out that last checkpoint's own write). Storage calls per step: the worker's
calls over the R runs (its own counting scope; the client's status polls every 0.05 s are outside it) / (R K),
idle polls included. CPU ms per step: this process's CPU time over the runs / (R K).
"""

from __future__ import annotations

import itertools
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
    percentile,
    progress,
    run_on_storage,
    until_ended,
)

WARM_UP_STEPS = 5
POLL = 0.05  # seconds between the client's completion checks (outside the counted scope)
TARGET_P50_MS = 40.0  # the target per step on Azurite

app = df.App()


@app.activity_trigger(input_name="step")
def stamp(step: int) -> float:
    """When this step's activity ran (this host's clock)."""
    return time.time()


@app.orchestration_trigger(context_name="context")
def stamped_sequence(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[float]]:
    """Calls ``stamp`` K times in sequence; returns the K stamps."""
    stamps = []
    for step in range(int(context.get_input())):
        stamps.append((yield context.call_activity("stamp", step)))
    return stamps


@dataclass(frozen=True, slots=True)
class SequenceResult:
    """The figures of R runs of K steps."""

    runs: int
    steps_per_run: int
    max_polling_interval_s: float
    steps_measured: int  # R (K - 1)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    first_step_ms: float
    last_step_ms: float
    calls_per_step: float
    calls: dict[str, float]  # per step, by "service operation"
    cpu_ms_per_step: float
    azurite_cpu_s: float | None
    failures: int


async def _run_one(
    client: df.DurableOrchestrationClient, steps: int, timeout: float
) -> tuple[float, df.DurableOrchestrationStatus]:
    """One run; returns (time.time() before start_new, the final status)."""
    called = time.time()
    instance = await client.start_new("stamped_sequence", client_input=steps)
    (status,) = await until_ended(client, [instance], timeout=timeout, interval=POLL)
    return called, status


async def measure(
    connection: str, runs: int, steps: int, *, max_polling_interval: float, timeout: float
) -> SequenceResult:
    """The warm-up, then R runs one at a time, on a fresh hub with one counted in-process worker."""
    options = df.WorkerOptions(max_polling_interval=max_polling_interval)
    gaps: list[float] = []
    firsts: list[float] = []
    lasts: list[float] = []
    failures = 0
    async with fresh_client(connection, "sequence") as client, counted_worker(client, app, options) as (_, tally):
        progress(f"sequence: warm-up, {WARM_UP_STEPS} steps")
        await _run_one(client, WARM_UP_STEPS, timeout)
        before = tally.snapshot()
        meter = Meter()
        for run in range(runs):
            called, status = await _run_one(client, steps, timeout)
            stamps = status.output
            if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed or len(stamps) != steps:
                failures += 1
                continue
            run_gaps = [(later - earlier) * 1000 for earlier, later in itertools.pairwise(stamps)]
            gaps += run_gaps
            firsts.append((stamps[0] - called) * 1000)
            assert status.last_updated_time is not None
            lasts.append((status.last_updated_time.timestamp() - stamps[-1]) * 1000)
            progress(f"sequence: run {run + 1}/{runs}, p50 {percentile(run_gaps, 0.5):.1f} ms per step")
        span = meter.stop()
        calls = tally.since(before)
    total_steps = runs * steps
    if not gaps:
        raise RuntimeError(f"none of the {runs} runs completed")
    return SequenceResult(
        runs=runs,
        steps_per_run=steps,
        max_polling_interval_s=max_polling_interval,
        steps_measured=len(gaps),
        p50_ms=round(percentile(gaps, 0.50), 1),
        p90_ms=round(percentile(gaps, 0.90), 1),
        p99_ms=round(percentile(gaps, 0.99), 1),
        max_ms=round(max(gaps), 1),
        mean_ms=round(sum(gaps) / len(gaps), 1),
        first_step_ms=round(sum(firsts) / len(firsts), 1),
        last_step_ms=round(sum(lasts) / len(lasts), 1),
        calls_per_step=round(calls.total() / total_steps, 2),
        calls=per_unit(calls, total_steps),
        cpu_ms_per_step=round(span.cpu_s * 1000 / total_steps, 2),
        azurite_cpu_s=round(span.azurite_cpu_s, 2) if span.azurite_cpu_s is not None else None,
        failures=failures,
    )


def render(result: SequenceResult) -> str:
    """The figures as plain text."""
    azurite = f"{result.azurite_cpu_s:.1f}" if result.azurite_cpu_s is not None else "-"
    header = (
        f"{'steps':>6} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'mean ms':>7} {'first ms':>8} "
        f"{'last ms':>7} {'calls/step':>10} {'CPU ms/step':>11} {'azurite CPU s':>13} {'failures':>8}"
    )
    lines = [
        header,
        "-" * len(header),
        f"{result.steps_measured:>6} {result.p50_ms:>7.1f} {result.p90_ms:>7.1f} {result.p99_ms:>7.1f} "
        f"{result.max_ms:>7.1f} {result.mean_ms:>7.1f} {result.first_step_ms:>8.1f} {result.last_step_ms:>7.1f} "
        f"{result.calls_per_step:>10.2f} {result.cpu_ms_per_step:>11.2f} {azurite:>13} {result.failures:>8}",
        f"({result.runs} runs of {result.steps_per_run} sequential activities, one at a time; one in-process worker, "
        f"4 partitions, max polling interval {result.max_polling_interval_s:g} s; {os.cpu_count()} CPUs on this host)",
        f"p50 per step {result.p50_ms:.1f} ms (issue target: <= {TARGET_P50_MS:g} ms on Azurite)",
        "",
        *breakdown_lines({"worker": result.calls}, "step"),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the runs and print the figures."""
    parser = parser_for(__doc__)
    parser.add_argument("--steps", type=int, default=50, metavar="K", help="activities per run (default: 50)")
    parser.add_argument("--runs", type=int, default=3, metavar="R", help="orchestrations, one at a time (default: 3)")
    add_run_options(parser, timeout=300.0, timeout_help="per run")
    args = parser.parse_args(argv)
    if args.steps < 2 or args.runs < 1:
        parser.error("--steps must be at least 2 and --runs at least 1")

    async def work(connection: str) -> SequenceResult:
        return await measure(
            connection, args.runs, args.steps, max_polling_interval=args.max_polling_interval, timeout=args.timeout
        )

    result = run_on_storage(args.connection, work)
    emit({"cpus": os.cpu_count(), **asdict(result)}, render(result), args.json)


if __name__ == "__main__":
    main()
