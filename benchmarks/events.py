"""External events into one instance: how many per second it takes in, and the storage calls each costs.

    python -m benchmarks.events                           # 500 events: a table
    python -m benchmarks.events --json                    # the same figures as JSON
    python -m benchmarks.events --events 2000 --per-execution 200 --senders 64
    python -m benchmarks.events --connection "$CONN"      # an Azurite (or account) already running

A fresh task hub (4 partitions) and one worker in this process with the default ``WorkerOptions``
(``max_polling_interval`` 1 s: ``--max-polling-interval`` to change it). After a warm-up instance that takes 5
events (not counted), one ``event_sink`` instance is started; it waits for the external event ``e`` M (``--events``)
times, one ``wait_for_external_event`` after another, and continues as new after every ``--per-execution`` (100)
events, carrying its count, so its history stays bounded (events that arrive meanwhile are carried into the next
execution). Right after its ``start_new`` the client raises the M events as fast as it can: ``--senders`` (32)
``raise_event`` calls in flight at once, each a read of the Instances row and a put on the instance's control queue.

Figures:

* ``seconds``: from the first ``raise_event`` to the instance's completion (its ``LastUpdatedTime``, written by the
  worker on this host's clock); ``events/s`` = M / seconds. ``send s``: until the last ``raise_event`` returned.
* storage calls per event, from :mod:`durable_storage.calls`: the client's ``raise_event`` calls (a counting scope
  around them), and the worker's calls (its own scope) from the start of the instance until its completion, plus
  0.3 s for the trailing deletes. The instance's ``start_new`` and the completion polls (every 0.1 s) are in
  neither.
* CPU ms per event: this process's CPU time (client and worker, one event loop) / M; Azurite's CPU seconds when
  this script started it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
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
from durable_storage.calls import counting

WARM_UP_EVENTS = 5
POLL = 0.1  # seconds between the client's completion checks
SETTLE = 0.3  # seconds after the end for the last checkpoint's trailing queue deletes to be counted
DF_TARGET = 50.0  # external events/s per instance: the Durable Functions target (performance.md §1.1)

app = df.App()


@app.orchestration_trigger(context_name="context")
def event_sink(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int | None]:
    """Takes ``per_execution`` events ``e`` per execution until ``target`` in all; returns how many it took."""
    state = context.get_input()
    seen, target = int(state["seen"]), int(state["target"])
    for _ in range(min(int(state["per_execution"]), target - seen)):
        yield context.wait_for_external_event("e")
        seen += 1
    if seen < target:
        # A bounded history: the next execution starts from RowKey 0 with the count so far.
        context.continue_as_new({**state, "seen": seen})
        return None
    return seen


@dataclass(frozen=True, slots=True)
class EventsResult:
    """The figures of one run."""

    events: int
    per_execution: int
    senders: int
    max_polling_interval_s: float
    seconds: float
    send_s: float
    events_per_s: float
    client_calls_per_event: float
    worker_calls_per_event: float
    calls_per_event: float
    client_calls: dict[str, float]  # per event, by "service operation"
    worker_calls: dict[str, float]
    cpu_ms_per_event: float
    cpu_s: float
    azurite_cpu_s: float | None
    delivered: int | None  # the count the instance returned (M when no event was lost)


async def _raise_all(client: df.DurableOrchestrationClient, instance: str, events: int, senders: int) -> None:
    gate = asyncio.Semaphore(senders)

    async def send(number: int) -> None:
        async with gate:
            await client.raise_event(instance, "e", number)

    await asyncio.gather(*(send(n) for n in range(events)))


async def _run_one(
    client: df.DurableOrchestrationClient, events: int, per_execution: int, senders: int, timeout: float
) -> tuple[float, float, Counter[tuple[str, str]], df.DurableOrchestrationStatus]:
    """Start one ``event_sink`` and raise the events.

    Returns time.time() at the first raise, the seconds the raises took, their storage calls and the final status.
    """
    instance = await client.start_new(
        "event_sink", client_input={"seen": 0, "target": events, "per_execution": per_execution}
    )
    first = time.time()
    sent = time.perf_counter()
    with counting() as raised:  # the gather's tasks copy this context: every raise_event is counted, nothing else
        await _raise_all(client, instance, events, senders)
    send_s = time.perf_counter() - sent
    (status,) = await until_ended(client, [instance], timeout=timeout, interval=POLL)
    return first, send_s, raised.snapshot(), status


async def measure(
    connection: str, events: int, *, per_execution: int, senders: int, max_polling_interval: float, timeout: float
) -> EventsResult:
    """A warm-up, then M events into one instance, on a fresh hub with one counted in-process worker."""
    options = df.WorkerOptions(max_polling_interval=max_polling_interval)
    async with fresh_client(connection, "events") as client, counted_worker(client, app, options) as (_, tally):
        progress(f"events: warm-up, {WARM_UP_EVENTS} events")
        await _run_one(client, WARM_UP_EVENTS, per_execution, senders, timeout)
        await asyncio.sleep(SETTLE)
        progress(f"events: {events} events into one instance, {senders} raise_event calls at once")
        before = tally.snapshot()
        meter = Meter()
        first, send_s, client_calls, status = await _run_one(client, events, per_execution, senders, timeout)
        span = meter.stop()
        await asyncio.sleep(SETTLE)
        worker_calls = tally.since(before)
    assert status.last_updated_time is not None
    seconds = status.last_updated_time.timestamp() - first
    completed = status.runtime_status is df.OrchestrationRuntimeStatus.Completed
    result = EventsResult(
        events=events,
        per_execution=per_execution,
        senders=senders,
        max_polling_interval_s=max_polling_interval,
        seconds=round(seconds, 3),
        send_s=round(send_s, 3),
        events_per_s=round(events / seconds, 1),
        client_calls_per_event=round(client_calls.total() / events, 2),
        worker_calls_per_event=round(worker_calls.total() / events, 2),
        calls_per_event=round((client_calls.total() + worker_calls.total()) / events, 2),
        client_calls=per_unit(client_calls, events),
        worker_calls=per_unit(worker_calls, events),
        cpu_ms_per_event=round(span.cpu_s * 1000 / events, 2),
        cpu_s=round(span.cpu_s, 2),
        azurite_cpu_s=round(span.azurite_cpu_s, 2) if span.azurite_cpu_s is not None else None,
        delivered=int(status.output) if completed and status.output is not None else None,
    )
    progress(f"events: {result.events_per_s} events/s, {result.calls_per_event} calls each")
    return result


def render(result: EventsResult) -> str:
    """The figures as plain text."""
    azurite = f"{result.azurite_cpu_s:.1f}" if result.azurite_cpu_s is not None else "-"
    delivered = str(result.delivered) if result.delivered is not None else "-"
    header = (
        f"{'events':>7} {'seconds':>8} {'send s':>7} {'events/s':>8} {'calls/event':>11} {'CPU ms/event':>12} "
        f"{'CPU s':>6} {'azurite CPU s':>13} {'delivered':>9}"
    )
    lines = [
        header,
        "-" * len(header),
        f"{result.events:>7,} {result.seconds:>8.2f} {result.send_s:>7.2f} {result.events_per_s:>8.1f} "
        f"{result.calls_per_event:>11.2f} {result.cpu_ms_per_event:>12.2f} {result.cpu_s:>6.1f} {azurite:>13} "
        f"{delivered:>9}",
        f"(one instance, continue-as-new every {result.per_execution} events, {result.senders} raise_event calls at "
        f"once; one in-process worker, 4 partitions, max polling interval {result.max_polling_interval_s:g} s; "
        f"{os.cpu_count()} CPUs on this host)",
        f"{result.events_per_s:.1f} events/s = {result.events_per_s / DF_TARGET:.1f}x the Durable Functions target "
        f"of {DF_TARGET:g} events/s per instance",
        "",
        *breakdown_lines({"worker": result.worker_calls, "client": result.client_calls}, "event"),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the figures."""
    parser = parser_for(__doc__)
    parser.add_argument("--events", type=int, default=500, metavar="M", help="raised into one instance (500)")
    parser.add_argument(
        "--per-execution", type=int, default=100, metavar="E", help="events before continue-as-new (100)"
    )
    parser.add_argument("--senders", type=int, default=32, metavar="S", help="raise_event calls at once (32)")
    add_run_options(parser, timeout=300.0)
    args = parser.parse_args(argv)
    if min(args.events, args.per_execution, args.senders) < 1:
        parser.error("--events, --per-execution and --senders must be at least 1")

    async def work(connection: str) -> EventsResult:
        return await measure(
            connection,
            args.events,
            per_execution=args.per_execution,
            senders=args.senders,
            max_polling_interval=args.max_polling_interval,
            timeout=args.timeout,
        )

    result = run_on_storage(args.connection, work)
    emit({"cpus": os.cpu_count(), **asdict(result)}, render(result), args.json)


if __name__ == "__main__":
    main()
