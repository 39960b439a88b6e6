"""Failures: how a failed activity reaches the code, and how an orchestration fails (issue 4, acceptance 4).

A failed task raises ``TaskFailedError`` at its ``yield``; its ``str()`` keeps azure-functions-durable's
``"{reason} \n {details}"`` (python-api.md §1.5). An exception the code does not handle ends the execution as
Failed with failure details a user reads in the status.
"""

from __future__ import annotations

import math
from typing import Any

from durable_storage.errors import TaskFailedError
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import ScheduleTaskAction

from .support import H, failure_of, output_of, run

REASON = "Activity function 'charge_card' failed: card declined"
DETAILS = '{"Message": "card declined", "StackTrace": "  File \\"charge.py\\", line 3"}'


def capture_failure(context: Any) -> Any:
    try:
        yield context.call_activity("charge_card", 100)
    except TaskFailedError as error:
        return {"str": str(error), "reason": error.reason, "details": error.details, "error_type": error.error_type}
    return "no failure"


def charge_then_refund(context: Any) -> Any:
    try:
        yield context.call_activity("charge_card", 100)
    except TaskFailedError:
        yield context.call_activity("release_stock")
        return "compensated"
    return "charged"


def charge_unhandled(context: Any) -> Any:
    yield context.call_activity("charge_card", 100)
    return "charged"


def failed_charge() -> H:
    return H().started("o").scheduled("charge_card", 100).episode().new()


# --- TaskFailedError --------------------------------------------------------------------------------------------


def test_a_failed_activity_raises_task_failed_error_with_df_message_format() -> None:
    h = failed_charge().failed(0, REASON, DETAILS, error_type="ValueError")

    seen = output_of(run(capture_failure, h))

    assert seen["str"] == f"{REASON} \n {DETAILS}"
    assert (seen["reason"], seen["details"], seen["error_type"]) == (REASON, DETAILS, "ValueError")


def test_task_failed_error_is_a_plain_exception_so_except_exception_still_catches_it() -> None:
    def broad(context: Any) -> Any:
        try:
            yield context.call_activity("charge_card")
        except Exception as error:
            return type(error).__name__
        return "no failure"

    assert output_of(run(broad, failed_charge().failed(0, REASON, DETAILS))) == "TaskFailedError"


def test_a_failure_without_failure_details_has_no_error_type() -> None:
    seen = output_of(run(capture_failure, failed_charge().failed(0, REASON, None)))

    assert seen == {"str": f"{REASON} \n None", "reason": REASON, "details": None, "error_type": None}


def test_the_failed_task_result_is_the_exception_itself() -> None:
    def inspect(context: Any) -> Any:
        task = context.call_activity("charge_card")
        try:
            yield task
        except TaskFailedError as error:
            return [task.is_completed, task.result is error]
        return "no failure"

    assert output_of(run(inspect, failed_charge().failed(0, REASON, DETAILS))) == [True, True]


# --- handled failures -------------------------------------------------------------------------------------------


def test_a_caught_failure_lets_the_orchestration_continue_with_the_next_sequence_id() -> None:
    h = failed_charge().failed(0, REASON, DETAILS)

    assert run(charge_then_refund, h).actions == [ScheduleTaskAction(id=1, name="release_stock", input="null")]


def test_a_caught_failure_replays_to_the_same_compensation_and_completes() -> None:
    h = H().started("o").scheduled("charge_card", 100).episode().failed(0, REASON, DETAILS)
    h.scheduled("release_stock").episode().new().completed(1)

    assert output_of(run(charge_then_refund, h)) == "compensated"


# --- unhandled exceptions ---------------------------------------------------------------------------------------


def test_an_unhandled_task_failure_fails_the_orchestration_with_its_type_message_and_stack() -> None:
    result = run(charge_unhandled, failed_charge().failed(0, REASON, DETAILS))

    details = failure_of(result)
    assert result.completion is not None and result.completion.id == 1
    assert details.error_type == "TaskFailedError"
    assert details.error_message == f"{REASON} \n {DETAILS}"
    assert details.stack_trace is not None and "charge_unhandled" in details.stack_trace


def test_an_exception_raised_by_the_code_fails_the_orchestration_naming_the_user_function() -> None:
    def validate_order(context: Any) -> Any:
        order = context.get_input()
        if order["quantity"] <= 0:
            raise ValueError(f"quantity {order['quantity']} must be positive")
        yield context.call_activity("ship", order)

    details = failure_of(run(validate_order, H().new().started("validate_order", input={"quantity": 0})))

    assert (details.error_type, details.error_message) == ("ValueError", "quantity 0 must be positive")
    assert details.stack_trace is not None
    assert "validate_order" in details.stack_trace
    assert "ValueError: quantity 0 must be positive" in details.stack_trace


def test_an_exception_after_a_replayed_step_fails_with_the_next_sequence_id() -> None:
    def fail_late(context: Any) -> Any:
        yield context.call_activity("a")
        raise RuntimeError("after a")

    result = run(fail_late, H().started("fail_late").scheduled("a").episode().new().completed(0))

    assert result.completion is not None
    assert (result.completion.status, result.completion.id) == (OrchestrationRuntimeStatus.Failed, 1)
    assert result.completion.output is None


def test_a_plain_function_orchestrator_that_raises_fails_the_orchestration() -> None:
    def plain(context: Any) -> Any:
        raise KeyError("missing")

    details = failure_of(run(plain, H().new().started("plain")))

    assert details.error_type == "KeyError"
    assert details.stack_trace is not None and "plain" in details.stack_trace


def test_yielding_something_that_is_not_a_task_fails_the_orchestration_with_type_error() -> None:
    def confused(context: Any) -> Any:
        yield 42

    details = failure_of(run(confused, H().new().started("confused")))

    assert details.error_type == "TypeError"
    assert "42" in details.error_message


def test_actions_scheduled_before_the_exception_are_still_returned() -> None:
    def race_then_fail(context: Any) -> Any:
        task = context.call_activity("a")
        yield context.task_any([task, context.wait_for_external_event("go")])
        raise RuntimeError("boom")

    h = H().new().started("race_then_fail").event_raised("go", 1)

    result = run(race_then_fail, h)

    assert result.actions == [ScheduleTaskAction(id=0, name="a", input="null")]
    assert failure_of(result).error_message == "boom"


def test_an_activity_input_that_is_not_json_serializable_fails_the_orchestration_at_the_call() -> None:
    def bad_input(context: Any) -> Any:
        yield context.call_activity("a", object())

    result = run(bad_input, H().new().started("o"))

    assert failure_of(result).error_type == "TypeError"
    assert result.actions == []


# --- outputs that cannot be stored ------------------------------------------------------------------------------


def test_an_output_that_is_not_json_serializable_fails_the_orchestration() -> None:
    def returns_a_set(context: Any) -> Any:
        yield context.call_activity("a")
        return {1, 2}

    result = run(returns_a_set, H().started("o").scheduled("a").episode().new().completed(0))

    details = failure_of(result)
    assert details.error_type == "TypeError"
    assert "set" in details.error_message


def test_an_output_of_nan_fails_the_orchestration_because_dotnet_cannot_read_it() -> None:
    def returns_nan(context: Any) -> float:
        return math.nan

    assert failure_of(run(returns_nan, H().new().started("o"))).error_type == "ValueError"
