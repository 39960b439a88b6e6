"""wait_for_completion: poll until Completed, Failed, Terminated or Canceled, or time out naming the instance.

No worker runs: tests write the terminal row a worker would write. ContinuedAsNew is not an end.
"""

from __future__ import annotations

import asyncio

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import ended, history, write_history, write_row


async def test_it_times_out_naming_the_instance_and_its_last_status(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "slow", Status.Running)

    with pytest.raises(TimeoutError, match=r"instance 'slow' did not finish within 0.2 s: it is Running"):
        await client.wait_for_completion("slow", timeout=0.2, poll_interval=0.05)


@pytest.mark.parametrize("status", [Status.Pending, Status.Suspended, Status.ContinuedAsNew])
async def test_a_zero_timeout_checks_once(client: DurableOrchestrationClient, hub: TaskHub, status: Status) -> None:
    await write_row(hub, "once", status)

    with pytest.raises(TimeoutError, match=rf"within 0 s: it is {status.name}"):
        await client.wait_for_completion("once", timeout=0)
    with pytest.raises(TimeoutError, match=r"'ghost' did not finish within 0 s: it is not found"):
        await client.wait_for_completion("ghost", timeout=0)


@pytest.mark.parametrize("status", [Status.Completed, Status.Failed, Status.Terminated, Status.Canceled])
async def test_an_instance_that_ended_returns_at_once(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "over", status, output='"result"')

    result = await client.wait_for_completion("over", timeout=0)

    assert result.runtime_status is status and result.instance_id == "over"


async def test_it_returns_once_the_row_becomes_terminal(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    await write_row(hub, "soon", Status.Running)
    waiting = asyncio.create_task(client.wait_for_completion("soon", timeout=30, poll_interval=0.05))

    await client.get_status("soon")  # a storage round trip while the waiter polls
    still_waiting = not waiting.done()
    await write_row(hub, "soon", Status.Completed, output='{"total": 3}')
    status = await asyncio.wait_for(waiting, 10)

    assert still_waiting
    assert status.runtime_status is Status.Completed and status.output == {"total": 3}


async def test_a_row_left_running_by_a_crashed_worker_still_completes_the_wait(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_history(hub, "stale", ended(history("stale").started("hello"), Status.Completed, result='"ok"'))
    await write_row(hub, "stale", Status.Running)

    status = await client.wait_for_completion("stale", timeout=5)

    assert status.runtime_status is Status.Completed and status.output == "ok"
