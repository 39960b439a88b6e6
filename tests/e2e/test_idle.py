"""An idle worker backs off to one poll per queue per ``max_polling_interval``, and still starts work within it.

Requests are not counted at Azurite; the back-off is read from the worker's own ``Backoff`` of each queue: the wait
after an empty poll is the longest the next poll can be delayed, and its inverse bounds the polls per second.
"""

from __future__ import annotations

from datetime import datetime

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker, WorkerOptions
from durable_storage.testing import wait_until
from tests.e2e import apps


async def test_an_idle_worker_polls_at_its_maximum_interval_and_a_new_step_starts_within_it(
    client: DurableOrchestrationClient,
) -> None:
    options = WorkerOptions()  # production polling: from 10 ms up to 1 s
    async with Worker(client, apps.app, options=options) as worker:

        async def every_queue_backed_off() -> bool:
            backoffs = [worker.activities.backoff, *worker.orchestrations.backoffs.values()]
            return len(backoffs) == 1 + client.task_hub.partition_count and all(
                backoff.interval == options.max_polling_interval for backoff in backoffs
            )

        # At most one receive per second per queue: 5 requests a second for this idle hub of 4 partitions.
        await wait_until(every_queue_backed_off, timeout=15, what="every queue to back off to 1 s")

        instance_id = await client.start_new("echo_orchestrator", client_input="after a pause")
        status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    history = await client.get_history(instance_id)
    sent = datetime.fromisoformat(history[1]["Timestamp"].replace("Z", "+00:00"))  # ExecutionStarted: the client
    first_episode = datetime.fromisoformat(history[0]["Timestamp"].replace("Z", "+00:00"))  # OrchestratorStarted
    assert [history[0]["EventType"], history[1]["EventType"]] == ["OrchestratorStarted", "ExecutionStarted"]
    # The start waited for the next poll of its backed-off queue: at most the 1 s maximum (plus a moment to load).
    assert (first_episode - sent).total_seconds() < options.max_polling_interval + 0.5
