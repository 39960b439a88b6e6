"""A worker replays from the history it wrote last, but never builds on a history someone else moved on.

After its checkpoint a worker keeps the instance's history in memory (worker/_memory.py) instead of reading it
again for the next episode. Here, behind the worker's back, another writer appends an episode to the History (as
a worker that owned the partition for a while would): an event the remembered history does not have. The next
message must not be applied to the stale copy: the History write fails on the sentinel ETag, the memory is
dropped, and the episode runs again from storage, so the orchestration sees both events.
"""

from __future__ import annotations

from typing import Any

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._clock import utcnow
from durable_storage.history import EventRaisedEvent, OrchestratorCompletedEvent, OrchestratorStartedEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import events, fast_options

app = df.App()


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext) -> Any:
    first = yield context.wait_for_external_event("first")
    second = yield context.wait_for_external_event("second")
    return [first, second]


async def test_a_history_moved_on_by_another_writer_is_read_again_not_built_upon(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("two_events", "moved-on")

        async def waiting() -> bool:
            return bool(events(await client.get_history(instance_id), "OrchestratorCompleted"))

        await wait_until(waiting, timeout=20, what="the instance to wait for its first event")

        # Another writer checkpoints an episode: the "first" event, which this worker never received.
        loaded = await hub.history.load(instance_id)
        assert loaded.execution_id is not None
        now = utcnow()
        episode = [
            OrchestratorStartedEvent(timestamp=now),
            EventRaisedEvent(timestamp=now, name="first", input='"from elsewhere"'),
            OrchestratorCompletedEvent(timestamp=now),
        ]
        await hub.history.append(
            instance_id, loaded.execution_id, episode, first_index=len(loaded.events), etag=loaded.etag
        )

        await client.raise_event(instance_id, "second", "from here")
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    assert status.output == ["from elsewhere", "from here"]
    history = await client.get_history(instance_id)
    assert [e["Name"] for e in events(history, "EventRaised")] == ["first", "second"]
    assert len(events(history, "ExecutionCompleted")) == 1
