"""Results that arrive too early, for nobody, or for an execution that has been replaced (reliability.md T10, T21).

The dispatcher screens each batch (storage-layout.md §5.4): a result whose scheduling event is not in history yet
is abandoned with back-off and applied once the event is there; a result for an instance without history is put
back a bounded number of times, then dropped; a result addressed to an older execution (before a continue-as-new)
is dropped, even when its large-message blob no longer exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._envelope import MessageData, TaskMessage
from durable_storage._storage.queues import QueueMessage
from durable_storage.history import OrchestrationInstance, TaskCompletedEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.worker._decisions import OUT_OF_ORDER_GIVE_UP
from tests.e2e.support import events, fast_options, reaches

Status = OrchestrationRuntimeStatus

app = df.App()
gates: dict[str, asyncio.Event] = {}
"""Per instance: the ``gated`` activity returns only once the test sets its gate."""


@app.activity_trigger(input_name="key")
async def gated(key: str) -> str:
    await gates[key].wait()
    return f"real result for {key}"


@app.activity_trigger(input_name="state")
def measure(state: dict[str, Any]) -> dict[str, int]:
    return {"generation": state["generation"], "length": len(state["blob"])}


@app.orchestration_trigger(context_name="context")
def event_then_activity(context: df.DurableOrchestrationContext) -> Any:
    """Waits for "go", then calls ``gated`` (task 0)."""
    yield context.wait_for_external_event("go")
    return (yield context.call_activity("gated", context.instance_id))


@app.orchestration_trigger(context_name="context")
def generations(context: df.DurableOrchestrationContext) -> Any:
    """Continues as new with a large input (over 45 KiB) until generation ``last``, which calls ``gated``."""
    state = context.get_input()
    if state["generation"] < state["last"]:
        measured = yield context.call_activity("measure", state)
        assert measured == {"generation": state["generation"], "length": len(state["blob"])}
        blob = state["blob"][1:] + state["blob"][:1]  # each generation's input differs
        context.continue_as_new({**state, "generation": state["generation"] + 1, "blob": blob})
        return None
    result = yield context.call_activity("gated", context.instance_id)
    return {"generation": state["generation"], "result": result, "blob": state["blob"]}


@pytest.fixture
def gate() -> asyncio.Event:
    """The gate of the test's ``gated`` activity (register it in ``gates`` under the instance ID)."""
    return asyncio.Event()


@contextlib.asynccontextmanager
async def serving(client: DurableOrchestrationClient, gate: asyncio.Event) -> AsyncIterator[Worker]:
    """A worker of this module's app that opens the gate before it drains: a held activity would stall the drain
    (and a failing test would hang instead of failing)."""
    async with Worker(client, app, options=fast_options()) as worker:
        try:
            yield worker
        finally:
            gate.set()


def control_queue(hub: TaskHub, instance_id: str) -> str:
    return hub.control_queue_of(instance_id)


def result_message(instance_id: str, execution_id: str, result: Any, *, task_id: int = 0) -> MessageData:
    """A TaskCompleted for ``task_id`` of one execution, as the activity dispatcher sends it."""
    target = OrchestrationInstance(instance_id, execution_id)
    completed = TaskCompletedEvent(
        timestamp=datetime.now(timezone.utc), task_scheduled_id=task_id, result=json.dumps(result)
    )
    return MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(event=completed, orchestration_instance=target),
        episode=1,
        sender=target,
    )


async def execution_id_of(hub: TaskHub, instance_id: str) -> str:
    record = await hub.instances.read(instance_id, fetch_payloads=False)
    assert record is not None and record.execution_id is not None
    return record.execution_id


async def hidden_in(hub: TaskHub, queue: str, count: int) -> bool:
    """True when ``queue`` holds ``count`` messages and none is visible: a worker received them all."""
    return await hub.account.queues.count(queue) == count and not await hub.account.queues.peek(queue)


async def drained(hub: TaskHub, *queues: str) -> None:
    async def empty() -> bool:
        return all([await hub.account.queues.count(queue) == 0 for queue in queues])

    await wait_until(empty, timeout=20, interval=0.1, what=f"{', '.join(queues)} to be empty")


# --- T10: early and orphaned results -----------------------------------------------------------------------------


async def test_a_result_that_arrives_before_its_task_is_scheduled_is_kept_and_applied_once_it_is(
    client: DurableOrchestrationClient, hub: TaskHub, gate: asyncio.Event
) -> None:
    instance_id = "early-result"
    gates[instance_id] = gate
    queue = control_queue(hub, instance_id)

    async with serving(client, gate):
        await client.start_new("event_then_activity", instance_id)
        await reaches(client, instance_id, Status.Running)
        execution_id = await execution_id_of(hub, instance_id)
        # The result of task 0 before the orchestration has scheduled task 0 (it waits for "go").
        await hub.messages.send(queue, result_message(instance_id, execution_id, "early result"))
        await wait_until(lambda: hidden_in(hub, queue, 1), timeout=10, what="the worker to receive the result")

        # Received, yet neither applied nor dropped: the history has no result and the message is still queued.
        history = await client.get_history(instance_id)
        assert events(history, "TaskScheduled") == events(history, "TaskCompleted") == []
        assert (await client.get_status(instance_id)).runtime_status is Status.Running
        assert await hub.account.queues.count(queue) == 1

        await client.raise_event(instance_id, "go")
        # The activity is held back, so only the early result can complete task 0.
        status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
        assert (status.runtime_status, status.output) == (Status.Completed, "early result")

        # The real result arrives after it and is dropped as a duplicate: the output stays, the queues drain.
        gate.set()
        await drained(hub, queue, hub.names.work_item_queue)

    history = await client.get_history(instance_id)
    scheduled, completed = events(history, "TaskScheduled"), events(history, "TaskCompleted")
    assert [e["Name"] for e in scheduled] == ["gated"]
    assert [(e["TaskScheduledId"], json.loads(e["Result"])) for e in completed] == [(0, "early result")]
    assert history.index(scheduled[0]) < history.index(completed[0])
    status = await client.get_status(instance_id)
    assert (status.runtime_status, status.output) == (Status.Completed, "early result")
    assert await client.list_quarantined_messages() == []


async def wear_out(hub: TaskHub, queue: str, times: int) -> None:
    """Receive every message of ``queue`` ``times`` times without completing it, as crashed workers would."""
    for _ in range(times):
        for message in await hub.account.queues.receive(queue, visibility=30):
            await hub.account.queues.update_visibility(message, visible_in=0)


async def test_a_result_for_an_instance_that_does_not_exist_is_dropped_after_a_bounded_number_of_deliveries(
    client: DurableOrchestrationClient, hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    instance_id = "nobody-home"
    queue = control_queue(hub, instance_id)
    limit = OUT_OF_ORDER_GIVE_UP
    # Results for task 0, 1, 2 of an instance that has no history, delivered limit, limit - 1 and 0 times so far.
    await hub.messages.send(queue, result_message(instance_id, uuid.uuid4().hex, "worn out", task_id=0))
    await wear_out(hub, queue, 1)
    await hub.messages.send(queue, result_message(instance_id, uuid.uuid4().hex, "at the edge", task_id=1))
    await wear_out(hub, queue, limit - 1)
    await hub.messages.send(queue, result_message(instance_id, uuid.uuid4().hex, "fresh", task_id=2))
    worn, edge, fresh = sorted(await hub.account.queues.peek(queue), key=lambda m: -m.dequeue_count)
    assert (worn.dequeue_count, edge.dequeue_count, fresh.dequeue_count) == (limit, limit - 1, 0)

    with caplog.at_level(logging.DEBUG, logger="durable_storage"):
        async with Worker(client, app, options=fast_options()):
            # Delivery limit + 1 drops the worn-out result; deliveries up to the limit put the others back
            # (hidden, with back-off): their instance's history may not be written yet.
            await wait_until(lambda: hidden_in(hub, queue, 2), timeout=10, what="two hidden messages to remain")

    async def back() -> list[QueueMessage]:
        return await hub.account.queues.peek(queue)

    # The fresh one is back after 2 s; the one at the edge is hidden for 2^limit s.
    [remaining] = await wait_until(back, timeout=20, interval=0.1, what="the fresh result to become visible")
    assert (remaining.id, remaining.body, remaining.dequeue_count) == (fresh.id, fresh.body, 1)
    assert await hub.account.queues.count(queue) == 2
    assert await client.list_quarantined_messages() == []  # dropped, not quarantined
    assert not await client.get_status(instance_id)  # and no instance was made up for it
    logged = [r.getMessage() for r in caplog.records if worn.id in r.getMessage()]
    assert len(logged) == 1 and instance_id in logged[0], logged


# --- T21: late results of an execution replaced by continue-as-new -----------------------------------------------


async def referenced_blobs(hub: TaskHub, instance_id: str) -> set[str]:
    """The blobs the current execution's History rows and the Instances row point at."""
    escaped = hub.escape(instance_id)
    names = set((await hub.history.load(instance_id)).blob_names)
    row = await hub.account.tables.get(hub.names.instances_table, escaped, "")
    assert row is not None
    for column, value in row.values.items():
        from_url = hub.large.blob_name_of_url(value)
        if from_url is not None:
            names.add(from_url)
        elif column.endswith("BlobName") and isinstance(value, str):
            names.add(value)
    return names


async def test_a_late_result_of_a_replaced_execution_is_dropped_even_without_its_blobs(
    client: DurableOrchestrationClient, hub: TaskHub, gate: asyncio.Event
) -> None:
    instance_id = "many-lives"
    gates[instance_id] = gate
    queue = control_queue(hub, instance_id)
    container = hub.names.large_messages_container
    blob = "".join(f"{n:06d}" for n in range(10_000))  # 60,000 characters: every message carrying it is a blob
    last = 3

    async with serving(client, gate):
        await client.start_new("generations", instance_id, {"generation": 0, "last": last, "blob": blob})

        async def waiting_at_last_generation() -> bool:
            history = await client.get_history(instance_id)
            return [e["Name"] for e in events(history, "TaskScheduled")] == ["gated"]

        await wait_until(waiting_at_last_generation, timeout=20, what=f"generation {last} to call its activity")
        # The History sentinel names the current execution (the Instances row is written after History).
        sentinel = await hub.account.tables.get(hub.names.history_table, hub.escape(instance_id), "sentinel")
        assert sentinel is not None
        current = str(sentinel.values["ExecutionId"])
        # Each older generation sent its large input to ``measure`` through a blob; those name the executions.
        older: list[str] = []
        for name in await hub.account.blobs.list_names(container, prefix=f"{instance_id}/message-"):
            if name.endswith("-TaskScheduled.json.gz"):
                text = await hub.account.blobs.download_text(container, name)
                older.append(json.loads(text)["TaskMessage"]["OrchestrationInstance"]["ExecutionId"])
        assert len(set(older)) == last and current not in older

        # The old executions' blobs are gone (only what the current one references is kept) ...
        keep = await referenced_blobs(hub, instance_id)
        for name in await hub.account.blobs.list_names(container, prefix=""):
            if name not in keep:
                await hub.account.blobs.delete(container, name)
        # ... when late results for task 0 of older executions come in: one small, one large with its blob, and
        # one large whose blob was deleted before it could be read.
        big = "late " * 12_000
        await hub.messages.send(queue, result_message(instance_id, older[0], "late and small"))
        await hub.messages.send(queue, result_message(instance_id, older[1], big))
        lost = result_message(instance_id, older[2], big)
        await hub.messages.send(queue, lost, visible_in=2)
        [lost_blob] = await hub.account.blobs.list_names(
            container, prefix=f"{instance_id}/message-{lost.activity_id.hex}"
        )
        await hub.account.blobs.delete(container, lost_blob)

        await drained(hub, queue)
        # Task 0 of the current execution is still waiting for its own result; nothing failed.
        history = await client.get_history(instance_id)
        assert events(history, "TaskCompleted") == events(history, "TaskFailed") == []
        assert (await client.get_status(instance_id)).runtime_status is Status.Running

        gate.set()
        status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    expected_blob = blob[last:] + blob[:last]
    assert status.runtime_status is Status.Completed
    assert status.output == {"generation": last, "result": f"real result for {instance_id}", "blob": expected_blob}
    assert (await client.get_status(instance_id, show_input=True)).input_ == {
        "generation": last,
        "last": last,
        "blob": expected_blob,
    }
    # The message whose blob was missing could not even be read: it is set aside, naming the blob, and nothing
    # about it reached the orchestration.
    quarantined = await client.list_quarantined_messages()
    assert [(q.queue, q.instance_id) for q in quarantined] == [(queue, None)]
    assert lost_blob in quarantined[0].reason and "does not exist" in quarantined[0].reason
