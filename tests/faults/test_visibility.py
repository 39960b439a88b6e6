"""T17, renewal off (reliability.md §5.2): an activity outlives its work item's visibility and nothing renews it.

The renewal-on half is tests/e2e/test_resilience.py (the activity runs once). Here the worker process's fault
plan refuses every Update Message on the work-item queue, so the message reappears while its activity still
runs and is run a second time beside the first. What a user must see: the orchestration completes once with the
right output; its history holds one TaskScheduled and one TaskCompleted (the second result is dropped); the
first run's delete, made with a pop receipt the second receive replaced, is tolerated rather than failing the
worker; and once both runs are over the queues are empty (no third run, nothing left to cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.testing.faults import FaultPlan, FaultRule
from tests.e2e.support import PROCESS_TIMINGS, WorkerProcess, events, ledger_counts

VISIBILITY = float(PROCESS_TIMINGS["--work-item-visibility"])
NO_RENEWALS = FaultPlan(
    [FaultRule(service="queue", operation="update_message", resource="*-workitems", server_busy=1.0)]
)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
async def test_without_renewal_a_long_activity_keeps_one_result(
    workers: int,
    hub: TaskHub,
    client: DurableOrchestrationClient,
    worker_process: Callable[..., WorkerProcess],
    ledger: Path,
) -> None:
    processes = [worker_process("--faults", NO_RENEWALS.to_json()) for _ in range(workers)]
    for process in processes:
        await process.running()
    instance_id = await client.start_new("one_slow_step", f"outlives-{workers}", VISIBILITY + 1.5)

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
    assert (status.runtime_status, status.output) == (OrchestrationRuntimeStatus.Completed, instance_id.upper())

    async def settled() -> bool:
        # The approximate count includes hidden messages: a work item still running is not "empty".
        names = [*(hub.names.control_queue(p) for p in range(hub.partition_count)), hub.names.work_item_queue]
        return all([await hub.account.queues.count(name) == 0 for name in names])

    await wait_until(settled, timeout=30, interval=0.2, what="every run to end and the queues to drain")
    history = await client.get_history(instance_id)
    assert [len(events(history, kind)) for kind in ("TaskScheduled", "TaskCompleted", "ExecutionCompleted")] == [
        1,
        1,
        1,
    ]
    output = "".join(process.output for process in processes)
    assert "injected server_busy into queue update_message" in output, "renewals were not refused"
    assert "surfaced again" in output or "received again elsewhere" in output, "the visibility never lapsed"
    assert "Traceback" not in output, output
    assert all(process.process.poll() is None for process in processes), output
    runs = ledger_counts(ledger)[instance_id]
    # One worker adopts the copy it receives again; with two, the other one may run it a second time, but a copy
    # received once the first result is in the history is deleted unrun.
    assert runs == 1 if workers == 1 else 1 <= runs <= 2, runs
    print(f"T17 renewal off, {workers} worker(s): the activity ran {runs} time(s), one result was kept")
