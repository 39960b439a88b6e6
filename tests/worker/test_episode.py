"""One episode as data: the events appended, the messages sent, the status after (DTFx dispatcher semantics)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from durable_storage.history import (
    ContinueAsNewEvent,
    EventRaisedEvent,
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskScheduledEvent,
    TimerFiredEvent,
)
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.testing.history import HistoryBuilder
from durable_storage.worker._episode import run_episode

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)


def first_episode(orchestrator: Any, builder: HistoryBuilder) -> Any:
    events = builder.events
    return run_episode(orchestrator, instance_id=builder.instance_id, history=[], messages=events[1:], now=NOW)


def test_a_first_episode_frames_the_start_and_schedules_the_activity() -> None:
    def hello(context: Any) -> Any:
        return (yield context.call_activity("say_hello", "Tokyo"))

    episode = first_episode(hello, HistoryBuilder("i").started("hello"))

    kinds = [type(e) for e in episode.appended]
    assert kinds == [OrchestratorStartedEvent, ExecutionStartedEvent, TaskScheduledEvent, OrchestratorCompletedEvent]
    assert episode.first_index == 0
    [work] = episode.outbound
    assert work.to_work_items
    assert work.message.task_message is not None
    assert work.message.task_message.event == episode.appended[2]
    assert work.message.episode == 1
    assert episode.state is not None and episode.state.status is OrchestrationRuntimeStatus.Running


def test_a_timer_is_a_message_to_ourselves_visible_when_it_fires() -> None:
    def wait(context: Any) -> Any:
        yield context.create_timer(timedelta(hours=1))

    episode = first_episode(wait, HistoryBuilder("i").started("wait"))

    [timer] = episode.outbound
    assert timer.instance_id == "i" and not timer.to_work_items
    assert timer.message.task_message is not None
    fired = timer.message.task_message.event
    assert isinstance(fired, TimerFiredEvent) and fired.timer_id == 0
    assert timer.visible_at == fired.fire_at


def test_a_sub_orchestration_start_names_its_parent_and_a_deterministic_execution() -> None:
    def parent(context: Any) -> Any:
        return (yield context.call_sub_orchestrator("child", 1, "kid"))

    one = first_episode(parent, HistoryBuilder("p").started("parent"))
    two = first_episode(parent, HistoryBuilder("p").started("parent"))

    [start] = one.outbound
    assert start.instance_id == "kid"
    assert start.message.task_message is not None
    event = start.message.task_message.event
    assert isinstance(event, ExecutionStartedEvent) and event.parent_instance is not None
    assert event.parent_instance.orchestration_instance.instance_id == "p"
    assert event.parent_instance.task_schedule_id == 0
    assert two.outbound[0].message.task_message is not None
    assert (
        two.outbound[0].message.task_message.orchestration_instance == start.message.task_message.orchestration_instance
    )


def test_a_finished_child_reports_to_its_parent_execution() -> None:
    def child(context: Any) -> Any:
        return "done"

    builder = HistoryBuilder("kid").started("child", parent=("p", "pe", 3))
    episode = first_episode(child, builder)

    [report] = episode.outbound
    assert report.instance_id == "p"
    assert report.message.task_message is not None
    assert report.message.task_message.orchestration_instance.execution_id == "pe"
    event = report.message.task_message.event
    assert isinstance(event, SubOrchestrationInstanceCompletedEvent)
    assert (event.task_scheduled_id, event.result) == (3, '"done"')


def test_a_failed_child_reports_the_failure() -> None:
    def child(context: Any) -> Any:
        raise RuntimeError("child broke")

    episode = first_episode(child, HistoryBuilder("kid").started("child", parent=("p", "pe", 0)))

    assert episode.outbound[0].message.task_message is not None
    event = episode.outbound[0].message.task_message.event
    assert isinstance(event, SubOrchestrationInstanceFailedEvent)
    assert event.reason == "child broke"
    assert event.failure_details is not None and event.failure_details.error_type == "RuntimeError"


def test_continue_as_new_runs_the_next_execution_in_the_same_episode_from_row_zero() -> None:
    def counter(context: Any) -> Any:
        n = context.get_input()
        if n < 3:
            context.continue_as_new(n + 1)
            return None
        value = yield context.wait_for_external_event("go")
        return [n, value]

    builder = HistoryBuilder("c").started("counter", input=0).event_raised("go", "early")
    episode = run_episode(counter, instance_id="c", history=[], messages=builder.events[1:], now=NOW)

    assert episode.first_index == 0
    started = episode.history[1]
    assert isinstance(started, ExecutionStartedEvent)
    assert started.input == "3" and started.generation == 3
    assert episode.execution_id == started.orchestration_instance.execution_id
    completed = episode.history[-2]
    assert isinstance(completed, ExecutionCompletedEvent) and completed.result == '[3, "early"]'
    assert not any(isinstance(e, ContinueAsNewEvent) for e in episode.history)
    assert episode.state is not None and episode.state.status is OrchestrationRuntimeStatus.Completed


def test_entity_calls_are_events_sent_to_the_entity_instance() -> None:
    def caller(context: Any) -> Any:
        context.signal_entity(EntityId("Counter", "a"), "add", 1)
        return None

    episode = first_episode(caller, HistoryBuilder("o").started("caller"))

    [signal] = episode.outbound
    assert signal.instance_id == "@counter@a"
    assert signal.message.task_message is not None
    raised = signal.message.task_message.event
    assert isinstance(raised, EventRaisedEvent) and raised.name == "op"
    assert signal.message.task_message.orchestration_instance.execution_id is None
