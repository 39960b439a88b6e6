"""Worker processes (``python -m durable_storage worker``): a crash loses nothing, a SIGTERM hands everything back.

The processes run with short leases and visibilities (support.PROCESS_TIMINGS), so that the partitions and
messages of a SIGKILLed worker come back within seconds instead of the production defaults' minutes.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import WorkerProcess, events

Status = OrchestrationRuntimeStatus


async def owners(hub: TaskHub) -> set[str | None]:
    """The current owners of the hub's partitions."""
    return {lease.current_owner for lease in await hub.partitions.read_all()}


async def test_orchestrations_survive_a_sigkilled_worker_process(
    client: DurableOrchestrationClient, hub: TaskHub, worker_process: Callable[[], WorkerProcess]
) -> None:
    first = worker_process()
    victim = await first.running()

    async def renewed_every_lease() -> bool:
        leases = await hub.partitions.read_all()
        return all(lease.current_owner == victim and lease.last_renewal != lease.owned_since for lease in leases)

    # A fresh claim lasts a minute (as in the reference); each renewal shortens it to --lease-interval. The crash
    # comes after the first renewal, as it would to a worker that has run for a while.
    await wait_until(renewed_every_lease, timeout=20, what=f"{victim} to renew its leases")
    ids = [await client.start_new("slow_chain", f"order-{n:02}", 0.5) for n in range(20)]

    async def some_activities_done() -> bool:
        histories = [await client.get_history(instance_id) for instance_id in ids[:5]]
        return sum(bool(events(history, "TaskCompleted")) for history in histories) >= 2

    await wait_until(some_activities_done, timeout=30, interval=0.2, what="the first activities to complete")
    first.process.send_signal(signal.SIGKILL)
    assert await first.exited() == -signal.SIGKILL
    unfinished = [s for s in await client.get_status_all() if not s.runtime_status.is_terminal]
    assert unfinished, "the worker was killed too late: every orchestration had already finished"

    second = worker_process()
    successor = await second.running()

    for instance_id in ids:
        status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.5)
        assert (status.runtime_status, status.output) == (Status.Completed, [1.0, 2.0, ["item 0", "item 1", "item 2"]])
    assert await owners(hub) == {successor}  # it took over every partition of the dead worker


async def test_sigterm_drains_the_worker_process_releases_its_partitions_and_exits_0(
    client: DurableOrchestrationClient, hub: TaskHub, worker_process: Callable[[], WorkerProcess]
) -> None:
    process = worker_process()
    worker_id = await process.running()

    async def owns_every_partition() -> bool:
        return await owners(hub) == {worker_id}

    await wait_until(owns_every_partition, timeout=20, what=f"{worker_id} to own every partition")
    instance_id = await client.start_new("echo_orchestrator", client_input="served by a process")
    served = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert served.output == "served by a process"

    process.process.send_signal(signal.SIGTERM)

    assert await process.exited() == 0
    assert await owners(hub) == {None}
    assert "stopping: draining and releasing partitions" in process.output
