"""History events: the .NET event types and classes, as plain frozen values."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from durable_storage.history import (
    EVENT_CLASSES,
    ContinueAsNewEvent,
    EventType,
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    HistoryEvent,
    OrchestrationInstance,
    ParentInstance,
    TaskCompletedEvent,
    TaskScheduledEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_event_types_carry_the_dotnet_numbers() -> None:
    # storage-layout.md §4: append-only, and the numbers go on the wire.
    assert {member.name: member.value for member in EventType} == {
        "ExecutionStarted": 0, "ExecutionCompleted": 1, "ExecutionFailed": 2, "ExecutionTerminated": 3,
        "TaskScheduled": 4, "TaskCompleted": 5, "TaskFailed": 6, "SubOrchestrationInstanceCreated": 7,
        "SubOrchestrationInstanceCompleted": 8, "SubOrchestrationInstanceFailed": 9, "TimerCreated": 10,
        "TimerFired": 11, "OrchestratorStarted": 12, "OrchestratorCompleted": 13, "EventSent": 14,
        "EventRaised": 15, "ContinueAsNew": 16, "GenericEvent": 17, "HistoryState": 18, "ExecutionSuspended": 19,
        "ExecutionResumed": 20, "ExecutionRewound": 21,
    }  # fmt: skip


def test_every_event_type_but_execution_failed_has_a_class_named_as_in_dotnet() -> None:
    assert set(EventType) - set(EVENT_CLASSES) == {EventType.ExecutionFailed}
    for event_type, cls in EVENT_CLASSES.items():
        assert cls.event_type is event_type
        assert cls.__name__ == event_type.name if event_type.name.endswith("Event") else event_type.name + "Event"
        assert issubclass(cls, HistoryEvent)


def test_an_event_defaults_to_no_action_id_and_not_played() -> None:
    event = TaskCompletedEvent(task_scheduled_id=3, timestamp=T0)

    assert (event.event_id, event.is_played, event.result) == (-1, False, None)


def test_events_are_frozen_slotted_and_keyword_only() -> None:
    event = TaskCompletedEvent(task_scheduled_id=3, timestamp=T0)

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.result = "x"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    with pytest.raises(TypeError):
        TaskCompletedEvent(-1, False, T0)  # type: ignore[call-arg]


def test_own_fields_follow_the_dotnet_declaration_order() -> None:
    names = [f.name for f in dataclasses.fields(ExecutionStartedEvent) if f.name != "_source"]

    assert names == [
        "event_id", "is_played", "timestamp", "orchestration_instance", "parent_instance", "name", "version",
        "input", "tags", "correlation", "parent_trace_context", "scheduled_start_time", "generation",
        "generate_new_trace",
    ]  # fmt: skip


def test_continue_as_new_is_an_execution_completed_with_its_own_status() -> None:
    event = ContinueAsNewEvent(result='"next input"', timestamp=T0)

    assert isinstance(event, ExecutionCompletedEvent)
    assert event.orchestration_status is OrchestrationRuntimeStatus.ContinuedAsNew
    assert event.event_type is EventType.ContinueAsNew


def test_the_decoded_source_takes_no_part_in_equality_hash_or_repr() -> None:
    plain = TaskScheduledEvent(event_id=0, name="act", timestamp=T0)
    decoded = dataclasses.replace(plain, _source={"$type": "DurableTask.Core.History.TaskScheduledEvent"})

    assert decoded == plain
    assert hash(decoded) == hash(plain)
    assert repr(decoded) == repr(plain)


def test_helper_values_are_positional_like_their_dotnet_constructors() -> None:
    parent = ParentInstance("parent", OrchestrationInstance("p", "e1"), 4)

    assert parent.version is None
    assert parent.orchestration_instance.execution_id == "e1"
    assert OrchestrationInstance("id").execution_id is None  # "whichever execution is current"
