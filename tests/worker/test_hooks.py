"""A worker's test seams are passed in: crash points and the dequeue trace (``Worker(hooks=...)``), the clock and
storage faults (``TaskHub(clock=..., faults=...)``), each for that worker or hub alone, never for the whole process.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._clock import SkewedClock, utcnow
from durable_storage.errors import ConfigurationError
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing.faults import FaultPlan, FaultRule
from durable_storage.worker import CrashAt, JsonLinesTrace, WorkerHooks
from tests.e2e import apps
from tests.e2e.support import fast_options


async def test_a_worker_tells_its_hooks_each_crash_point_in_commit_order(client: DurableOrchestrationClient) -> None:
    reached: list[str] = []
    hooks = WorkerHooks(crash_point=reached.append)
    async with Worker(client, apps.app, options=fast_options(), hooks=hooks):
        await client.start_new("echo_orchestrator", "hooked", "x")
        status = await client.wait_for_completion("hooked", timeout=20, poll_interval=0.1)
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    # Two episodes (the start, the activity's result), each committed in four steps; one activity reply.
    assert [name for name in reached if name.startswith("C")] == ["C1", "C2", "C3", "C4"] * 2
    assert [name for name in reached if name.startswith("A")] == ["A1", "A2"]


async def test_the_dequeue_trace_hook_sees_every_loop_from_listen_to_stop(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    events: list[tuple[str, str, str]] = []
    hooks = WorkerHooks(dequeue_trace=lambda worker, queue, event: events.append((worker, queue, event)))
    async with Worker(client, apps.app, options=fast_options(), hooks=hooks) as worker:
        await client.start_new("echo_orchestrator", "traced", "x")
        await client.wait_for_completion("traced", timeout=20, poll_interval=0.1)
    for queue in hub.names.control_queues:
        seen = [event for who, where, event in events if (who, where) == (worker.worker_id, queue)]
        assert seen[0] == "listen" and seen[-1] == "stop", (queue, seen)
    home = hub.control_queue_of("traced")
    assert home in {queue for _, queue, event in events if event == "receive"}


def test_a_file_trace_writes_from_its_own_thread_never_from_the_caller(tmp_path: Path) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)  # opening it to write blocks until a reader comes: a write on the caller's thread would hang
    trace = JsonLinesTrace(fifo)
    trace("worker-a", "hub-control-00", "listen")
    with fifo.open(encoding="utf-8") as reader:
        line = json.loads(reader.readline())
        trace.close()
    assert (line["worker"], line["queue"], line["event"]) == ("worker-a", "hub-control-00", "listen")
    assert not any(thread.name == "dequeue-trace" for thread in threading.enumerate())


async def test_a_hubs_clock_and_faults_are_its_own_not_the_processs(
    connection_string: str, client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    plan = FaultPlan([FaultRule(service="queue", operation="get_queue_properties", server_busy=1.0, limit=1)])
    ahead = TaskHub.from_connection_string(
        connection_string, task_hub=hub.name, retry=FAST_RETRY, clock=SkewedClock(3600), faults=plan
    )
    async with ahead:
        await hub.account.queues.count(hub.names.work_item_queue)
        assert plan.total == 0  # the other hub of this process sends untouched
        await ahead.account.queues.count(hub.names.work_item_queue)
        assert plan.total == 1
        async with Worker(ahead, apps.app, options=fast_options()):
            await client.start_new("started_at", "an-hour-ahead", 1)
            status = await client.wait_for_completion("an-hour-ahead", timeout=20, poll_interval=0.1)
    ran_at = datetime.fromisoformat(status.output["ran_at"])
    assert timedelta(minutes=59) < ran_at - utcnow() < timedelta(minutes=61)  # the worker's episode, by its clock
    assert abs(status.created_time - utcnow()) < timedelta(minutes=1)  # the client's start, by the machine's


@pytest.mark.parametrize("value", ["C2", "C2:0", ":3", "C2:x", "C2:-1"])
def test_a_malformed_crash_point_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"crash point {value!r} is invalid: must be NAME:N"):
        CrashAt.parse(value)


def test_hooks_must_be_functions() -> None:
    with pytest.raises(ConfigurationError, match="crash_point 'C2:3' is invalid: must be a function or None"):
        WorkerHooks(crash_point="C2:3")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="clock skew inf is invalid"):
        SkewedClock(float("inf"))
