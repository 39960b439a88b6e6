"""Durable entities end to end on Azurite: signals and calls from orchestrations and clients, failures, locks.

The entities (``counter``, a function; ``Account``, a class) and the orchestrations that use them are in
``tests.e2e.apps``; an in-process worker (the ``worker`` fixture) or worker processes run them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage import (
    ConfigurationError,
    DurableOrchestrationClient,
    EntityId,
    OrchestrationRuntimeStatus,
    Worker,
)
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import WorkerProcess, output_of_run

Status = OrchestrationRuntimeStatus


async def value_of(client: DurableOrchestrationClient, entity: EntityId) -> Any:
    return (await client.read_entity_state(entity)).entity_state


async def reaches(client: DurableOrchestrationClient, entity: EntityId, expected: Any, timeout: float = 60) -> None:
    async def there() -> bool:
        return bool(await value_of(client, entity) == expected)

    await wait_until(there, timeout=timeout, interval=0.1, what=f"{entity} to hold {expected!r}")


async def queues_drained(hub: TaskHub) -> None:
    async def empty() -> bool:
        counts = [await hub.account.queues.count(q) for q in (*hub.names.control_queues, hub.names.work_item_queue)]
        return not any(counts)

    await wait_until(empty, timeout=30, interval=0.2, what="every queue to be empty")


async def test_signals_from_orchestrations_and_a_client_all_count_exactly_once(
    client: DurableOrchestrationClient, hub: TaskHub, worker: Worker
) -> None:
    counter = EntityId("counter", "shared")
    ids = [await client.start_new("count_up", client_input={"key": "shared", "times": 20}) for _ in range(10)]
    await asyncio.gather(*(client.signal_entity(counter, "add", 1) for _ in range(50)))

    for instance_id in ids:
        status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.2)
        assert status.runtime_status is Status.Completed
        assert 20 <= status.output <= 250  # its own 20 signals came before its call
    await reaches(client, counter, 250)
    await queues_drained(hub)
    assert await value_of(client, counter) == 250, "an operation ran twice"


async def test_call_entity_returns_the_operations_result(client: DurableOrchestrationClient, worker: Worker) -> None:
    await client.signal_entity(EntityId("counter", "called"), "add", 41)

    added = await output_of_run(client, "call_operation", {"key": "called", "operation": "add", "input": 1})
    got = await output_of_run(client, "call_operation", {"key": "called", "operation": "get"})

    assert (added, got) == ({"result": 42}, {"result": 42})


async def test_a_failing_operation_changes_nothing_raises_in_the_caller_and_later_ones_run(
    client: DurableOrchestrationClient, worker: Worker
) -> None:
    counter = EntityId("counter", "failing")
    await client.signal_entity(counter, "add", 5)
    await reaches(client, counter, 5)

    request = {"key": "failing", "operation": "add_then_fail", "input": 100}
    answer = await output_of_run(client, "call_operation", request)

    assert answer["error"].startswith("entity call 'add_then_fail' on @counter@failing failed: refused to add 100")
    assert await value_of(client, counter) == 5
    # In one batch: a failure between two good operations rolls back only itself.
    for operation, amount in (("add", 1), ("add_then_fail", 1000), ("add", 2)):
        await client.signal_entity(counter, operation, amount)
    await reaches(client, counter, 8)


async def test_locked_transfers_never_interleave_so_every_audit_sees_the_same_total(
    client: DurableOrchestrationClient, hub: TaskHub, worker: Worker
) -> None:
    for key in ("a", "b"):
        await client.signal_entity(EntityId("Account", key), "deposit", 100)
    await reaches(client, EntityId("Account", "b"), 100)

    transfers = [
        client.start_new(
            "transfer", client_input={"from": "a" if n % 2 else "b", "to": "b" if n % 2 else "a", "amount": 7 + n}
        )
        for n in range(8)
    ]
    audits = [client.start_new("audit", client_input=["a", "b"]) for _ in range(8)]
    ids = await asyncio.gather(*transfers, *audits)
    outputs = [await client.wait_for_completion(i, timeout=90, poll_interval=0.2) for i in ids]

    assert {o.runtime_status for o in outputs} == {Status.Completed}
    assert [o.output for o in outputs[:8]] == [True] * 8
    assert [o.output for o in outputs[8:]] == [200] * 8, "an audit saw a transfer half done"
    balances = [await value_of(client, EntityId("Account", key)) for key in ("a", "b")]
    assert sum(balances) == 200 and balances != [100, 100]
    async for entity in client.list_entities(entity_name="Account"):
        assert entity.locked_by is None and entity.backlog_queue_size == 0  # every lock was released


async def test_a_class_entity_names_its_operations_when_asked_for_another(
    client: DurableOrchestrationClient, worker: Worker
) -> None:
    account = EntityId("Account", "typo")
    for operation, amount in (("deposit", 10), ("depositt", 10), ("deposit", 1)):
        await client.signal_entity(account, operation, amount)
    await reaches(client, account, 11)  # the misspelt signal changed nothing, and the one after it ran

    request = {"entity": "Account", "key": "typo", "operation": "depositt", "input": 10}
    answer = await output_of_run(client, "call_operation", request)

    assert answer["error"].startswith(
        "entity call 'depositt' on @account@typo failed: "
        "entity Account has no operation 'depositt'; it has ['balance', 'deposit', 'withdraw']"
    )
    assert await value_of(client, account) == 11


async def test_a_scheduled_signal_runs_at_its_time(client: DurableOrchestrationClient, worker: Worker) -> None:
    counter = EntityId("counter", "later")
    due = datetime.now(timezone.utc) + timedelta(seconds=3)

    await client.signal_entity(counter, "add", 1, scheduled_time=due)
    await reaches(client, counter, 1, timeout=30)

    [entity] = [e async for e in client.list_entities(entity_name="counter") if e.entity_id.key == "later"]
    assert entity.last_modified_time is not None and entity.last_modified_time >= due


async def test_entity_state_survives_killing_the_worker_that_owns_its_partition(
    client: DurableOrchestrationClient, hub: TaskHub, worker_process: Callable[[], WorkerProcess]
) -> None:
    counter = EntityId("counter", "durable")
    first = worker_process()
    await first.running()
    for _ in range(10):
        await client.signal_entity(counter, "add", 1)
    await reaches(client, counter, 10)

    first.process.send_signal(signal.SIGKILL)
    assert await first.exited() == -signal.SIGKILL
    for _ in range(5):
        await client.signal_entity(counter, "add", 1)
    second = worker_process()
    await second.running()

    await reaches(client, counter, 15)
    assert await output_of_run(client, "call_operation", {"key": "durable", "operation": "get"}) == {"result": 15}


async def test_list_entities_pages_filters_by_name_and_skips_deleted_ones(
    client: DurableOrchestrationClient, worker: Worker
) -> None:
    for n in range(5):
        await client.signal_entity(EntityId("counter", f"page-{n}"), "add", n + 1)
    await client.signal_entity(EntityId("Account", "other"), "deposit", 1)
    await reaches(client, EntityId("counter", "page-4"), 5)
    await reaches(client, EntityId("Account", "other"), 1)
    await client.signal_entity(EntityId("counter", "page-0"), "delete")

    async def deleted() -> bool:
        return not (await client.read_entity_state(EntityId("counter", "page-0"))).entity_exists

    await wait_until(deleted, timeout=30, what="page-0 to be deleted")
    pages = [page async for page in client.list_entities(entity_name="counter", page_size=2).by_page()]

    listed = [e for page in pages for e in page.entities]
    assert [(e.entity_id.key, e.state) for e in listed] == [(f"page-{n}", n + 1) for n in range(1, 5)]
    assert len(pages) >= 2 and all(page.continuation_token for page in pages[:-1])
    everything = [e.entity_id.key async for e in client.list_entities(include_deleted=True, include_state=False)]
    assert set(everything) == {"other", *(f"page-{n}" for n in range(5))}


async def test_clean_entity_storage_removes_empty_entities_and_releases_a_terminated_holders_locks(
    client: DurableOrchestrationClient, worker: Worker
) -> None:
    await client.signal_entity(EntityId("counter", "empty"), "delete")
    await client.signal_entity(EntityId("Account", "held"), "deposit", 50)
    await reaches(client, EntityId("Account", "held"), 50)
    holder = await client.start_new("hold_lock", client_input="held")

    async def locked() -> bool:
        entities = [e async for e in client.list_entities(entity_name="Account")]
        return any(e.locked_by == holder for e in entities)

    await wait_until(locked, timeout=30, what="the lock to be taken")
    await client.terminate(holder, "gone before releasing")  # terminated orchestrations keep their locks
    waiting = await client.start_new("transfer", client_input={"from": "held", "to": "free", "amount": 5})

    async def holder_terminated() -> bool:
        return (await client.get_status(holder)).runtime_status is Status.Terminated

    await wait_until(holder_terminated, timeout=30, what="the holder to be terminated")
    result = await client.clean_entity_storage()

    assert result.num_orphaned_locks_released == 1
    assert result.num_removed_empty_entities >= 1
    status = await client.wait_for_completion(waiting, timeout=60, poll_interval=0.2)
    assert (status.runtime_status, status.output) == (Status.Completed, True)
    assert (await client.read_entity_state(EntityId("counter", "empty"))).entity_exists is False
    keys = [e.entity_id.key async for e in client.list_entities(include_deleted=True)]
    assert "empty" not in keys


@pytest.mark.parametrize(
    ("entity", "operation", "message"),
    [
        ("not an id", "add", "must be an EntityId"),
        (EntityId("counter", "a/b"), "add", "must not contain ['/']"),
        (EntityId("counter", "k"), "", "operation_name '' is invalid"),
    ],
)
async def test_bad_signals_are_refused_before_anything_is_sent(
    client: DurableOrchestrationClient, hub: TaskHub, entity: Any, operation: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        await client.signal_entity(entity, operation, 1)
    assert not any([await hub.account.queues.count(q) for q in hub.names.control_queues])
