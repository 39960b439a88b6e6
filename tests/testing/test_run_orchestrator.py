"""``run_orchestrator``: an orchestrator unit test without storage reads like the orchestration's story."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable_storage import EntityId, Orchestrator, RetryOptions
from durable_storage.history import EventRaisedEvent
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.testing import HistoryBuilder, ScheduledWork, run_orchestrator

Running = OrchestrationRuntimeStatus.Running
Completed = OrchestrationRuntimeStatus.Completed
Failed = OrchestrationRuntimeStatus.Failed


def hello_cities(context: Any) -> Any:
    context.set_custom_status({"step": "greeting"})
    greetings = []
    for city in context.get_input():
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


def approval(context: Any) -> Any:
    deadline = context.current_utc_datetime + timedelta(hours=1)
    timer = context.create_timer(deadline)
    answer = context.wait_for_external_event("approve")
    winner = yield context.task_any([answer, timer])
    if winner == answer:
        timer.cancel()
        return f"approved by {answer.result}"
    yield context.call_sub_orchestrator("escalate", {"after": "1h"}, instance_id="esc-1")
    return "escalated"


def test_the_first_episode_schedules_the_first_activity_with_its_input() -> None:
    result = run_orchestrator(hello_cities, HistoryBuilder().started("hello_cities", input=["Tokyo", "Oslo"]))

    assert result.status is Running
    assert [(w.kind, w.id, w.name, w.input) for w in result.actions] == [("activity", 0, "say_hello", "Tokyo")]
    assert result.custom_status == {"step": "greeting"}
    assert result.output is None and result.error is None


def test_each_completed_step_moves_it_on_until_it_returns_the_output() -> None:
    h = HistoryBuilder().started("hello_cities", input=["Tokyo", "Oslo"]).activity_completed("say_hello", "Hi T")

    second = run_orchestrator(hello_cities, h)
    done = run_orchestrator(hello_cities, h.activity_completed("say_hello", "Hi O"))

    assert [w.input for w in second.activities] == ["Oslo"]
    assert [w.id for w in second.all_actions] == [0, 1]
    assert (done.status, done.output, done.actions) == (Completed, ["Hi T", "Hi O"], [])


def test_a_failed_activity_fails_the_orchestration_with_its_message() -> None:
    h = HistoryBuilder().started("hello_cities", input=["Tokyo"]).activity_failed("say_hello", "no network")

    result = run_orchestrator(hello_cities, h)

    assert result.status is Failed
    assert result.error is not None and "no network" in result.error.error_message


def test_timers_events_and_sub_orchestrations_are_scheduled_work_too() -> None:
    deadline = HistoryBuilder().now + timedelta(hours=1)  # the builder's first event is at its start time
    answered = HistoryBuilder().started("approval").timer_created(deadline).episode().event_raised("approve", "Alice")

    first = run_orchestrator(approval, HistoryBuilder().started("approval"))
    approved = run_orchestrator(approval, answered)
    late = run_orchestrator(approval, HistoryBuilder().started("approval").timer_fired(fire_at=deadline))

    assert [(w.kind, w.id, w.fire_at) for w in first.timers] == [("timer", 0, deadline)]
    assert (approved.status, approved.output) == (Completed, "approved by Alice")
    [child] = late.sub_orchestrations
    assert child == ScheduledWork(
        kind="sub_orchestration", id=1, name="escalate", input={"after": "1h"}, instance_id="esc-1", action=child.action
    )


def test_entity_calls_and_signals_are_named_by_their_operation() -> None:
    def counting(context: Any) -> Any:
        context.signal_entity(EntityId("Counter", "k"), "reset")
        value = yield context.call_entity(EntityId("Counter", "k"), "add", 5)
        return value

    result = run_orchestrator(counting, HistoryBuilder().started("counting"))

    assert [(w.kind, w.name, w.input, w.instance_id, w.is_signal) for w in result.entity_operations] == [
        ("entity", "reset", None, "@counter@k", True),
        ("entity", "add", 5, "@counter@k", False),
    ]


def test_new_events_run_as_a_new_episode_after_the_history() -> None:
    def waits(context: Any) -> Any:
        name = yield context.wait_for_external_event("name")
        return f"Hello {name}! replaying={context.is_replaying}"

    h = HistoryBuilder().started("waits")
    event = EventRaisedEvent(timestamp=h.now, name="name", input='"Ann"')

    result = run_orchestrator(waits, h, new_events=[event])

    assert result.output == "Hello Ann! replaying=False"


def test_changed_code_fails_as_a_worker_would_with_the_non_determinism_error() -> None:
    def renamed(context: Any) -> Any:
        yield context.call_activity("greet", "Tokyo")

    h = HistoryBuilder().started("hello_cities", input=["Tokyo"]).activity_scheduled("say_hello", "Tokyo")

    result = run_orchestrator(renamed, h)

    assert result.status is Failed and result.error is not None
    assert result.error.error_type == "NonDeterminismError"
    assert "at sequence 0 the history recorded TaskScheduled 'say_hello'" in result.error.error_message


def test_retries_and_legacy_handles_run_too() -> None:
    def retrying(context: Any) -> Any:
        return (yield context.call_activity_with_retry("flaky", RetryOptions(1000, 2)))

    h = HistoryBuilder().started("retrying").activity_failed("flaky", "once").timer_fired()

    result = run_orchestrator(Orchestrator.create(retrying), h)

    assert [(w.kind, w.id, w.name) for w in result.actions] == [("activity", 2, "flaky")]


def test_what_cannot_run_says_why() -> None:
    with pytest.raises(ValueError, match=r"has no ExecutionStarted event; begin it with HistoryBuilder\.started"):
        run_orchestrator(hello_cities, HistoryBuilder())
    with pytest.raises(TypeError, match="orchestrator 42 is invalid: must be a function"):
        run_orchestrator(42, HistoryBuilder().started("o"))  # type: ignore[arg-type]
