"""`make demo`: the quickstart and a mixed workload on a local Azurite, with live progress and throughput.

Starts Azurite on its default ports (10000-10002) when nothing listens there, so the default connection
(``AzureWebJobsStorage=UseDevelopmentStorage=true``) just works; runs a worker in this process; starts the
Durable Functions quickstart, then 100 HelloCities5 orchestrations, a fan-out of 100 activities, an approval that
an external event completes, and a durable timer; prints each result and the measured throughput; and stops what
it started.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import timedelta
from typing import Any

import durable_storage as df
from durable_storage.client import DurableOrchestrationClient
from durable_storage.taskhub import TaskHubInfo
from durable_storage.testing import Azurite, azurite_listening
from durable_storage.worker import Worker

DEMO_HUB = "DemoHub"
CITIES = ["Tokyo", "Seattle", "London", "Paris", "Cairo"]

app = df.App()


@app.orchestration_trigger(context_name="context")
def hello_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """The Durable Functions quickstart, unchanged."""
    result1 = yield context.call_activity("say_hello", "Tokyo")
    result2 = yield context.call_activity("say_hello", "Seattle")
    result3 = yield context.call_activity("say_hello", "London")
    return [result1, result2, result3]


@app.orchestration_trigger(context_name="context")
def hello_cities(context: df.DurableOrchestrationContext) -> Any:
    """HelloCities5: five activities in sequence."""
    greetings = []
    for city in CITIES:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Any:
    """Fan out to N activities at once, fan in their results."""
    count = context.get_input()
    squares = yield context.task_all([context.call_activity("square", n) for n in range(count)])
    return sum(squares)


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext) -> Any:
    """Wait for an approval event, or give up when a durable timer fires first."""
    decision = context.wait_for_external_event("Approval")
    deadline = context.create_timer(timedelta(minutes=5))
    winner = yield context.task_any([decision, deadline])
    if winner is decision:
        deadline.cancel()
        return f"approved by {decision.result}"
    return "timed out"


@app.orchestration_trigger(context_name="context")
def reminder(context: df.DurableOrchestrationContext) -> Any:
    """A durable timer: sleep two seconds, without holding a process."""
    yield context.create_timer(timedelta(seconds=2))
    return f"woke up at {context.current_utc_datetime:%H:%M:%S}"


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    """Greets a city."""
    return f"Hello {city}!"


@app.activity_trigger(input_name="n")
def square(n: int) -> int:
    """Squares a number."""
    return n * n


_ENDED = [
    df.OrchestrationRuntimeStatus.Completed,
    df.OrchestrationRuntimeStatus.Failed,
    df.OrchestrationRuntimeStatus.Terminated,
]


async def _progress(client: DurableOrchestrationClient, ids: list[str], started: float) -> None:
    wanted = set(ids)
    while True:
        # One query per tick (not one read per instance): progress must not slow down what it measures.
        ended = await client.get_status_by(runtime_status=_ENDED)
        done = sum(1 for status in ended if status.instance_id in wanted)
        rate = done / max(time.monotonic() - started, 1e-9)
        print(f"\r  {done}/{len(ids)} orchestrations finished ({rate:.1f}/s)", end="", flush=True)
        if done == len(ids):
            print()
            return
        await asyncio.sleep(0.5)


def _name(status: df.OrchestrationRuntimeStatus | None) -> str:
    return status.value if status is not None else "unknown"


async def workload(client: DurableOrchestrationClient, *, orchestrations: int = 100, fan_out_size: int = 100) -> None:
    """Run the quickstart and the mixed workload, printing results and throughput."""
    quick = await client.start_new("hello_orchestrator")
    status = await client.wait_for_completion(quick, timeout=60, poll_interval=0.2)
    print(f"quickstart hello_orchestrator: {_name(status.runtime_status)} {status.output}")

    started = time.monotonic()
    cities = [await client.start_new("hello_cities") for _ in range(orchestrations)]
    wide = await client.start_new("fan_out", client_input=fan_out_size)
    approve = await client.start_new("approval")
    nap = await client.start_new("reminder")
    await client.raise_event(approve, "Approval", "the demo")
    print(f"running {orchestrations} HelloCities5, a fan-out of {fan_out_size}, an approval and a durable timer:")
    await _progress(client, [*cities, wide, approve, nap], started)
    elapsed = time.monotonic() - started

    first = await client.get_status(cities[0])
    print(f"HelloCities5 (first of {orchestrations}): {first.output}")
    for label, instance in (
        (f"fan-out of {fan_out_size} (sum of squares)", wide),
        ("approval", approve),
        ("timer", nap),
    ):
        result = await client.get_status(instance)
        print(f"{label}: {_name(result.runtime_status)} {result.output}")
    activities = orchestrations * len(CITIES) + fan_out_size
    print(
        f"throughput: {orchestrations + 3} orchestrations and {activities} activities in {elapsed:.1f} s "
        f"({orchestrations / elapsed:.1f} HelloCities5/s, {activities / elapsed:.0f} activities/s)"
    )


async def run(connection_string: str) -> None:
    """Start a worker and the workload on ``connection_string``."""
    client = DurableOrchestrationClient.from_connection_string(connection_string, task_hub=DEMO_HUB)
    async with client, Worker(client, app):
        print(describe(await client.task_hub.info()))
        await workload(client)


def describe(info: TaskHubInfo) -> str:
    """One paragraph on what the task hub is made of in storage."""
    queues = ", ".join(info.queues)
    tables = ", ".join(name for name, present in info.tables.items() if present)
    containers = ", ".join(name for name, present in info.containers.items() if present)
    return (
        f"task hub {info.name}: {info.partition_count} partitions\n  queues: {queues}\n  tables: {tables}\n"
        f"  containers: {containers}"
    )


def main() -> int:
    """Run the demo; returns the process exit code."""
    azurite: Azurite | None = None
    if azurite_listening():
        print("Using the Azurite already listening on 127.0.0.1:10000-10002")
    else:
        print("Starting Azurite on 127.0.0.1:10000-10002 (in memory, telemetry off)")
        azurite = Azurite(blob_port=10000, queue_port=10001, table_port=10002).start()
    connection = os.environ.get("AzureWebJobsStorage", "UseDevelopmentStorage=true")  # noqa: SIM112 - its real name
    try:
        asyncio.run(run(connection))
    finally:
        if azurite is not None:
            azurite.stop()
            print("Stopped the Azurite this demo started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
