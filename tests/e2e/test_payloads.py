"""Payloads of 1 MiB end to end: too large for a queue message (64 KiB) or a table property (64 KiB), they travel
through the large-message blobs and come back unchanged; purge deletes those blobs with the instance, and no other
instance's."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from tests.e2e.support import events

pytestmark = pytest.mark.usefixtures("worker")

MIB = 1024 * 1024


def kind(blob_name: str) -> str:
    """What a large-message blob holds, from its name (storage-layout.md §2.3, §3.4)."""
    name = blob_name.split("/", 1)[1].removesuffix(".json.gz")
    if name.startswith("message-"):
        return "message " + name.rsplit("-", 1)[1]  # message-{ActivityId}-{EventType}
    _, row_key, event_type, _, column = name.split("-")  # history-{RowKey}-{EventType}-{random}-{Column}
    return f"Instances {column}" if row_key == "" else f"History {event_type} {column}"


async def test_a_1_mib_input_and_output_round_trip_through_blobs(client: DurableOrchestrationClient) -> None:
    payload = {"document": os.urandom(MIB // 2).hex(), "pages": list(range(100))}  # 1 MiB of text, not compressible
    blobs = client.task_hub.account.blobs
    container = client.task_hub.names.large_messages_container

    instance_id = await client.start_new("relay", "big-order", payload)
    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    assert status.output == payload
    assert (await client.get_status(instance_id, show_input=True)).input_ == payload
    shown = await client.get_status(instance_id, show_history=True, show_history_output=True)
    assert [e["Result"] for e in events(shown.history or [], "TaskCompleted")] == [payload] * 3
    kinds = Counter(kind(name) for name in await blobs.list_names(container, prefix=f"{instance_id}/"))
    # Every queue message and History row that carried it has its blob ...
    assert kinds["message ExecutionStarted"] == kinds["History ExecutionStarted Input"] == 1
    assert kinds["message TaskScheduled"] == kinds["History TaskScheduled Input"] == 3
    assert kinds["message TaskCompleted"] == kinds["History TaskCompleted Result"] == 3
    assert kinds["History ExecutionCompleted Result"] == 1
    # ... and the Instances row's Input is written at create and at the first checkpoint, not at each of the four
    # episodes (a status read that finds the row behind the history may repair it once more).
    assert 2 <= kinds["Instances Input"] <= 3
    assert 1 <= kinds["Instances Output"] <= 2

    await client.purge_instance_history(instance_id)

    assert await blobs.list_names(container, prefix=f"{instance_id}/") == []


async def test_purging_an_id_leaves_the_pending_large_start_of_an_id_it_begins(
    client: DurableOrchestrationClient,
) -> None:
    # The start message of "pq/child" waits in a blob named "pq/child/message-...": the purge of "pq" must not
    # take it, or the start is quarantined and "pq/child" stays Pending for ever.
    payload = "y" * (64 * 1024)
    await client.wait_for_completion(await client.start_new("echo_orchestrator", "pq", payload), timeout=30)
    start_at = datetime.now(timezone.utc) + timedelta(seconds=3)
    await client.start_new("started_at", "pq/child", payload, start_at=start_at)

    assert (await client.purge_instance_history("pq")).instances_deleted == 1

    status = await client.wait_for_completion("pq/child", timeout=30, poll_interval=0.1)
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    assert status.output["input"] == payload
    assert not await client.get_status("pq")
