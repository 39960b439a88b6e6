"""The Instances row is written under its ETag: a stalled worker cannot put an old status over a newer one.

reliability.md T20: a worker that wrote History and then stalled before its Instances write must not, on waking,
write Running over the Completed status that a later checkpoint (by another worker) wrote. A write that lost only
to the client (nobody checkpointed after us: the History sentinel is still ours) is written again.
"""

from __future__ import annotations

from dataclasses import replace

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.tables import WriteMode
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.testing.history import HistoryBuilder
from durable_storage.worker._checkpoint import _write_instance_fenced
from tests.e2e import apps
from tests.e2e.support import fast_options

Status = OrchestrationRuntimeStatus


async def test_a_stalled_workers_status_write_does_not_replace_a_later_checkpoints(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    async with Worker(client, apps.app, options=fast_options()):
        instance_id = await client.start_new("approval", "stalled", 300)

        async def waiting() -> bool:
            # History first, then the Instances row (the checkpoint's order): wait for both.
            timer_set = any(e["EventType"] == "TimerCreated" for e in await client.get_history(instance_id))
            row = await hub.instances.read(instance_id, fetch_payloads=False)
            return timer_set and row is not None and row.runtime_status is Status.Running

        await wait_until(waiting, timeout=30, what="the approval to wait")
        # What a worker holds just after its History write, before it stalls: the row's ETag and the sentinel.
        before = await hub.instances.read(instance_id, fetch_payloads=False)
        sentinel = (await hub.history.load(instance_id)).etag
        assert before is not None and before.runtime_status is Status.Running and sentinel is not None
        await client.raise_event(instance_id, "Approval", "alice")
        done = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
        assert done.runtime_status is Status.Completed

    stale = replace(before, custom_status='"stale"')
    written = await _write_instance_fenced(
        hub, instance_id, stale, new_execution=False, etag=before.etag, sentinel=sentinel
    )

    assert written is None
    after = await client.get_status(instance_id)
    assert (after.runtime_status, after.output, after.custom_status) == (Status.Completed, "approved by alice", None)


async def test_a_status_write_that_lost_only_to_the_client_is_written_again(hub: TaskHub) -> None:
    instance_id = "fenced"
    history = HistoryBuilder(instance_id, execution_id="e1").started("approval", input=300).past
    sentinel = await hub.history.append(instance_id, "e1", history, first_index=0, etag=None)
    row = InstanceRecord(
        instance_id=instance_id, name="approval", execution_id="e1", runtime_status=Status.Running, custom_status="1"
    )
    seen = await hub.instances.write(row, mode=WriteMode.UPSERT_REPLACE)
    # Meanwhile a client wrote the row (as a terminate of a Pending instance or a repair would).
    await hub.instances.write(replace(row, custom_status="2"), mode=WriteMode.MERGE)

    written = await _write_instance_fenced(
        hub, instance_id, replace(row, custom_status="3"), new_execution=False, etag=seen, sentinel=sentinel
    )

    assert written is not None
    stored = await hub.instances.read(instance_id, fetch_payloads=False)
    assert stored is not None and stored.custom_status == "3"
