"""Durable entity throughput on one in-process worker: operations/s on one hot entity and on 100, call latency.

    python -m benchmarks.entities                       # every case, 2000 operations each: a table
    python -m benchmarks.entities --json                # the same figures as JSON
    python -m benchmarks.entities --operations 200      # a quick run
    python -m benchmarks.entities --orchestrations 20 --calls 50 --entities 100
    python -m benchmarks.entities --connection "$CONN"  # an Azurite (or account) already running

Cases (N = ``--operations``), each on a fresh task hub with ``--partitions`` partitions and one worker running in
this process (``max_polling_interval`` 0.1 s), started once it owns every partition:

* ``hot entity, client signals``: N ``add`` signals (input 1) from the client to ``counter@hot``, sent concurrently
  in chunks of 100; timed from the first send until ``read_entity_state`` (polled every 0.1 s) shows N.
* ``hot entity, M orchestrations' signals``: M (``--orchestrations``) ``signal_counter`` orchestrations, each sending
  N/M ``add`` signals to ``counter@hot`` with ``context.signal_entity``; timed from the first start until the
  counter shows N.
* ``E entities, client signals``: the same N signals spread round-robin over E (``--entities``) counters ``e000``,
  ``e001``, ...; timed until every counter shows its share (one paged ``list_entities`` query per poll: a
  request per 100 entities, whose decoding counts in ``CPU s``).
* ``call_entity, sequential``: one ``call_counter`` orchestration that calls ``get`` on a counter K (``--calls``)
  times in a row. Its seconds are the orchestration's own, from its Instances row (created to last updated). The
  per-call figures come from the orchestration itself: ``context.current_utc_datetime`` after each call is the
  start of the episode that received the answer, so the difference between two of them is one call's round trip
  (the caller's checkpoint and send, the entity's batch, the answer's delivery); ``mean`` is total / K. Its
  ``final`` is the number of calls that returned.

Once a counter reaches its target the case waits for the control queues to empty (at most 30 s) and reads the
counters again: ``final`` must equal ``expected``. More would mean a duplicated operation, less a lost one. A case
that does not reach its target within ``--timeout`` s fails with the counters it did reach.

``CPU s`` is this process's CPU time (``time.process_time()``) over the timed part, client and worker together
(one event loop); ``azurite CPU s`` that of the Azurite this script started. ``log warnings`` counts the warning
and error records logged meanwhile (they are printed to stderr).

Without ``--connection`` every case gets an Azurite of its own: Azurite 3.35's in-memory queue service pauses all
its services for 20-30 s when it collects the extents of a few thousand consumed messages (see
``benchmarks/scale.py``), and a case must not pay for the messages of the one before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import durable_storage as df
from benchmarks.scale import azurite_pid, cpu_seconds, storage, wait_for
from durable_storage.testing import unique_hub_name

SIGNAL_CHUNK = 100  # signals (or starts) sent at once
STATE_POLL = 0.1  # seconds between state reads while a case runs
MAX_POLLING_INTERVAL = 0.1  # the worker's longest idle wait between polls of a queue
SETTLE_TIMEOUT = 30.0  # the longest a case waits for its control queues to empty after reaching its target
OWN_TIMEOUT = 60.0  # the longest the worker may take to own every partition
HOT = df.EntityId("counter", "hot")
DF_TARGET_PER_ENTITY = 64.0  # operations/s per entity: the Durable Functions target

app = df.App()


# --- the entity and orchestrators under test ----------------------------------------------------------------------


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    """A counter: ``add`` adds its input and returns the new value, ``get`` returns it."""
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation != "get":
        raise ValueError(f"counter has no operation {operation!r}")
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def signal_counter(context: df.DurableOrchestrationContext) -> int:
    """Signals ``add`` 1 to ``counter@{key}`` ``times`` times (all sent by its one episode's checkpoint)."""
    request = context.get_input()
    target = df.EntityId("counter", request["key"])
    for _ in range(request["times"]):
        context.signal_entity(target, "add", 1)
    return int(request["times"])


@app.orchestration_trigger(context_name="context")
def call_counter(context: df.DurableOrchestrationContext) -> Any:
    """Calls ``get`` on ``counter@{key}`` ``calls`` times in a row; returns the episode times around each call."""
    request = context.get_input()
    target = df.EntityId("counter", request["key"])
    moments = [context.current_utc_datetime.isoformat()]
    for _ in range(request["calls"]):
        yield context.call_entity(target, "get")
        moments.append(context.current_utc_datetime.isoformat())
    return moments


# --- figures ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """The figures of one case."""

    case: str
    entities: int
    operations: int
    send_s: float  # until the last signal was sent (or the last orchestration started)
    seconds: float
    operations_per_s: float
    expected: int  # the sum of the counters the operations add up to
    final: int  # the sum of the counters once the control queues were empty
    cpu_s: float
    azurite_cpu_s: float | None
    log_warnings: int


@dataclass(frozen=True, slots=True)
class CallLatency:
    """Sequential ``call_entity`` round trips of one orchestration."""

    calls: int
    seconds: float  # the orchestration's created time to its last update
    mean_ms: float  # seconds / calls
    p50_ms: float
    p95_ms: float
    max_ms: float


class WarningCounter(logging.Handler):
    """Counts the warning and error records that reach the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


WARNINGS = WarningCounter()


class Meter:
    """Wall, CPU (this process's and Azurite's) seconds and warnings, from its creation until :meth:`stop`."""

    def __init__(self) -> None:
        self._azurite = azurite_pid()
        self._azurite_before = self._azurite_cpu()
        self._warnings = WARNINGS.count
        self._cpu = time.process_time()
        self.started = time.monotonic()
        self.cpu_s = 0.0
        self.azurite_cpu_s: float | None = None

    def _azurite_cpu(self) -> float | None:
        if self._azurite is None:
            return None
        with contextlib.suppress(OSError):
            return cpu_seconds(self._azurite)
        return None

    def seconds(self) -> float:
        """Wall seconds since the start."""
        return time.monotonic() - self.started

    def stop(self) -> float:
        """Freeze the CPU figures; returns the wall seconds."""
        seconds = self.seconds()
        self.cpu_s = round(time.process_time() - self._cpu, 2)
        after = self._azurite_cpu()
        before = self._azurite_before
        self.azurite_cpu_s = round(after - before, 2) if after is not None and before is not None else None
        return seconds

    def warnings(self) -> int:
        """Warning and error records since the start (also after :meth:`stop`)."""
        return WARNINGS.count - self._warnings


# --- the worker ---------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_worker(connection: str, partitions: int) -> AsyncIterator[df.DurableOrchestrationClient]:
    """A client of a fresh hub, with a worker in this process that owns every partition; the hub is deleted after."""
    client = df.DurableOrchestrationClient.from_connection_string(
        connection, task_hub=unique_hub_name("entities"), partition_count=partitions
    )
    hub = client.task_hub
    try:
        options = df.WorkerOptions(max_polling_interval=MAX_POLLING_INTERVAL)
        async with df.Worker(client, app, options=options) as worker:

            async def owns_all() -> bool:
                leases = await hub.partitions.read_all()
                return len(leases) == partitions and all(lease.current_owner == worker.worker_id for lease in leases)

            await wait_for(owns_all, timeout=OWN_TIMEOUT, interval=0.05, what=f"the worker owning {hub.name}")
            yield client
    finally:
        with contextlib.suppress(Exception):
            await hub.delete()
        await client.close()


async def queued(client: df.DurableOrchestrationClient) -> int:
    """Messages in the hub's control queues, visible or not."""
    hub = client.task_hub
    counts = await asyncio.gather(*(hub.account.queues.count(queue) for queue in hub.names.control_queues))
    return sum(counts)


async def settle(client: df.DurableOrchestrationClient) -> None:
    """Wait until the control queues are empty (or SETTLE_TIMEOUT has passed: a warning on stderr)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (left := await queued(client)) > 0:
        if time.monotonic() >= deadline:
            print(f"the control queues still hold {left} messages {SETTLE_TIMEOUT:g} s later", file=sys.stderr)
            return
        await asyncio.sleep(STATE_POLL)


# --- reading counters ---------------------------------------------------------------------------------------------


async def hot_value(client: df.DurableOrchestrationClient) -> int:
    response = await client.read_entity_state(HOT)
    return int(response.entity_state) if response.entity_exists else 0


async def counter_values(client: df.DurableOrchestrationClient) -> dict[str, int]:
    """Every counter's value by key, from one paged query."""
    return {
        entity.entity_id.key: int(entity.state)
        async for entity in client.list_entities(entity_name="counter")
        if entity.exists
    }


async def until_reached(
    client: df.DurableOrchestrationClient, expected: dict[str, int], meter: Meter, timeout: float
) -> float:
    """Poll the counters until each shows its expected value; returns the seconds since ``meter`` started.

    Raises:
        TimeoutError: not reached in ``timeout`` s from the start (with the counters reached).
    """
    single = list(expected) == [HOT.key]
    while True:
        values = {HOT.key: await hot_value(client)} if single else await counter_values(client)
        seconds = meter.seconds()
        if all(values.get(key, 0) >= target for key, target in expected.items()):
            over = {key: value for key, value in values.items() if value > expected.get(key, 0)}
            if over:
                print(f"counters beyond their expected values: {describe(over, expected)}", file=sys.stderr)
            return seconds
        if seconds >= timeout:
            short = {key: values.get(key, 0) for key, target in expected.items() if values.get(key, 0) != target}
            raise TimeoutError(
                f"{sum(values.values())} of {sum(expected.values())} operations applied after {timeout:g} s; "
                f"{await queued(client)} control messages queued; behind: {describe(short, expected)}"
            )
        await asyncio.sleep(STATE_POLL)


def describe(values: dict[str, int], expected: dict[str, int], most: int = 10) -> str:
    shown = ", ".join(f"{key}={value} (expected {expected.get(key, 0)})" for key, value in list(values.items())[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


async def final_total(client: df.DurableOrchestrationClient, expected: dict[str, int]) -> int:
    """The counters' sum once the queues are empty; a difference from the expected values goes to stderr."""
    await settle(client)
    values = {HOT.key: await hot_value(client)} if list(expected) == [HOT.key] else await counter_values(client)
    wrong = {
        key: values.get(key, 0) for key in expected.keys() | values.keys() if values.get(key, 0) != expected.get(key)
    }
    if wrong:
        print(f"counters off after settling: {describe(wrong, expected)}", file=sys.stderr)
    return sum(values.values())


# --- cases --------------------------------------------------------------------------------------------------------


async def send_signals(client: df.DurableOrchestrationClient, targets: Sequence[df.EntityId]) -> None:
    """One ``add`` 1 signal per target, SIGNAL_CHUNK at once."""
    for first in range(0, len(targets), SIGNAL_CHUNK):
        chunk = targets[first : first + SIGNAL_CHUNK]
        await asyncio.gather(*(client.signal_entity(target, "add", 1) for target in chunk))


def case_of(name: str, expected: dict[str, int], meter: Meter, *, send_s: float, seconds: float, final: int) -> Case:
    operations = sum(expected.values())
    return Case(
        case=name,
        entities=len(expected),
        operations=operations,
        send_s=round(send_s, 3),
        seconds=round(seconds, 3),
        operations_per_s=round(operations / seconds, 1),
        expected=operations,
        final=final,
        cpu_s=meter.cpu_s,
        azurite_cpu_s=meter.azurite_cpu_s,
        log_warnings=meter.warnings(),
    )


async def client_signals(
    connection: str, partitions: int, keys: Sequence[str], operations: int, timeout: float
) -> Case:
    """N signals from the client, round-robin over the counters ``keys``."""
    targets = [df.EntityId("counter", keys[n % len(keys)]) for n in range(operations)]
    expected = dict.fromkeys(keys, 0)
    for target in targets:
        expected[target.key] += 1
    name = f"{'hot entity' if len(keys) == 1 else f'{len(keys)} entities'}, client signals"
    async with running_worker(connection, partitions) as client:
        meter = Meter()
        await send_signals(client, targets)
        send_s = meter.seconds()
        await until_reached(client, expected, meter, timeout)
        seconds = meter.stop()
        final = await final_total(client, expected)
    return case_of(name, expected, meter, send_s=send_s, seconds=seconds, final=final)


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole parts (the first ones one larger)."""
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


async def orchestration_signals(
    connection: str, partitions: int, orchestrations: int, operations: int, timeout: float
) -> Case:
    """M orchestrations signal the hot counter N/M times each."""
    times = [share for share in shares(operations, orchestrations) if share > 0]
    expected = {HOT.key: operations}
    async with running_worker(connection, partitions) as client:
        meter = Meter()
        ids: list[str] = []
        for first in range(0, len(times), SIGNAL_CHUNK):
            chunk = times[first : first + SIGNAL_CHUNK]
            ids += await asyncio.gather(
                *(client.start_new("signal_counter", client_input={"key": HOT.key, "times": n}) for n in chunk)
            )
        send_s = meter.seconds()
        await until_reached(client, expected, meter, timeout)
        seconds = meter.stop()
        final = await final_total(client, expected)
        statuses = await asyncio.gather(*(client.get_status(instance) for instance in ids))
    failed = [s.instance_id for s in statuses if s.runtime_status is not df.OrchestrationRuntimeStatus.Completed]
    if failed:
        print(f"{len(failed)} signal_counter orchestrations did not complete: {failed[:5]}", file=sys.stderr)
    name = f"hot entity, {len(times)} orchestrations' signals"
    return case_of(name, expected, meter, send_s=send_s, seconds=seconds, final=final)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def sequential_calls(connection: str, partitions: int, calls: int, timeout: float) -> tuple[Case, CallLatency]:
    """One orchestration calls ``get`` K times in a row; the case's seconds are the orchestration's own."""
    called = df.EntityId("counter", "called")
    async with running_worker(connection, partitions) as client:
        meter = Meter()
        instance = await client.start_new("call_counter", client_input={"key": called.key, "calls": calls})
        status = await client.wait_for_completion(instance, timeout=timeout, poll_interval=STATE_POLL)
        meter.stop()
        state = await client.read_entity_state(called)
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
        raise RuntimeError(f"call_counter ended {status.runtime_status}: {status.output}")
    if not state.entity_exists or state.entity_state != 0:
        print(f"counter@called should be 0 after {calls} gets, not {state}", file=sys.stderr)
    assert status.created_time is not None and status.last_updated_time is not None
    seconds = (status.last_updated_time - status.created_time).total_seconds()
    moments = [datetime.fromisoformat(moment) for moment in status.output]
    gaps = [(later - earlier).total_seconds() * 1000 for earlier, later in itertools.pairwise(moments)]
    latency = CallLatency(
        calls=calls,
        seconds=round(seconds, 3),
        mean_ms=round(seconds / calls * 1000, 1),
        p50_ms=round(percentile(gaps, 0.50), 1),
        p95_ms=round(percentile(gaps, 0.95), 1),
        max_ms=round(max(gaps), 1),
    )
    # ``final``: the calls that returned (one episode time each).
    case = case_of("call_entity, sequential", {called.key: calls}, meter, send_s=0.0, seconds=seconds, final=len(gaps))
    return case, latency


# --- output -------------------------------------------------------------------------------------------------------


def render(cases: Sequence[Case], latency: CallLatency | None, partitions: int, cpus: int) -> str:
    """The figures as a plain-text table, with the comparison to Durable Functions' target."""
    header = (
        f"{'case':<40} {'entities':>8} {'operations':>10} {'send s':>7} {'seconds':>8} {'ops/s':>7} "
        f"{'final':>6} {'CPU s':>6} {'azurite CPU s':>13} {'log warnings':>12}"
    )
    lines = [header, "-" * len(header)]
    for case in cases:
        azurite = f"{case.azurite_cpu_s:.1f}" if case.azurite_cpu_s is not None else "-"
        send = f"{case.send_s:.2f}" if case.send_s else "-"
        final = f"{case.final}" if case.final == case.expected else f"{case.final}!"
        lines.append(
            f"{case.case:<40} {case.entities:>8} {case.operations:>10,} {send:>7} {case.seconds:>8.2f} "
            f"{case.operations_per_s:>7.1f} {final:>6} {case.cpu_s:>6.1f} {azurite:>13} {case.log_warnings:>12}"
        )
    lines.append(
        f"(one in-process worker, {partitions} partitions, max polling interval {MAX_POLLING_INTERVAL:g} s, "
        f"{cpus} CPUs on this host; CPU s: this process, client and worker together)"
    )
    if latency is not None:
        lines += [
            "",
            f"call_entity round trip, {latency.calls} sequential calls of one orchestration: "
            f"p50 {latency.p50_ms:.0f} ms, p95 {latency.p95_ms:.0f} ms, max {latency.max_ms:.0f} ms "
            f"(between the episodes that sent and answered); mean {latency.mean_ms:.0f} ms "
            f"(orchestration seconds / calls)",
        ]
    lines += ["", *comparison(cases)]
    return "\n".join(lines)


def comparison(cases: Sequence[Case]) -> list[str]:
    """How the signal cases compare with the Durable Functions target of 64 operations/s per entity."""
    lines = [f"Durable Functions target: {DF_TARGET_PER_ENTITY:g} operations/s per entity."]
    for case in cases:
        if case.case.startswith("call_entity"):
            continue
        ratio = case.operations_per_s / DF_TARGET_PER_ENTITY
        if case.entities == 1:
            lines.append(
                f"  {case.case}: {case.operations_per_s:.1f} operations/s on one entity, {ratio:.2f}x the target"
            )
        else:
            lines.append(
                f"  {case.case}: {case.operations_per_s:.1f} operations/s over all {case.entities} entities "
                f"({case.operations_per_s / case.entities:.2f}/s each, {case.operations // case.entities} operations "
                f"each): {ratio:.2f}x one entity's target"
            )
    return lines


def run(args: argparse.Namespace) -> tuple[list[Case], CallLatency]:
    """Every case, each on its own Azurite unless ``--connection`` names the storage."""
    hot, spread = [HOT.key], [f"e{n:03d}" for n in range(args.entities)]
    cases: list[Case] = []
    with storage(args.connection) as connection:
        cases.append(asyncio.run(client_signals(connection, args.partitions, hot, args.operations, args.timeout)))
    with storage(args.connection) as connection:
        work = orchestration_signals(connection, args.partitions, args.orchestrations, args.operations, args.timeout)
        cases.append(asyncio.run(work))
    with storage(args.connection) as connection:
        cases.append(asyncio.run(client_signals(connection, args.partitions, spread, args.operations, args.timeout)))
    with storage(args.connection) as connection:
        case, latency = asyncio.run(sequential_calls(connection, args.partitions, args.calls, args.timeout))
        cases.append(case)
    return cases, latency


def main(argv: Sequence[str] | None = None) -> None:
    """Measure every case and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--connection", metavar="CONN", help="a storage connection string (default: start Azurite)")
    parser.add_argument("--operations", type=int, default=2000, metavar="N", help="signals per case (default: 2000)")
    parser.add_argument(
        "--orchestrations", type=int, default=20, metavar="M", help="signalling orchestrations (default: 20)"
    )
    parser.add_argument("--entities", type=int, default=100, metavar="E", help="counters of the spread case (100)")
    parser.add_argument("--calls", type=int, default=50, metavar="K", help="sequential call_entity (default: 50)")
    parser.add_argument("--partitions", type=int, default=4, metavar="P", help="partitions per hub (default: 4)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, metavar="SECONDS", help="the longest one case may take (600)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.partitions <= 16:
        parser.error(f"--partitions {args.partitions} is invalid: must be 1-16")
    for name in ("operations", "orchestrations", "entities", "calls"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)} is invalid: must be at least 1")
    if args.entities > 1000:
        parser.error(f"--entities {args.entities} is invalid: at most 1000 (keys e000-e999)")
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger().addHandler(WARNINGS)
    cases, latency = run(args)
    if args.json:
        figures = {
            "cpus": os.cpu_count(),
            "partitions": args.partitions,
            "max_polling_interval_s": MAX_POLLING_INTERVAL,
            "df_target_per_entity_ops_s": DF_TARGET_PER_ENTITY,
            "cases": [asdict(case) for case in cases],
            "call_latency": asdict(latency),
        }
        print(json.dumps(figures, indent=2))
    else:
        print(render(cases, latency, args.partitions, os.cpu_count() or 0))


if __name__ == "__main__":
    main()
