"""T06 (reliability.md §5.2): storage 5xx, failed connections and ambiguous writes under worker processes.

Two worker processes run ``ledger_chain`` orchestrations while ``durable_storage.testing.faults`` (``--faults``)
fails their storage requests below the retry policy. Phase one: 10 % of every request fails with 503 ServerBusy,
500 OperationTimedOut or a connection error. Phase two: 20 % of Put Message, the History batch, Delete Message
and the lease writes (Partitions table Replace) are executed by the service and then reported as failed, the
ambiguous failure that turns a retried write into a duplicate or a 409/412.

What a user must see either way: every orchestration completes with the right output, its history records one
ExecutionCompleted, the Instances table agrees, and the queues drain. Activities may run more than once
(at least once); the test prints how often they did.

Below it: the transport itself (request classification, closing), and three library bugs the fault injection
found, each reproduced in-process with one targeted fault (all three fixed since).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage.errors import InstanceAlreadyExistsError
from durable_storage.history import EventType
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.testing.faults import FaultPlan, FaultRule, classify
from tests.e2e import apps
from tests.e2e.support import WorkerProcess, chain_output, fast_options, start_worker_process, stop_for_good
from tests.faults.invariants import Report, check_invariants

pytestmark = pytest.mark.timeout(150)

STEPS = 3
INSTANCES_PER_PHASE = 30
WORKERS = 2

BACKGROUND = FaultPlan([FaultRule(server_busy=0.04, operation_timeout=0.03, connection_error=0.03)], seed=606)
AMBIGUOUS_TARGETS = (
    ("queue", "put_message", "*"),
    ("table", "batch", "*History"),
    ("queue", "delete_message", "*"),
    ("table", "update_entity", "*Partitions"),  # lease claims, renewals and releases
)
AMBIGUOUS = FaultPlan(
    [
        FaultRule(service=service, operation=operation, resource=resource, execute_then_fail=0.2)
        for service, operation, resource in AMBIGUOUS_TARGETS
    ],
    seed=607,
)
_INJECTED = re.compile(r"durable_storage\.testing\.faults: injected (\w+) into (\w+) (\w+) ")

Spawn = Callable[[FaultPlan, Path], WorkerProcess]


@pytest.fixture
def spawn(connection_string: str, hub: TaskHub, tmp_path: Path) -> Iterator[Spawn]:
    """Start a worker process of ``tests.e2e.apps:app`` whose storage requests fail as ``plan`` says."""
    started: list[WorkerProcess] = []

    def start(plan: FaultPlan, ledger: Path) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        environment = {apps.LEDGER_VARIABLE: str(ledger)}
        started.append(start_worker_process(connection_string, hub, log, environment, ("--faults", plan.to_json())))
        return started[-1]

    yield start
    for worker in started:
        stop_for_good(worker)


@dataclass(frozen=True)
class PhaseReport:
    """What one phase injected, what it cost, and what the invariant checker found."""

    name: str
    completed_after: float
    faults: Counter[tuple[str, str, str]]
    lost_checkpoints: int
    invariants: Report

    def line(self) -> str:
        kinds = Counter[str]()
        for (kind, _, _), count in self.faults.items():
            kinds[kind] += count
        return (
            f"{self.invariants.line(f'T06 {self.name}')}; completed in {self.completed_after:.1f} s; "
            f"{sum(kinds.values())} faults injected {dict(sorted(kinds.items()))}; "
            f"{self.lost_checkpoints} checkpoints lost to a conflict"
        )


def injected(workers: list[WorkerProcess]) -> Counter[tuple[str, str, str]]:
    """The faults the workers' transports injected, by (kind, service, operation), from their logs."""
    found: Counter[tuple[str, str, str]] = Counter()
    for worker in workers:
        found.update(match.groups() for match in _INJECTED.finditer(worker.output))
    return found


async def all_ended(hub: TaskHub, instance_ids: list[str]) -> bool:
    """True when every instance's history has ended (its ExecutionCompleted is written)."""
    loaded = await asyncio.gather(*(hub.history.load(i) for i in instance_ids))
    return all(any(e.event_type is EventType.ExecutionCompleted for e in history.events) for history in loaded)


async def stop(workers: list[WorkerProcess]) -> None:
    """SIGTERM every worker (they drain and release their partitions); each must exit cleanly."""
    for worker in workers:
        assert worker.process.poll() is None, f"a worker died under the faults:\n{worker.output[-3000:]}"
        worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        code = await worker.exited(timeout=40)
        assert code == 0, f"worker exited with {code}:\n{worker.output[-3000:]}"


async def run_phase(
    name: str, plan: FaultPlan, *, spawn: Spawn, client: DurableOrchestrationClient, hub: TaskHub, tmp_path: Path
) -> PhaseReport:
    """Run ``INSTANCES_PER_PHASE`` ledger chains on workers injecting ``plan``; check I1-I5 while they still run."""
    began = time.monotonic()
    ledger = tmp_path / f"{name}-ledger.txt"
    workers = [spawn(plan, ledger) for _ in range(WORKERS)]
    await asyncio.gather(*(worker.running() for worker in workers))
    instance_ids = [f"{name}-{n:03d}" for n in range(INSTANCES_PER_PHASE)]
    await asyncio.gather(*(client.start_new("ledger_chain", i, STEPS) for i in instance_ids))

    await wait_until(lambda: all_ended(hub, instance_ids), timeout=90, interval=0.25, what=f"{name} to complete")
    completed_after = time.monotonic() - began
    expected = {i: chain_output(i, STEPS) for i in instance_ids}
    report = await check_invariants(client, hub, expected=expected, ledger=ledger, steps=STEPS, settle_timeout=40)
    await stop(workers)
    lost = sum(worker.output.count("lost to another worker") for worker in workers)
    return PhaseReport(name, completed_after, injected(workers), lost, report)


async def test_orchestrations_complete_exactly_once_under_storage_faults(
    spawn: Spawn, client: DurableOrchestrationClient, hub: TaskHub, tmp_path: Path
) -> None:
    background = await run_phase("busy", BACKGROUND, spawn=spawn, client=client, hub=hub, tmp_path=tmp_path)
    print(background.line())
    ambiguous = await run_phase("ambiguous", AMBIGUOUS, spawn=spawn, client=client, hub=hub, tmp_path=tmp_path)
    print(ambiguous.line())

    # The faults did happen, of every kind and on every targeted operation.
    kinds = {kind for kind, _, _ in background.faults}
    assert kinds == {"server_busy", "operation_timeout", "connection_error"}
    assert {service for _, service, _ in background.faults} >= {"queue", "table"}
    hit = {(service, operation) for _, service, operation in ambiguous.faults}
    assert hit == {(service, operation) for service, operation, _ in AMBIGUOUS_TARGETS}


# --- the transport itself -----------------------------------------------------------------------------------------

_BASE = "http://127.0.0.1:1/devstoreaccount1"
_BATCH = f"--batch_1\r\n\r\nPUT {_BASE}/HubHistory(PartitionKey='a',RowKey='b') HTTP/1.1\r\n".encode()
_ENTITY = "(PartitionKey='p',RowKey='r')"


@pytest.mark.parametrize(
    ("service", "method", "url", "body", "expected"),
    [
        ("queue", "POST", f"{_BASE}/q-control-00/messages", None, ("put_message", "q-control-00")),
        (
            "queue",
            "GET",
            "https://acct.queue.core.windows.net/q/messages?numofmessages=32",
            None,
            ("get_messages", "q"),
        ),
        ("queue", "GET", f"{_BASE}/q/messages?peekonly=true", None, ("peek_messages", "q")),
        ("queue", "DELETE", f"{_BASE}/q/messages/id-1?popreceipt=x", None, ("delete_message", "q")),
        ("queue", "PUT", f"{_BASE}/q/messages/id-1?popreceipt=x", None, ("update_message", "q")),
        ("queue", "PUT", f"{_BASE}/q", None, ("create_queue", "q")),
        ("table", "POST", f"{_BASE}/$batch", _BATCH, ("batch", "HubHistory")),
        ("table", "PUT", f"{_BASE}/HubPartitions{_ENTITY}", None, ("update_entity", "HubPartitions")),
        ("table", "PATCH", f"{_BASE}/HubInstances{_ENTITY}", None, ("merge_entity", "HubInstances")),
        ("table", "POST", f"{_BASE}/HubInstances", None, ("insert_entity", "HubInstances")),
        ("table", "GET", f"{_BASE}/HubHistory()?$filter=x", None, ("query_entities", "HubHistory")),
        ("table", "POST", f"{_BASE}/Tables", '{"TableName": "HubHistory"}', ("create_table", "HubHistory")),
        ("blob", "PUT", f"{_BASE}/hub-largemessages?restype=container", None, ("put_container", "hub-largemessages")),
        ("blob", "GET", f"{_BASE}/hub-largemessages/i/m.json.gz", None, ("get_blob", "hub-largemessages")),
    ],
)
def test_requests_are_classified_by_service_operation_and_resource(
    service: str, method: str, url: str, body: object, expected: tuple[str, str]
) -> None:
    kind = classify(service, method, url, body, base_path="/devstoreaccount1")
    assert (kind.service, kind.operation, kind.resource) == (service, *expected)


def faulty_plan(*rules: FaultRule) -> FaultPlan:
    """A plan of ``rules`` with a seed of its own."""
    return FaultPlan(rules, seed=uuid.uuid4().int % 2**32)


async def test_closing_a_hub_closes_its_fault_injecting_transports(connection_string: str, hub: TaskHub) -> None:
    plan = faulty_plan(FaultRule(service="queue", operation="get_queue_properties", server_busy=1.0, limit=1))
    faulty = TaskHub.from_connection_string(connection_string, task_hub=hub.name, retry=FAST_RETRY, faults=plan)
    async with faulty:
        assert await faulty.account.queues.count(hub.names.work_item_queue) == 0  # the 503 was retried
        transports = list(plan.transports)
        assert sorted(t.service or "" for t in transports) == ["blob", "queue", "table"]
        assert not any(t.closed for t in transports)
    assert plan.by_kind()["server_busy"] == 1
    assert all(t.closed for t in transports)


async def test_a_start_whose_row_write_landed_but_whose_response_was_lost_still_succeeds(
    connection_string: str, client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    rule = FaultRule(service="table", operation="insert_entity", resource="*Instances", execute_then_fail=1.0, limit=1)
    plan = faulty_plan(rule)
    faulty = DurableOrchestrationClient.from_connection_string(  # a client of that hub whose storage calls fail
        connection_string, task_hub=hub.name, partition_count=hub.partition_count, retry=FAST_RETRY, faults=plan
    )
    async with faulty:
        try:
            assert await faulty.start_new("ledger_chain", "ambiguous-start", 1) == "ambiguous-start"
        finally:
            # Whatever start_new said, the instance exists: the message was sent and the row written.
            status = await client.get_status("ambiguous-start")
            assert status.runtime_status is OrchestrationRuntimeStatus.Pending
            with pytest.raises(InstanceAlreadyExistsError):
                await faulty.start_new("ledger_chain", "ambiguous-start", 1)  # so the caller can never "retry"


async def test_a_failed_page_of_a_receive_does_not_hide_the_messages_already_dequeued(
    connection_string: str, hub: TaskHub
) -> None:
    queue = hub.names.work_item_queue
    await hub.account.queues.put(queue, "work")
    # The first Get Messages request passes (it dequeues the message), the second one gets a 503.
    rule = FaultRule(service="queue", operation="get_messages", server_busy=1.0, skip=1, limit=1)
    plan = faulty_plan(rule)
    async with TaskHub.from_connection_string(
        connection_string, task_hub=hub.name, retry=FAST_RETRY, faults=plan
    ) as faulty:
        received = await faulty.account.queues.receive(queue, visibility=300)
    assert [message.body for message in received] == ["work"]  # today: [], and the message hidden for 300 s


renewal_app = df.App()
renewal_runs: list[str] = []


@renewal_app.activity_trigger(input_name="key")
async def outlives_renewal(key: str) -> str:
    renewal_runs.append(key)
    await asyncio.sleep(1.5)  # its message is 2 s visible: renewed once, after 1 s
    return key.upper()


@renewal_app.orchestration_trigger(context_name="context")
def renewing(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("outlives_renewal", context.instance_id))


async def test_one_failed_visibility_renewal_does_not_throw_a_finished_activity_away(
    connection_string: str, client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    rule = FaultRule(service="queue", operation="update_message", operation_timeout=1.0, limit=1)
    faulty = TaskHub.from_connection_string(
        connection_string,
        task_hub=hub.name,
        partition_count=hub.partition_count,
        retry=FAST_RETRY,
        faults=faulty_plan(rule),
    )
    renewal_runs.clear()
    async with faulty, Worker(faulty, renewal_app, options=fast_options(work_item_visibility=2)):
        await client.start_new("renewing", "renewed-once")
        status = await client.wait_for_completion("renewed-once", timeout=20, poll_interval=0.1)
    assert status.output == "RENEWED-ONCE"
    assert renewal_runs == ["renewed-once"]  # today: two runs, the first one's result discarded
