"""An entity episode as data: the batch, then continue-as-new with the scheduler state (worker/_entity_episode.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from durable_storage.entities import RequestMessage, SchedulerState
from durable_storage.history import (
    EventRaisedEvent,
    ExecutionStartedEvent,
    GenericEvent,
    HistoryEvent,
    OrchestrationInstance,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
)
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.worker._entity_episode import entity_id_of, is_entity, run_entity_episode
from tests.entities.support import counter

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
EARLIER = datetime(2024, 3, 1, 11, 0, tzinfo=timezone.utc)
ENTITY = "@counter@k1"
OLD_EXECUTION = "00000000000000000000000000000001"


def history(state: SchedulerState | None, *, generation: int | None = 3, instance: str = ENTITY) -> list[HistoryEvent]:
    """The three rows an entity's execution has: its input is the scheduler state."""
    return [
        OrchestratorStartedEvent(timestamp=EARLIER),
        ExecutionStartedEvent(
            timestamp=EARLIER,
            orchestration_instance=OrchestrationInstance(instance, OLD_EXECUTION),
            name=instance,
            version="",
            input=state.to_json() if state is not None else None,
            generation=generation,
        ),
        OrchestratorCompletedEvent(timestamp=EARLIER),
    ]


def op(operation: str, request_id: str, value: Any = None, *, parent: str = "orch-1") -> EventRaisedEvent:
    request = RequestMessage(
        operation=operation,
        id=request_id,
        input=json.dumps(value),
        parent_instance_id=parent,
        parent_execution_id="orch-exec",
    )
    return EventRaisedEvent(timestamp=EARLIER, name="op", input=request.to_json())


def started_of(events: list[HistoryEvent]) -> ExecutionStartedEvent:
    started = events[1]
    assert isinstance(started, ExecutionStartedEvent)
    return started


def test_the_episode_appends_exactly_a_continue_as_new_frame() -> None:
    episode, _ = run_entity_episode(
        counter,
        instance_id=ENTITY,
        history=history(SchedulerState(exists=True, state="5")),
        messages=[op("add", "r1", 2)],
        now=NOW,
    )

    assert [type(e) for e in episode.appended] == [
        OrchestratorStartedEvent,
        ExecutionStartedEvent,
        OrchestratorCompletedEvent,
    ]
    assert all(e.timestamp == NOW for e in episode.appended)
    assert episode.first_index == 0
    assert episode.history == episode.appended


def test_the_new_execution_is_named_after_the_instance_and_its_input_is_the_new_scheduler_state() -> None:
    episode, batch = run_entity_episode(
        counter,
        instance_id=ENTITY,
        history=history(SchedulerState(exists=True, state="5")),
        messages=[op("add", "r1", 2)],
        now=NOW,
    )

    started = started_of(episode.appended)
    assert (started.name, started.version) == (ENTITY, "")
    assert started.input == batch.state.to_json()
    assert SchedulerState.from_json(started.input) == SchedulerState(
        exists=True, state="7", unconfirmed=["op:r1"], recent=[("op:r1", NOW.timestamp())]
    )
    assert started.orchestration_instance.instance_id == ENTITY
    assert started.orchestration_instance.execution_id == episode.execution_id
    assert episode.execution_id not in ("", OLD_EXECUTION)


def test_the_generation_is_one_more_than_the_previous_execution() -> None:
    episode, _ = run_entity_episode(
        counter, instance_id=ENTITY, history=history(SchedulerState(), generation=3), messages=[], now=NOW
    )

    assert started_of(episode.appended).generation == 4


def test_a_previous_execution_without_a_generation_counts_as_0() -> None:
    episode, _ = run_entity_episode(
        counter, instance_id=ENTITY, history=history(SchedulerState(), generation=None), messages=[], now=NOW
    )

    assert started_of(episode.appended).generation == 1


def test_every_episode_gets_a_new_execution_id() -> None:
    first, _ = run_entity_episode(counter, instance_id=ENTITY, history=history(None), messages=[], now=NOW)
    second, _ = run_entity_episode(counter, instance_id=ENTITY, history=history(None), messages=[], now=NOW)

    assert first.execution_id != second.execution_id


def test_an_entity_without_history_starts_from_nothing() -> None:
    episode, batch = run_entity_episode(
        counter, instance_id=ENTITY, history=[], messages=[op("add", "r1", 4), op("get", "r2")], now=NOW
    )

    assert started_of(episode.appended).generation == 0
    assert json.loads(json.loads(batch.sends[1].input)["result"]) == 4


def test_the_runtime_state_is_running_in_the_new_execution() -> None:
    episode, _ = run_entity_episode(counter, instance_id=ENTITY, history=history(None), messages=[], now=NOW)

    assert episode.state is not None
    assert episode.state.status is OrchestrationRuntimeStatus.Running
    assert episode.state.started == started_of(episode.appended)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (SchedulerState(), "{}"),
        (SchedulerState(exists=True, state="1"), '{"entityExists":true}'),
        (
            SchedulerState(
                exists=True,
                state="1",
                locked_by="orch-9",
                queue=[RequestMessage(operation="add", id="q", parent_instance_id="orch-2")],
            ),
            '{"entityExists":true,"queueSize":1,"lockedBy":"orch-9"}',
        ),
    ],
    ids=["new", "exists", "locked"],
)
def test_the_custom_status_is_the_entity_status_json(state: SchedulerState, status: str) -> None:
    episode, _ = run_entity_episode(counter, instance_id=ENTITY, history=history(state), messages=[], now=NOW)

    assert episode.custom_status == status


def test_the_custom_status_follows_the_batch() -> None:
    episode, _ = run_entity_episode(
        counter,
        instance_id=ENTITY,
        history=history(SchedulerState(locked_by="orch-9")),
        messages=[op("add", "x", 1, parent="orch-2"), op("add", "y", 1, parent="orch-3")],
        now=NOW,
    )

    assert episode.custom_status == '{"queueSize":2,"lockedBy":"orch-9"}'


def test_responses_go_out_as_event_raised_messages_to_the_caller() -> None:
    episode, batch = run_entity_episode(
        counter,
        instance_id=ENTITY,
        history=history(SchedulerState(exists=True, state="5")),
        messages=[op("get", "r1"), op("get", "r2", parent="orch-2")],
        now=NOW,
    )

    assert [o.instance_id for o in episode.outbound] == ["orch-1", "orch-2"]
    first = episode.outbound[0]
    assert not first.to_work_items and first.visible_at is None
    message = first.message
    assert message.task_message is not None
    event = message.task_message.event
    assert isinstance(event, EventRaisedEvent)
    assert (event.name, event.input, event.timestamp) == ("r1", '{"result":"5"}', NOW)
    assert message.task_message.orchestration_instance == OrchestrationInstance("orch-1", "orch-exec")
    assert message.sender == OrchestrationInstance(ENTITY, episode.execution_id)
    assert episode.outbound[0].message.activity_id != episode.outbound[1].message.activity_id
    assert len(batch.sends) == 2


def test_a_forwarded_lock_request_goes_to_the_next_entitys_current_execution() -> None:
    request = RequestMessage(
        operation=None,
        id="L1",
        parent_instance_id="orch-1",
        parent_execution_id="orch-exec",
        lockset=(EntityId("counter", "k1"), EntityId("counter", "k2")),
    )
    lock = EventRaisedEvent(timestamp=EARLIER, name="op", input=request.to_json())

    episode, _ = run_entity_episode(counter, instance_id=ENTITY, history=history(None), messages=[lock], now=NOW)

    [forward] = episode.outbound
    assert forward.instance_id == "@counter@k2"
    assert forward.message.task_message is not None
    assert forward.message.task_message.orchestration_instance == OrchestrationInstance("@counter@k2", None)
    event = forward.message.task_message.event
    assert isinstance(event, EventRaisedEvent) and event.name == "op"
    assert event.input is not None and RequestMessage.from_json(event.input).position == 1
    assert episode.custom_status == '{"lockedBy":"orch-1"}'


def test_only_event_raised_messages_reach_the_batch() -> None:
    _, batch = run_entity_episode(
        counter,
        instance_id=ENTITY,
        history=history(None),
        messages=[GenericEvent(timestamp=EARLIER), op("add", "r1", 1)],
        now=NOW,
    )

    assert batch.rejected == []
    assert batch.state.state == "1"


def test_confirmed_keys_are_dropped_from_the_new_state() -> None:
    previous = SchedulerState(exists=True, state="1", unconfirmed=["op:a", "op:b"])

    episode, _ = run_entity_episode(
        counter,
        instance_id=ENTITY,
        history=history(previous),
        messages=[op("add", "c", 1)],
        now=NOW,
        confirmed=["op:a"],
    )

    assert SchedulerState.from_json(started_of(episode.appended).input).unconfirmed == ["op:b", "op:c"]


def test_a_redelivered_message_changes_nothing_but_the_episode_still_continues_as_new() -> None:
    previous = SchedulerState(exists=True, state="1", unconfirmed=["op:r1"])

    episode, batch = run_entity_episode(
        counter, instance_id=ENTITY, history=history(previous), messages=[op("add", "r1", 1)], now=NOW
    )

    assert episode.outbound == []
    assert SchedulerState.from_json(started_of(episode.appended).input) == previous
    assert batch.processed == []


# --- instance ids -------------------------------------------------------------------------------------------------


def test_the_key_may_contain_at_signs() -> None:
    entity = entity_id_of("@counter@a@b")

    assert (entity.name, entity.key) == ("counter", "a@b")


def test_an_entity_sees_a_key_with_at_signs_whole() -> None:
    _, batch = run_entity_episode(counter, instance_id="@counter@a@b", history=[], messages=[op("key", "r1")], now=NOW)

    assert json.loads(json.loads(batch.sends[0].input)["result"]) == ["counter", "a@b"]


@pytest.mark.parametrize(
    ("instance_id", "expected"),
    [("@counter@k", True), ("@counter@a@b", True), ("orch-1", False), ("@counter", False), ("counter@k", False)],
)
def test_is_entity(instance_id: str, expected: bool) -> None:
    assert is_entity(instance_id) is expected
