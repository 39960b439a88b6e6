"""Entity locks in a batch: lock requests travel along the sorted lock set; others wait in the queue while locked."""

from __future__ import annotations

import json
from typing import Any

from durable_storage.entities import Batch, EntitySend, RequestMessage, SchedulerState, run_batch
from durable_storage.history import EventRaisedEvent
from durable_storage.models import EntityId
from tests.entities.support import T0, counter, op, release

A = EntityId("counter", "a")
B = EntityId("counter", "b")
GRANT = '{"result":"\\"Lock Acquisition Completed\\""}'


def lock_request(parent: str, request_id: str, lockset: tuple[EntityId, ...] = (A, B), position: int = 0) -> Any:
    return RequestMessage(
        operation=None,
        id=request_id,
        parent_instance_id=parent,
        parent_execution_id=f"{parent}-exec",
        lockset=lockset,
        position=position,
    )


def lock(parent: str, request_id: str, lockset: tuple[EntityId, ...] = (A, B), position: int = 0) -> Any:
    text = lock_request(parent, request_id, lockset, position).to_json()
    return EventRaisedEvent(timestamp=T0, name="op", input=text)


def queued_ids(batch: Batch) -> list[str]:
    return [r.id for r in batch.state.queue]


def locked_by(holder: str, *, state: int = 0, queue: list[RequestMessage] | None = None) -> SchedulerState:
    return SchedulerState(exists=True, state=str(state), locked_by=holder, queue=queue or [])


def queued(operation: str, request_id: str, parent: str | None, value: Any = None) -> RequestMessage:
    return RequestMessage.from_json(op(operation, request_id, value, parent=parent).input)


# --- taking the lock ----------------------------------------------------------------------------------------------


def test_a_lock_request_on_the_first_entity_is_forwarded_to_the_next_one_with_position_1() -> None:
    batch = run_batch(counter, A, SchedulerState(), [lock("orch-1", "L1")])

    [forward] = batch.sends
    assert (forward.instance_id, forward.execution_id, forward.name) == ("@counter@b", None, "op")
    forwarded = RequestMessage.from_json(forward.input)
    assert forwarded == lock_request("orch-1", "L1", position=1)
    assert json.loads(forward.input)["pos"] == 1
    assert batch.state.locked_by == "orch-1"


def test_a_lock_request_on_the_last_entity_grants_the_lock_to_the_caller() -> None:
    batch = run_batch(counter, B, SchedulerState(), [lock("orch-1", "L1", position=1)])

    assert batch.sends == [EntitySend("orch-1", "orch-1-exec", "L1", GRANT)]
    assert batch.state.locked_by == "orch-1"


def test_a_lock_on_a_single_entity_is_granted_at_once() -> None:
    batch = run_batch(counter, A, SchedulerState(), [lock("orch-1", "L1", lockset=(A,))])

    assert batch.sends == [EntitySend("orch-1", "orch-1-exec", "L1", GRANT)]


def test_taking_a_lock_is_not_an_operation_and_does_not_create_the_entity() -> None:
    batch = run_batch(counter, A, SchedulerState(), [lock("orch-1", "L1")])

    assert batch.operations == 0
    assert not batch.state.exists
    assert not batch.state.is_empty  # the lock keeps it


def test_the_lock_survives_in_the_scheduler_state_json() -> None:
    batch = run_batch(counter, A, SchedulerState(), [lock("orch-1", "L1")])

    again = SchedulerState.from_json(batch.state.to_json())

    assert again.locked_by == "orch-1"
    assert json.loads(batch.state.to_json())["lockedBy"] == "orch-1"


# --- while locked -------------------------------------------------------------------------------------------------


def test_while_locked_other_callers_wait_in_order_and_the_holder_still_runs() -> None:
    events = [
        op("add", "x1", 1, parent="orch-2"),
        op("add", "h1", 10, parent="orch-1"),
        op("add", "x2", 2, parent=None, signal=True),  # a client signal waits too
        op("get", "h2", parent="orch-1"),
        op("get", "x3", parent="orch-3"),
    ]

    batch = run_batch(counter, A, locked_by("orch-1"), events)

    assert [s.name for s in batch.sends] == ["h1", "h2"]
    assert json.loads(json.loads(batch.sends[1].input)["result"]) == 10
    assert queued_ids(batch) == ["x1", "x2", "x3"]
    assert batch.state.state == "10"
    assert batch.operations == 2


def test_a_lock_request_from_another_caller_waits_and_is_not_forwarded() -> None:
    batch = run_batch(counter, A, locked_by("orch-1"), [lock("orch-2", "L2")])

    assert batch.sends == []
    assert queued_ids(batch) == ["L2"]
    assert batch.state.locked_by == "orch-1"


def test_the_queue_survives_in_the_scheduler_state_json_in_order() -> None:
    batch = run_batch(counter, A, locked_by("orch-1"), [op("add", "x1", 1, parent="orch-2"), lock("orch-3", "L3")])

    again = SchedulerState.from_json(batch.state.to_json())

    assert again.queue == batch.state.queue
    assert [r.id for r in again.queue] == ["x1", "L3"]
    assert again.queue[1].is_lock_request


# --- releasing ----------------------------------------------------------------------------------------------------


def test_a_release_by_the_holder_runs_the_waiting_requests_in_order() -> None:
    state = locked_by("orch-1", queue=[queued("add", "x1", "orch-2", 1), queued("get", "x2", "orch-3")])

    batch = run_batch(counter, A, state, [release("orch-1", "L1")])

    assert batch.state.locked_by is None
    assert batch.state.queue == []
    assert [s.name for s in batch.sends] == ["x1", "x2"]
    assert json.loads(json.loads(batch.sends[1].input)["result"]) == 1


def test_after_a_release_a_waiting_lock_request_takes_the_lock_and_the_rest_keep_waiting_in_order() -> None:
    state = locked_by(
        "orch-1",
        queue=[
            queued("add", "x1", "orch-2", 1),
            lock_request("orch-3", "L3", lockset=(A,)),
            queued("add", "x2", "orch-2", 2),
            queued("add", "x3", "orch-3", 3),  # the new holder's own request runs
            queued("add", "x4", "orch-4", 4),
        ],
    )

    batch = run_batch(counter, A, state, [release("orch-1", "L1")])

    assert batch.state.locked_by == "orch-3"
    assert [s.name for s in batch.sends] == ["x1", "L3", "x3"]
    assert batch.sends[1] == EntitySend("orch-3", "orch-3-exec", "L3", GRANT)
    assert queued_ids(batch) == ["x2", "x4"]
    assert batch.state.state == "4"


def test_a_waiting_lock_request_over_two_entities_is_forwarded_when_it_takes_the_lock() -> None:
    state = locked_by("orch-1", queue=[lock_request("orch-3", "L3")])

    batch = run_batch(counter, A, state, [release("orch-1", "L1")])

    [forward] = batch.sends
    assert (forward.instance_id, forward.name) == ("@counter@b", "op")
    assert RequestMessage.from_json(forward.input).position == 1
    assert batch.state.locked_by == "orch-3"


def test_the_next_holders_release_runs_the_rest() -> None:
    state = locked_by("orch-1", queue=[lock_request("orch-3", "L3", lockset=(A,)), queued("add", "x2", "orch-2", 2)])

    first = run_batch(counter, A, state, [release("orch-1", "L1")])
    second = run_batch(counter, A, SchedulerState.from_json(first.state.to_json()), [release("orch-3", "L3")])

    assert second.state.locked_by is None
    assert [s.name for s in second.sends] == ["x2"]
    assert second.state.state == "2"


def test_requests_after_a_release_in_the_same_batch_run_at_once_behind_the_queue() -> None:
    state = locked_by("orch-1", queue=[queued("add", "x1", "orch-2", 1)])

    batch = run_batch(counter, A, state, [release("orch-1", "L1"), op("get", "x2", parent="orch-2")])

    assert [s.name for s in batch.sends] == ["x1", "x2"]
    assert json.loads(json.loads(batch.sends[1].input)["result"]) == 1


def test_a_release_from_someone_else_changes_nothing() -> None:
    state = locked_by("orch-1", queue=[queued("add", "x1", "orch-2", 1)])

    batch = run_batch(counter, A, state, [release("orch-2", "L2")])

    assert batch.state.locked_by == "orch-1"
    assert queued_ids(batch) == ["x1"]
    assert batch.sends == []
    assert batch.state.state == "0"


def test_a_release_of_an_unlocked_entity_changes_nothing() -> None:
    batch = run_batch(counter, A, SchedulerState(exists=True, state="3"), [release("orch-1", "L1")])

    assert (batch.state.exists, batch.state.state, batch.state.locked_by, batch.state.queue) == (True, "3", None, [])
    assert batch.state.unconfirmed == ["release:L1"]
    assert batch.sends == []
