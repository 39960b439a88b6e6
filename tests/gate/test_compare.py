"""How the gate compares one history with the code, without storage: every way the two can part, and where.

Histories are written with the public ``HistoryBuilder``; ``check_history`` replays them as a worker's next episode
would and names the sequence number, what history recorded and what the code did.
"""

from __future__ import annotations

from typing import Any

from durable_storage.gate import GateReport, InstanceCheck, check_history
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.testing import HistoryBuilder


def two_steps(context: Any) -> Any:
    first = yield context.call_activity("one", context.get_input())
    yield context.wait_for_external_event("go")
    second = yield context.call_activity("two", first)
    return second


def check(orchestrator: Any, history: HistoryBuilder) -> InstanceCheck:
    return check_history(orchestrator, instance_id=history.instance_id, name="two_steps", events=history.events)


def waiting() -> HistoryBuilder:
    return HistoryBuilder("w").started("two_steps", input=1).activity_completed("one", 2)


def finished() -> HistoryBuilder:
    return waiting().event_raised("go").activity_completed("two", 3).execution_completed(3)


def where(result: InstanceCheck) -> tuple[int | None, int | None, str, str]:
    assert result.outcome == "failed" and result.failure is not None
    return result.failure.sequence, result.failure.history_index, result.failure.recorded, result.failure.actual


def test_the_code_that_wrote_a_history_replays_it_waiting_or_finished() -> None:
    assert check(two_steps, waiting()).outcome == "passed"
    assert check(two_steps, finished()).outcome == "passed"


def test_another_activity_at_a_recorded_sequence_is_named_with_its_event() -> None:
    def changed(context: Any) -> Any:
        yield context.call_activity("uno", context.get_input())

    assert where(check(changed, waiting())) == (0, 2, "TaskScheduled 'one'", "call_activity 'uno'")


def test_code_that_returns_where_history_scheduled_more_says_it_completed() -> None:
    def shorter(context: Any) -> Any:
        yield context.call_activity("one", context.get_input())
        yield context.wait_for_external_event("go")
        return "done early"

    history = finished()
    index = next(i for i, e in enumerate(history.events) if getattr(e, "name", None) == "two")

    assert where(check(shorter, history)) == (1, index, "TaskScheduled 'two'", "orchestration completed")


def test_code_that_waits_where_history_scheduled_says_no_action() -> None:
    def waits_longer(context: Any) -> Any:
        yield context.call_activity("one", context.get_input())
        yield context.wait_for_external_event("go")
        yield context.wait_for_external_event("and again")
        yield context.call_activity("two", 0)

    assert where(check(waits_longer, finished()))[2:] == ("TaskScheduled 'two'", "no action")


def test_a_timer_or_an_entity_call_in_place_of_an_activity_is_named_as_the_call() -> None:
    def timer_instead(context: Any) -> Any:
        yield context.create_timer(context.current_utc_datetime)

    def entity_instead(context: Any) -> Any:
        yield context.call_entity(EntityId("counter", "k"), "add", 1)

    assert where(check(timer_instead, waiting()))[3].startswith("create_timer (due 2024-01-01T00:00:00")
    assert where(check(entity_instead, waiting()))[3] == "call_entity '@counter@k' 'add'"


def test_code_that_ends_a_running_instance_is_caught_at_its_completion() -> None:
    def returns(context: Any) -> Any:
        yield context.call_activity("one", context.get_input())
        return "no waiting any more"

    def raises(context: Any) -> Any:
        yield context.call_activity("one", context.get_input())
        raise ValueError("boom")

    assert where(check(returns, waiting())) == (
        1,
        None,
        "nothing: the orchestration was still running",
        "orchestration completed",
    )
    assert where(check(raises, waiting()))[3] == "orchestration failed: ValueError: boom"


def test_a_finished_history_must_end_the_same_way() -> None:
    def fails_at_the_end(context: Any) -> Any:
        yield context.call_activity("one", context.get_input())
        yield context.wait_for_external_event("go")
        yield context.call_activity("two", 0)
        raise RuntimeError("new validation")

    history = finished()
    ended = len(history.events) - 2  # ExecutionCompleted, then OrchestratorCompleted

    assert where(check(fails_at_the_end, history)) == (
        2,
        ended,
        "ExecutionCompleted Completed",
        "orchestration failed: RuntimeError: new validation",
    )


def test_a_failed_history_replays_when_the_code_still_fails_there() -> None:
    def lets_it_fail(context: Any) -> Any:
        yield context.call_activity("one", context.get_input())

    history = HistoryBuilder("f").started("two_steps").activity_failed("one", "no disk", error_type="OSError")
    history.execution_completed(status=OrchestrationRuntimeStatus.Failed)

    assert check(lets_it_fail, history).outcome == "passed"


def test_no_history_is_skipped_and_a_missing_orchestrator_fails_with_the_reason() -> None:
    skipped = check_history(two_steps, instance_id="p", name="two_steps", events=[])
    missing = check_history(None, instance_id="w", name="two_steps", events=waiting().events, missing=" (it has: x)")

    assert (skipped.outcome, skipped.note) == ("skipped", "no history yet: the instance has not started running")
    assert where(missing) == (None, None, "ExecutionStarted 'two_steps'", "no such orchestrator in the app")
    assert missing.failure is not None and "(it has: x)" in missing.failure.reason


def test_the_report_sums_up_per_name_and_is_ok_only_without_failures() -> None:
    def changed(context: Any) -> Any:
        yield context.call_activity("uno")

    checks = [
        check_history(two_steps, instance_id="a", name="two_steps", events=waiting().events),
        check_history(changed, instance_id="b", name="two_steps", events=waiting().events),
        check_history(two_steps, instance_id="c", name="other", events=[]),
    ]

    report = GateReport.of(checks, "test")

    assert not report.ok and [c.instance_id for c in report.failures] == ["b"]
    assert [(s.name, s.replayed, s.passed, s.failed, s.skipped) for s in report.by_name()] == [
        ("other", 0, 0, 0, 1),
        ("two_steps", 2, 1, 1, 0),
    ]
    assert report.to_dict()["checks"][0]["outcome"] == "skipped"
    assert GateReport.of(checks[:1], "test").ok
