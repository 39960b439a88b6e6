"""Managing instances end to end: terminate, suspend and resume, restart, purge, paged queries, scheduled starts.

Every operation goes through the client to a real worker on Azurite; the tests wait on statuses with deadlines.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from durable_storage import DurableOrchestrationClient, InstanceStateError, OrchestrationRuntimeStatus
from durable_storage.testing import wait_until
from tests.e2e.support import events, reaches

pytestmark = pytest.mark.usefixtures("worker")

Status = OrchestrationRuntimeStatus


async def test_terminate_ends_an_instance_that_waits_for_an_event(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("collect", client_input=1)
    await reaches(client, instance_id, Status.Running)

    await client.terminate(instance_id, "the order was cancelled")

    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert status.runtime_status is Status.Terminated
    assert status.output == "the order was cancelled"
    with pytest.raises(InstanceStateError, match="is Terminated"):
        await client.raise_event(instance_id, "Item", "too late")


async def test_events_raised_while_suspended_are_processed_after_resume(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("collect", client_input=2)
    await reaches(client, instance_id, Status.Running)
    await client.suspend(instance_id, "checking the stock")
    await reaches(client, instance_id, Status.Suspended)

    await client.raise_event(instance_id, "Item", "first")
    await client.raise_event(instance_id, "Item", "second")

    async def both_in_history() -> bool:
        history = await client.get_history(instance_id)
        return len(events(history, "EventRaised")) == 2

    # The worker took both events into the history, yet the suspended orchestration did not act on them.
    await wait_until(both_in_history, timeout=20, what="the events to reach the history")
    held = await client.get_status(instance_id)
    assert (held.runtime_status, held.output) == (Status.Suspended, None)

    await client.resume(instance_id, "stock is fine")

    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert status.runtime_status is Status.Completed
    assert status.output == ["first", "second"]


async def test_restart_with_the_same_id_runs_the_instance_again(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("echo_orchestrator", "order-7", {"sku": 42})
    first = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    restarted = await client.restart(instance_id, restart_with_new_instance_id=False)

    assert restarted == instance_id
    again = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert (again.runtime_status, again.output) == (Status.Completed, {"sku": 42})
    assert again.created_time > first.created_time  # a new execution, not the old status read twice
    assert len(await client.get_status_all()) == 1


async def test_restart_with_a_new_id_runs_a_copy_and_leaves_the_original(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("echo_orchestrator", "order-8", {"sku": 43})
    original = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    copy_id = await client.restart(instance_id)

    assert copy_id != instance_id
    copy = await client.wait_for_completion(copy_id, timeout=20, poll_interval=0.1)
    assert (copy.name, copy.runtime_status, copy.output) == ("echo_orchestrator", Status.Completed, {"sku": 43})
    assert await client.get_status(instance_id) == original


async def test_purge_removes_the_history_and_the_instance(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("echo_orchestrator", client_input="to be forgotten")
    await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert await client.get_history(instance_id) != []

    result = await client.purge_instance_history(instance_id)

    assert result.instances_deleted == 1
    assert not await client.get_status(instance_id)
    assert await client.get_history(instance_id) == []
    assert await client.get_status_all() == []
    assert (await client.purge_instance_history(instance_id)).instances_deleted == 0


async def test_list_instances_pages_through_every_instance(client: DurableOrchestrationClient) -> None:
    ids = {await client.start_new("echo_orchestrator", f"batch-{n:02}", n) for n in range(25)}

    async def all_completed() -> bool:
        return len(await client.get_status_by(runtime_status=[Status.Completed])) == 25

    await wait_until(all_completed, timeout=30, interval=0.2, what="25 instances to complete")

    pages = [page async for page in client.list_instances(instance_id_prefix="batch-", page_size=10).by_page()]

    assert [len(page.statuses) for page in pages] == [10, 10, 5]
    assert {s.instance_id for page in pages for s in page.statuses} == ids
    assert [page.continuation_token is None for page in pages] == [False, False, True]
    rest = client.list_instances(instance_id_prefix="batch-", page_size=10).by_page(pages[0].continuation_token)
    assert [s.instance_id async for page in rest for s in page.statuses] == [
        s.instance_id for page in pages[1:] for s in page.statuses
    ]
    assert [s async for s in client.list_instances(runtime_status=[Status.Running])] == []


async def test_a_scheduled_start_stays_pending_until_its_time(client: DurableOrchestrationClient) -> None:
    start_at = datetime.now(timezone.utc) + timedelta(seconds=3)

    instance_id = await client.start_new("started_at", client_input="later", start_at=start_at)

    assert (await client.get_status(instance_id)).runtime_status is Status.Pending

    async def left_pending() -> datetime | None:
        status = await client.get_status(instance_id)
        return datetime.now(timezone.utc) if status.runtime_status is not Status.Pending else None

    seen_running = await wait_until(left_pending, timeout=20, what="the scheduled instance to start")
    assert seen_running >= start_at
    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert status.runtime_status is Status.Completed
    assert status.output["input"] == "later"
    assert datetime.fromisoformat(status.output["ran_at"]) >= start_at
