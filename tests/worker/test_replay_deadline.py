"""Runaway orchestrator and entity code on Azurite: it fails by name at the replay deadline, the rest runs on.

An orchestrator or entity operation that loops for ever, sleeps an hour or deadlocks used to hold the worker's
only replay thread: every other instance of the worker stopped while its leases were still renewed (issue 20).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from tests.e2e.support import fast_options

Status = OrchestrationRuntimeStatus
DEADLINE = 0.5
app = df.App()
_lock = threading.Lock()


def run_away(how: str) -> None:
    if how == "spin":
        while True:
            pass
    elif how == "nap":
        time.sleep(3600)
    elif how == "deadlock":
        # The first replay takes the lock and waits for itself; later ones wait on the lock that replay still holds.
        _lock.acquire(blocking=False)
        _lock.acquire()


@app.orchestration_trigger(context_name="context")
def spin(context: df.DurableOrchestrationContext) -> None:
    run_away("spin")


@app.orchestration_trigger(context_name="context")
def nap(context: df.DurableOrchestrationContext) -> None:
    run_away("nap")


@app.orchestration_trigger(context_name="context")
def deadlock(context: df.DurableOrchestrationContext) -> None:
    run_away("deadlock")


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.orchestration_trigger(context_name="context")
def quick(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("echo", context.get_input()))


@app.entity_trigger(context_name="context")
def runaway(context: df.DurableEntityContext) -> None:
    """``add`` adds its input; any other operation runs away (``spin``, ``nap``, ``deadlock``)."""
    if context.operation_name == "add":
        context.set_state(context.get_state(lambda: 0) + context.get_input())
        context.set_result(context.get_state(int))
    else:
        run_away(context.operation_name)


@app.orchestration_trigger(context_name="context")
def call_entity(context: df.DurableOrchestrationContext) -> Any:
    request = context.get_input()
    try:
        return {"result": (yield context.call_entity(df.EntityId("runaway", request["key"]), request["operation"], 1))}
    except df.TaskFailedError as failure:
        return {"error": str(failure)}


@pytest.fixture
async def worker(client: DurableOrchestrationClient) -> AsyncIterator[Worker]:
    async with Worker(client, app, options=fast_options(replay_deadline=DEADLINE)) as running:
        yield running


async def finished(client: DurableOrchestrationClient, instance_id: str) -> df.DurableOrchestrationStatus:
    return await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.05)


async def latencies(client: DurableOrchestrationClient, name: str, inputs: list[Any]) -> list[float]:
    taken = []
    for value in inputs:
        started = time.monotonic()
        status = await finished(client, await client.start_new(name, client_input=value))
        assert status.runtime_status is Status.Completed, status.output
        taken.append(time.monotonic() - started)
    return taken


@pytest.mark.usefixtures("worker")
async def test_runaway_orchestrators_fail_by_name_and_the_others_keep_their_latency(
    client: DurableOrchestrationClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = await latencies(client, "quick", list(range(5)))

    runaways = {await client.start_new(name): name for name in ("spin", "nap", "deadlock", "deadlock")}
    meanwhile = await latencies(client, "quick", list(range(5)))

    for instance_id, name in runaways.items():
        status = await finished(client, instance_id)
        assert status.runtime_status is Status.Failed
        assert status.output.startswith(
            f"ReplayDeadlineError: orchestrator {name!r} of instance {instance_id!r} did not return within the "
            f"{DEADLINE:g} s replay deadline (WorkerOptions.replay_deadline)"
        )
    after = await latencies(client, "quick", list(range(5)))
    # Each runaway costs the others one deadline at most, once; then they run as fast as before.
    assert max(meanwhile) < 4 * DEADLINE + 2 * max(before), (before, meanwhile)
    assert statistics.median(after) < 2 * statistics.median(before) + 0.1, (before, after)
    assert caplog.text.count("ran past the 0.5 s replay deadline") == 4


@pytest.mark.usefixtures("worker")
async def test_a_runaway_entity_operation_fails_its_batch_and_the_entity_and_others_go_on(
    client: DurableOrchestrationClient,
) -> None:
    for operation in ("spin", "nap", "deadlock"):
        status = await finished(
            client, await client.start_new("call_entity", client_input={"key": "k", "operation": operation})
        )
        assert status.runtime_status is Status.Completed
        assert (
            f"entity 'runaway' of instance '@runaway@k' did not return within the {DEADLINE:g} s"
            in (status.output["error"])
        )
    # The entity's state is as it was before each runaway batch: it still works, as do the others.
    for expected in (1, 2):
        status = await finished(
            client, await client.start_new("call_entity", client_input={"key": "k", "operation": "add"})
        )
        assert status.output == {"result": expected}
    assert (await client.read_entity_state(df.EntityId("runaway", "k"))).entity_state == 2
    assert max(await latencies(client, "quick", list(range(3)))) < 2.0
