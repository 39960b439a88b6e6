"""`make demo`: the quickstart and a mixed workload on a local Azurite, then a Functions app under ``host``.

Starts Azurite on its default ports (10000-10002) when nothing listens there, so the default connection
(``AzureWebJobsStorage=UseDevelopmentStorage=true``) just works; runs a worker in this process; starts the
Durable Functions quickstart, then 100 HelloCities5 orchestrations, a fan-out of 100 activities, an approval that
an external event completes, and a durable timer; prints each result and the measured throughput. Then it runs
``durable-storage host`` on ``samples/function_app_quickstart`` (an app on ``azure.functions`` and
``azure.durable_functions``, unchanged) in a subprocess on the same storage, starts its orchestrator through the
app's own HTTP route, follows the ``statusQueryGetUri`` it answered, and prints the ``curl`` commands that do the
same. It stops what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

import durable_storage as df
from durable_storage.client import DurableOrchestrationClient
from durable_storage.taskhub import TaskHubInfo
from durable_storage.testing import Azurite, azurite_listening, wait_until
from durable_storage.worker import Worker

DEMO_HUB = "DemoHub"
# In a clone of the repository (where `make demo` runs); absent from an installed package.
QUICKSTART_APP = Path(__file__).resolve().parents[1] / "samples" / "function_app_quickstart"
_HOST_READY = "SIGINT or SIGTERM stops"  # the last line `durable-storage host` prints once it serves
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


async def _progress(client: DurableOrchestrationClient, started_ids: list[str], total: int, since: float) -> None:
    """One line, rewritten in place: how many of ``total`` are started and finished, from the first start on."""
    while True:
        wanted = set(started_ids)
        # One query per tick (not one read per instance): progress must not slow down what it measures.
        ended = await client.get_status_by(runtime_status=_ENDED) if wanted else []
        done = sum(1 for status in ended if status.instance_id in wanted)
        rate = done / max(time.monotonic() - since, 1e-9)
        print(
            f"\r  {len(started_ids)}/{total} started, {done}/{total} orchestrations finished ({rate:.1f}/s)",
            end="",
            flush=True,
        )
        if done == total:
            print()
            return
        await asyncio.sleep(0.5)


async def _start_all(client: DurableOrchestrationClient, name: str, count: int, into: list[str]) -> None:
    # Twenty at a time: starting 100 one after the other took 9 s with nothing to show for it.
    for first in range(0, count, 20):
        batch = await asyncio.gather(*(client.start_new(name) for _ in range(first, min(first + 20, count))))
        into.extend(batch)


def _name(status: df.OrchestrationRuntimeStatus | None) -> str:
    return status.value if status is not None else "unknown"


async def workload(client: DurableOrchestrationClient, *, orchestrations: int = 100, fan_out_size: int = 100) -> str:
    """Run the quickstart and the mixed workload, printing results and throughput; returns one instance's ID."""
    print("starting the quickstart hello_orchestrator ...", flush=True)
    quick = await client.start_new("hello_orchestrator")
    status = await client.wait_for_completion(quick, timeout=60, poll_interval=0.2)
    print(f"quickstart hello_orchestrator: {_name(status.runtime_status)} {status.output}")

    total = orchestrations + 3
    print(f"running {orchestrations} HelloCities5, a fan-out of {fan_out_size}, an approval and a durable timer:")
    started = time.monotonic()
    ids: list[str] = []
    progress = asyncio.create_task(_progress(client, ids, total, started))
    try:
        wide = await client.start_new("fan_out", client_input=fan_out_size)
        approve = await client.start_new("approval")
        nap = await client.start_new("reminder")
        ids.extend([wide, approve, nap])
        await client.raise_event(approve, "Approval", "the demo")
        cities: list[str] = []
        await _start_all(client, "hello_cities", orchestrations, cities)
        ids.extend(cities)
        await progress
    finally:
        progress.cancel()
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
    return cities[0]


def summary(hub: str, instance_id: str, *, kept: bool) -> str:
    """What ran, and the commands to look further (while the Azurite that holds it still runs)."""
    env = "AzureWebJobsStorage=UseDevelopmentStorage=true"
    lines = [
        f"\nsummary: the demo ran on task hub {hub}; to look further:",
        f"  {env} .venv/bin/durable-storage --task-hub {hub} status {instance_id}",
        f"  {env} .venv/bin/durable-storage --task-hub {hub} list --limit 10",
        f"  {env} .venv/bin/durable-storage --task-hub {hub} serve      # dashboard: http://127.0.0.1:7071/",
    ]
    if not kept:
        lines.append(
            "  (this demo's in-memory Azurite stops with it: start one first to keep the data, "
            "node_modules/.bin/azurite --inMemoryPersistence --disableTelemetry --skipApiVersionCheck "
            "--blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 &, then make demo)"
        )
    return "\n".join(lines)


async def run(connection_string: str, *, kept: bool = True) -> None:
    """Start a worker and the workload on ``connection_string``, then the Functions app under ``host``.

    ``kept``: the Azurite outlives the demo (it was running before), so the summary's commands find its data.
    """
    print(f"starting a worker on task hub {DEMO_HUB} ...", flush=True)
    client = DurableOrchestrationClient.from_connection_string(connection_string, task_hub=DEMO_HUB)
    async with client, Worker(client, app):
        print(describe(await client.task_hub.info()))
        example = await workload(client)
    if QUICKSTART_APP.is_dir():
        await host_demo(connection_string)
    print(summary(DEMO_HUB, example, kept=kept))


@contextlib.asynccontextmanager
async def _host_process(app_dir: Path, connection_string: str) -> AsyncIterator[str]:
    """``durable-storage host APP_DIR --port 0`` in a subprocess; yields its URL once it serves, then SIGTERMs it."""
    command = [sys.executable, "-m", "durable_storage", "--log-level", "WARNING", "host", str(app_dir), "--port", "0"]
    env = {**os.environ, "AzureWebJobsStorage": connection_string}
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    lines: list[str] = []

    async def read_output() -> None:  # drained to the end, so that the host never blocks on a full pipe
        assert process.stdout is not None
        async for raw in process.stdout:
            lines.append(raw.decode(errors="replace").rstrip())

    reader = asyncio.create_task(read_output())
    try:
        await wait_until(lambda: _ready(process, lines), timeout=60, interval=0.1, what="durable-storage host to serve")
        yield next(line.split(": ", 1)[1].rstrip("/") for line in lines if line.startswith("dashboard: "))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # drains and releases its partitions, as for a user's Ctrl+C
        try:
            await asyncio.wait_for(process.wait(), 30)
        except asyncio.TimeoutError:  # not the built-in TimeoutError before Python 3.11
            process.kill()
        await reader
        if process.returncode:
            print("\n".join(lines[-20:]), file=sys.stderr)


async def _ready(process: asyncio.subprocess.Process, lines: list[str]) -> bool:
    if process.returncode is not None:
        raise RuntimeError(f"durable-storage host exited with {process.returncode}")
    return any(_HOST_READY in line for line in lines)


async def host_demo(connection_string: str) -> None:
    """The quickstart as a Functions app: ``durable-storage host``, an HTTP start, the status URL it answered."""
    print("\nthe same quickstart as a Functions app (azure.functions + azure.durable_functions), unchanged:")
    async with _host_process(QUICKSTART_APP, connection_string) as url, aiohttp.ClientSession() as session:
        print(f"  $ durable-storage host samples/function_app_quickstart --port {url.rsplit(':', 1)[1]}")
        start = f"{url}/api/orchestrators/hello_orchestrator"
        print(f"  $ curl -s -X POST {start}")
        async with session.post(start) as response:
            answer = await response.json(content_type=None)
        status_url = answer["statusQueryGetUri"]
        print(f"  {response.status}, statusQueryGetUri: {status_url}")

        async def ended() -> dict[str, Any]:
            async with session.get(status_url) as polled:  # 202 while it runs, 200 once it ended
                return await polled.json(content_type=None) if polled.status == 200 else {}

        status = await wait_until(ended, timeout=60, interval=0.2, what="the quickstart app's orchestration")
        print(f"  $ curl -s '{status_url}'")
        print(f"  {status['runtimeStatus']} {json.dumps(status['output'])}")
    print("  stopped the host (SIGTERM: it drained and released its partitions)")


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
        asyncio.run(run(connection, kept=azurite is None))
    finally:
        if azurite is not None:
            azurite.stop()
            print("Stopped the Azurite this demo started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
