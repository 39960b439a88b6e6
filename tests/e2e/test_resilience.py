"""Faults that come from code, load and crashes between checkpoint steps (reliability.md T16, T17, T19, T25).

T16: a deployment changes an orchestrator under an instance that is waiting; the instance fails with the
"Non-Deterministic workflow detected" message and schedules nothing, while other instances go on.
T17: an activity that outlives its message's visibility keeps the message hidden (renewal) and runs once.
T19: an Instances row left Running by a crash after the History write is repaired by the next message.
T25: episodes that burn CPU do not starve the lease renewals of the same worker.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage.client._outgoing import instance_message
from durable_storage.history import EventRaisedEvent, ExecutionTerminatedEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.client.support import T0, ended, history, write_history, write_row
from tests.e2e.support import events, fast_options
from tests.faults.invariants import check_clear_failure

Status = OrchestrationRuntimeStatus


def flow_app(first_activity: str) -> df.App:
    """The same orchestrator before and after a deployment that renamed its first activity."""
    app = df.App()

    @app.orchestration_trigger(context_name="context")
    def flow(context: df.DurableOrchestrationContext) -> Any:
        first = yield context.call_activity(first_activity, "a")
        approval = yield context.wait_for_external_event("go")
        second = yield context.call_activity("shout", approval)
        return [first, second]

    @app.orchestration_trigger(context_name="context")
    def simple(context: df.DurableOrchestrationContext) -> Any:
        return (yield context.call_activity("shout", context.get_input()))

    @app.activity_trigger(input_name="text")
    def shout(text: str) -> str:
        return text.upper()

    @app.activity_trigger(input_name="text")
    def whisper(text: str) -> str:
        return text.lower()

    return app


async def test_changed_code_under_a_waiting_instance_fails_it_and_schedules_nothing(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    async with Worker(client, flow_app("shout"), options=fast_options()):
        instance_id = await client.start_new("flow", "deployed-under")

        async def waiting() -> bool:
            return bool(events(await client.get_history(instance_id), "TaskCompleted"))

        await wait_until(waiting, timeout=30, what="the first activity to complete")

    async with Worker(client, flow_app("whisper"), options=fast_options()):  # the new deployment
        await client.raise_event(instance_id, "go", "yes")
        await check_clear_failure(client, hub, instance_id, cause="Non-Deterministic workflow detected")
        failed = await client.get_status(instance_id)
        other = await client.start_new("simple", client_input="still fine")
        fine = await client.wait_for_completion(other, timeout=30, poll_interval=0.1)

    assert failed.runtime_status is Status.Failed
    message = str(failed.output)
    assert "Non-Deterministic workflow detected" in message
    assert "whisper" in message and "shout" in message and "0" in message
    history = await client.get_history(instance_id)
    assert [e["Name"] for e in events(history, "TaskScheduled")] == ["shout"]  # nothing from the diverging replay
    assert (fine.runtime_status, fine.output) == (Status.Completed, "STILL FINE")


async def test_an_activity_that_outlives_its_visibility_keeps_its_message_and_runs_once(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    app = df.App()
    runs: list[float] = []

    @app.orchestration_trigger(context_name="context")
    def slow(context: df.DurableOrchestrationContext) -> Any:
        return (yield context.call_activity("crawl", 4.0))

    @app.activity_trigger(input_name="seconds")
    async def crawl(seconds: float) -> str:
        runs.append(time.monotonic())
        await asyncio.sleep(seconds)
        return "done"

    # Visible again after 2 s unless renewed; the activity takes 4 s.
    async with Worker(client, app, options=fast_options(work_item_visibility=2)):
        instance_id = await client.start_new("slow")
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert (status.runtime_status, status.output) == (Status.Completed, "done")
    assert len(runs) == 1, "the work item became visible while its activity ran, and ran again"
    assert len(events(await client.get_history(instance_id), "TaskCompleted")) == 1


async def test_cpu_heavy_episodes_do_not_starve_the_lease_renewals(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    app = df.App()

    @app.orchestration_trigger(context_name="context")
    def burner(context: df.DurableOrchestrationContext) -> Any:
        total = 0
        for step in range(2):
            deadline = time.thread_time() + 0.2  # 200 ms of this thread's CPU at every replay of every step
            while time.thread_time() < deadline:
                total += 1
            yield context.call_activity("noop", step)
        return "burnt"

    @app.activity_trigger(input_name="step")
    def noop(step: int) -> int:
        return step

    options = fast_options(lease_interval=4, lease_renew_interval=1)
    ages: list[float] = []
    owners: set[str | None] = set()

    async def sample() -> None:
        # How old each lease's last renewal is, as seen from storage, every quarter second.
        while True:
            leases = await hub.partitions.read_all()
            now = time.time()
            ages.extend(now - lease.last_renewal.timestamp() for lease in leases if lease.last_renewal is not None)
            owners.update(lease.current_owner for lease in leases)
            await asyncio.sleep(0.25)

    async with Worker(client, app, options=options) as worker:

        async def owns_all() -> bool:
            return {lease.current_owner for lease in await hub.partitions.read_all()} == {worker.worker_id}

        await wait_until(owns_all, timeout=20, what="the worker to own every partition")
        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        ids = [await client.start_new("burner") for _ in range(20)]
        try:
            for instance_id in ids:
                status = await client.wait_for_completion(instance_id, timeout=120, poll_interval=0.5)
                assert status.runtime_status is Status.Completed
        finally:
            sampler.cancel()
        busy = time.monotonic() - started

    ages.sort()
    p99 = ages[max(0, int(len(ages) * 0.99) - 1)]
    print(f"{len(ages)} samples over {busy:.1f} s of CPU-bound episodes: renewal age p50 {ages[len(ages) // 2]:.2f} s,")
    print(f"p99 {p99:.2f} s, max {ages[-1]:.2f} s (renewed every {options.lease_renew_interval:g} s)")
    assert len(ages) >= 4 * 10, "the sampler hardly ran: the event loop itself was starved"
    assert owners == {worker.worker_id}, "a lease was lost under load"
    assert ages[-1] < options.lease_interval, "a renewal came later than the lease lasts"


@pytest.mark.parametrize("nudge", ["raise an event", "terminate"])
async def test_a_running_row_of_an_ended_history_is_repaired_by_the_next_message(
    client: DurableOrchestrationClient, hub: TaskHub, nudge: str
) -> None:
    # T19: a worker crashed after its History write and before its Instances write; the next message repairs it.
    instance_id = f"crashed-{len(nudge)}"
    builder = history(instance_id).started("hello").scheduled("say_hello").episode().completed(0, "hi")
    await write_history(hub, instance_id, ended(builder, Status.Completed, result='"hi"'))
    await write_row(hub, instance_id, Status.Running)
    queue = hub.control_queue_of(instance_id)
    message = instance_message(instance_id, EventRaisedEvent(timestamp=T0, name="late", input='"x"'))
    if nudge == "terminate":
        message = instance_message(instance_id, ExecutionTerminatedEvent(timestamp=T0, input="stop"))

    async with Worker(client, df.App(), options=fast_options()):
        await hub.messages.send(queue, message)

        async def repaired() -> bool:
            row = await hub.instances.read(instance_id, fetch_payloads=False)
            return row is not None and row.runtime_status is Status.Completed

        await wait_until(repaired, timeout=30, what="the Instances row to be repaired")

    row = await hub.instances.read(instance_id)
    assert row is not None and row.output == '"hi"' and row.completed_time is not None
    assert await hub.account.queues.count(queue) == 0  # the late message was consumed, not left to cycle
