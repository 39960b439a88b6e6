"""The first episode of a new instance reads no history; a start that finds one after all runs again from storage.

A start of generation 0 whose Instances row is absent or Pending with the same execution is presumed to begin an
instance with no history: the worker skips the History query, and the History write inserts the sentinel row.
The presumption is wrong only when a start is delivered again after its History was written but before the row
was (a crash between the two writes, reliability.md C2): the insert then fails, and the episode runs again from
the stored history, where the start is a duplicate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._storage.history_table import HistoryTable
from durable_storage._storage.tables import WriteMode
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e import apps
from tests.e2e.support import events, fast_options


async def test_a_new_instance_runs_to_completion_without_reading_its_history(
    client: DurableOrchestrationClient, hub: TaskHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    original = HistoryTable.load

    async def load(self: HistoryTable, escaped_id: str, *args: Any, **kwargs: Any) -> Any:
        loads.append(escaped_id)
        return await original(self, escaped_id, *args, **kwargs)

    monkeypatch.setattr(HistoryTable, "load", load)
    async with Worker(client, apps.app, options=fast_options()):
        await client.start_new("relay", "no-reads", "payload")

        async def completed() -> bool:
            # The raw row: a client status query may read the History itself (to repair a row left behind).
            row = await hub.instances.read("no-reads", fetch_payloads=False)
            return row is not None and row.runtime_status is OrchestrationRuntimeStatus.Completed

        await wait_until(completed, timeout=30, what="the instance to complete")
    status = await client.get_status("no-reads")
    assert status is not None and status.output == "payload", status
    # Four episodes, none of which read the History: the first presumed it empty, the others replayed the history
    # their worker had written.
    assert loads == []


async def test_a_start_delivered_again_after_its_history_was_written_is_dropped(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await client.start_new("relay", "twice", "payload")
    # No worker yet: keep a copy of the start message as it sits in its queue.
    partition_queues = [hub.names.control_queue(p) for p in range(hub.names.partition_count)]
    found = [(q, m.body) for q in partition_queues for m in await hub.account.queues.peek(q)]
    assert len(found) == 1, found
    ((queue, start_body),) = found

    async with Worker(client, apps.app, options=fast_options()):
        first = await client.wait_for_completion("twice", timeout=30, poll_interval=0.1)
        assert first.runtime_status is OrchestrationRuntimeStatus.Completed, first

    # What a crash between the History and the Instances writes of the first episode leaves: a history, a Pending
    # row of the same execution, the start message still in its queue, and a worker that remembers nothing.
    row = await hub.instances.read("twice", fetch_payloads=False)
    assert row is not None
    await hub.instances.write(
        replace(row, runtime_status=Status.Pending, output=None, completed_time=None, etag=None),
        mode=WriteMode.UPSERT_REPLACE,
    )
    await hub.account.queues.put(queue, start_body)
    async with Worker(client, apps.app, options=fast_options()):

        async def drained() -> bool:
            # Counted, not peeked: a message put back with a delay is invisible but still there.
            counts = [await hub.account.queues.count(q) for q in [*partition_queues, hub.names.work_item_queue]]
            return not any(counts)

        async def repaired() -> bool:
            status = await client.get_status("twice")
            return status is not None and status.runtime_status is OrchestrationRuntimeStatus.Completed

        await wait_until(drained, timeout=30, what="the copied start (and anything it sent) to be consumed")
        await wait_until(repaired, timeout=30, what="the Pending row to be repaired from history")

    status = await client.get_status("twice")
    assert status is not None and status.output == "payload", status
    history = await client.get_history("twice")
    assert len(events(history, "ExecutionStarted")) == 1
    assert len(events(history, "ExecutionCompleted")) == 1
    assert [e["EventType"] for e in history][-1] == "OrchestratorCompleted"
