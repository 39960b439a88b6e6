"""T04 (reliability.md §5.2): two workers both believe they own the same partition.

A port of DTFx's ``MultipleWorkersAttemptingToCompleteSameWorkItem``. Worker A owns the hub's only partition and
holds two work items in episodes that cannot finish (its replay thread waits on a gate):

- ``first``, the first episode of a new instance (its History does not exist yet);
- ``later``, the event episode of an instance that is already running (its History exists).

The test then moves the lease row to worker B behind A's back (A's next renewal is far away, so A still believes
it owns the partition: split brain). A's queue refuses A's requests to keep its messages hidden (as a worker cut
off from its queue, or paused, stops renewing them), so B receives both messages once A's visibility lapses and
completes both instances. Then the gate opens and A tries to commit what it ran. What a user must see: A's
checkpoints are refused by storage, 409 for the new instance's first History write and 412 for the running
instance's sentinel ETag; A commits nothing (the first instance's episode runs again from the stored history,
where B's execution has ended, so its start is dropped as a duplicate) and puts the other's messages back instead
of deleting them; each instance has B's output and one ExecutionCompleted, and its Instances row agrees with its
History (I1-I3).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker, WorkerOptions
from durable_storage._clock import utcnow
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.testing.faults import FaultPlan, FaultRule
from tests.e2e.support import events
from tests.hubs import fresh_hub

# A healthy worker renews the visibility of the messages it holds: only refused renewals let them lapse under it.
NO_CONTROL_RENEWALS = FaultPlan(
    [FaultRule(service="queue", operation="update_message", resource="*-control-*", server_busy=1.0)], seed=4
)


def versions(owner: str, gate: threading.Event | None, holding: threading.Event | None) -> df.App:
    """The same two orchestrators; with a ``gate``, each first live step waits for it (A's copy)."""
    app = df.App()

    def hold() -> None:
        if gate is not None and holding is not None:
            holding.set()
            assert gate.wait(60), "the gate never opened"

    @app.orchestration_trigger(context_name="context")
    def first(context: df.DurableOrchestrationContext) -> Any:
        if not context.is_replaying:
            hold()
        return owner

    @app.orchestration_trigger(context_name="context")
    def later(context: df.DurableOrchestrationContext) -> Any:
        value = yield context.wait_for_external_event("go")
        if not context.is_replaying:
            hold()
        return f"{owner}:{value}"

    return app


def options(worker_id: str, **changes: Any) -> WorkerOptions:
    settings: dict[str, Any] = {
        "lease_interval": 60,
        "lease_renew_interval": 30,  # A's next renewal (which would notice) comes after the test
        "control_queue_visibility": 2,
        "max_polling_interval": 0.1,
        # A's replay threads wait on the gate on purpose, longer than the default replay deadline would allow.
        "replay_deadline": 120,
    }
    return WorkerOptions(worker_id=worker_id, **{**settings, **changes})


@pytest.fixture
async def one_partition(connection_string: str) -> AsyncIterator[TaskHub]:
    async with fresh_hub(connection_string, partition_count=1) as hub:
        yield hub


async def test_the_worker_that_lost_its_lease_unknowingly_commits_nothing(
    connection_string: str, one_partition: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = one_partition
    caplog.set_level(logging.WARNING, logger="durable_storage.worker")
    gate, holding = threading.Event(), threading.Event()
    # Only A's requests meet the faults; B and the test's client reach storage untouched.
    a_hub = TaskHub.from_connection_string(
        connection_string, task_hub=hub.name, partition_count=1, retry=FAST_RETRY, faults=NO_CONTROL_RENEWALS
    )
    async with (
        a_hub,
        DurableOrchestrationClient.from_connection_string(
            connection_string, task_hub=hub.name, partition_count=1, retry=FAST_RETRY
        ) as client,
    ):
        # A polls rarely once idle (every 8-16 s), so that B, polling often, receives the messages when A's
        # visibility lapses and finishes with them before A could receive them again.
        a = Worker(
            a_hub,
            versions("A", gate, holding),
            options=options("A", min_polling_interval=8.0, max_polling_interval=16.0),
        )
        await a.start()
        try:
            later = await client.start_new("later", "later")

            async def waits() -> bool:
                return bool(events(await client.get_history(later), "OrchestratorCompleted"))

            await wait_until(waits, timeout=20, what="'later' to wait for its event")
            first = await client.start_new("first", "first")

            async def held() -> bool:
                return holding.is_set()

            await wait_until(held, timeout=20, what="A to hold the first episode of 'first'")
            await client.raise_event(later, "go", "now")
            queue = hub.names.control_queue(0)

            async def a_holds_the_event() -> bool:
                return not await hub.account.queues.peek(queue) and await hub.account.queues.count(queue) >= 2

            await wait_until(a_holds_the_event, timeout=40, interval=0.05, what="A to receive the event for 'later'")

            # Split brain: the row now names B, and A, whose next renewal is 30 s away, still believes it owns it.
            (lease,) = await hub.partitions.read_all()
            await hub.partitions.replace(lease.with_changes(current_owner="B", expires_at=utcnow() + timedelta(60)))
            async with Worker(client, versions("B", None, None), options=options("B", lease_renew_interval=1)):
                done = {}
                for instance_id in (first, later):
                    done[instance_id] = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
                assert done[first].output == "B" and done[later].output == "B:now", done

                gate.set()  # A's episodes finish and try to commit

                async def refused(instance_id: str) -> str | None:
                    for record in caplog.records:
                        # "lost to another worker", or for a new instance's first episode "refused ...: it has a
                        # history after all" (it then runs again from storage, where B's execution has ended).
                        if record.getMessage().startswith(f"checkpoint of {instance_id} "):
                            return record.getMessage()
                    return None

                refusals = {
                    i: await wait_until(lambda i=i: refused(i), timeout=20, what=f"A's refusal of {i}") for i in done
                }
        finally:
            gate.set()
            await a.close()

        print(f"T04: {refusals}")
        assert "(HTTP 409)" in refusals[first], refusals[first]  # the first History write: the rows exist
        assert "(HTTP 412:" in refusals[later], refusals[later]  # the sentinel ETag moved on
        for instance_id, output in ((first, "B"), (later, "B:now")):
            status = await client.get_status(instance_id)
            assert (status.runtime_status, status.output) == (OrchestrationRuntimeStatus.Completed, output)
            history = await client.get_history(instance_id)
            assert len(events(history, "ExecutionCompleted")) == 1, history
        assert len(events(await client.get_history(later), "EventRaised")) == 1
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
        assert await hub.account.queues.count(queue) == 0
