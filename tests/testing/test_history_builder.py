"""The history builder's step methods write histories a worker would: calls, then their results in a later episode."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from durable_storage.history import (
    ContinueAsNewEvent,
    EventType,
    ExecutionCompletedEvent,
    HistoryEvent,
    SubOrchestrationInstanceCreatedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TimerFiredEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.testing import HistoryBuilder

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def kinds(events: list[HistoryEvent]) -> list[str]:
    return [e.event_type.name for e in events]


def test_one_activity_completed_per_step_writes_a_sequential_history() -> None:
    h = HistoryBuilder("seq").started("o").activity_completed("a", 1).activity_completed("b", 2)

    assert kinds(h.events) == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled",
        "OrchestratorCompleted",
        "OrchestratorStarted",
        "TaskCompleted",
        "TaskScheduled",
        "OrchestratorCompleted",
        "OrchestratorStarted",
        "TaskCompleted",
    ]
    results = [e for e in h.events if isinstance(e, TaskCompletedEvent)]
    assert [(e.task_scheduled_id, e.result) for e in results] == [(0, "1"), (1, "2")]


def test_calls_scheduled_first_are_answered_oldest_first_in_one_later_episode() -> None:
    h = HistoryBuilder().started("fan").activity_scheduled("work", 1).activity_scheduled("work", 2)
    h.activity_completed("work", 10).activity_failed("work", "boom", error_type="ValueError")

    completed, failed = h.events[-2:]
    assert isinstance(completed, TaskCompletedEvent) and completed.task_scheduled_id == 0
    assert isinstance(failed, TaskFailedEvent) and failed.task_scheduled_id == 1
    assert failed.failure_details is not None and failed.failure_details.error_type == "ValueError"
    assert kinds(h.events).count("OrchestratorStarted") == 2  # both answers arrive in the same episode


def test_a_timer_fires_in_an_episode_that_starts_at_its_due_time() -> None:
    due = T0 + timedelta(hours=1)
    h = HistoryBuilder().started("sleepy").timer_fired(fire_at=due)

    created, _, started, fired = h.events[2:]
    assert created.event_type is EventType.TimerCreated and created.event_id == 0
    assert started.event_type is EventType.OrchestratorStarted and started.timestamp == due
    assert isinstance(fired, TimerFiredEvent) and (fired.timer_id, fired.fire_at) == (0, due)


def test_a_created_timer_fires_without_naming_it_and_an_id_still_works() -> None:
    h = HistoryBuilder().started("o").timer_created(T0, id=5).episode().timer_fired().timer_fired(7, T0)

    assert [(e.timer_id, e.fire_at) for e in h.events if isinstance(e, TimerFiredEvent)] == [(5, T0), (7, T0)]


def test_sub_orchestrations_complete_or_fail_by_name() -> None:
    h = HistoryBuilder("parent").started("o").sub_orchestration_completed("child", "done", instance_id="kid")
    h.sub_orchestration_failed("child", "boom")

    created = [e for e in h.events if isinstance(e, SubOrchestrationInstanceCreatedEvent)]
    assert [(e.event_id, e.instance_id) for e in created] == [(0, "kid"), (1, "parent:1")]
    assert kinds(h.events)[-1] == "SubOrchestrationInstanceFailed"


def test_the_end_of_an_execution_takes_the_next_sequence_id() -> None:
    done = HistoryBuilder().started("o").activity_completed("a").execution_completed({"ok": True})
    again = HistoryBuilder().started("o").execution_completed(3, status=OrchestrationRuntimeStatus.ContinuedAsNew)

    ended = done.events[-2]
    assert isinstance(ended, ExecutionCompletedEvent) and (ended.event_id, ended.result) == (1, '{"ok": true}')
    assert isinstance(again.events[-2], ContinueAsNewEvent) and kinds(again.events)[-1] == "OrchestratorCompleted"


def test_split_takes_the_mark_of_new_or_else_the_last_episode() -> None:
    marked = HistoryBuilder().started("o").new().event_raised("go")
    unmarked = HistoryBuilder().started("o").activity_completed("a")

    assert kinds(marked.split()[1]) == ["EventRaised"]
    past, new = unmarked.split()
    assert kinds(new) == ["OrchestratorStarted", "TaskCompleted"] and len(past) == 4
