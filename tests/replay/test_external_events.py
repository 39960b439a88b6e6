"""External events: waiting, buffering, several waiters, names, and the human-interaction pattern.

``wait_for_external_event`` takes no sequence id and schedules nothing (python-api.md §1.2, §1.4). An event that
arrives before the code waits is kept and consumed by the first wait for its name; several waiters on one name
are served most recent first, as azure-functions-durable pops them (python-api.md §2.3); names match case-sensitively,
as in azure-functions-durable. Events nobody consumed travel to the next execution on continue-as-new.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import Completion, CreateTimerAction, ScheduleTaskAction

from .support import T0, H, output_of, run


def wait_for_approval(context: Any) -> Any:
    approval = yield context.wait_for_external_event("Approval")
    return approval


def test_waiting_for_an_event_schedules_nothing_and_takes_no_sequence_id() -> None:
    def wait_then_work(context: Any) -> Any:
        data = yield context.wait_for_external_event("Approval")
        yield context.call_activity("work", data)

    waiting = run(wait_then_work, H().new().started("o"))
    resumed = run(wait_then_work, H().started("o").episode().new().event_raised("Approval", {"by": "ann"}))

    assert (waiting.actions, waiting.completion) == ([], None)
    assert resumed.actions == [ScheduleTaskAction(id=0, name="work", input='{"by": "ann"}')]


def test_the_event_data_reaches_the_code_decoded_from_json() -> None:
    h = H().started("o").episode().new().event_raised("Approval", {"approved": True, "by": ["ann", "bob"]})

    assert output_of(run(wait_for_approval, h)) == {"approved": True, "by": ["ann", "bob"]}


def test_an_event_without_data_yields_none() -> None:
    h = H().started("o").episode().new().event_raised("Approval", raw=None)

    assert run(wait_for_approval, h).completion == Completion(id=0, status=OrchestrationRuntimeStatus.Completed)


# --- buffering --------------------------------------------------------------------------------------------------


def work_then_wait(context: Any) -> Any:
    yield context.call_activity("work")
    go = yield context.wait_for_external_event("go")
    return go


def test_an_event_that_arrives_before_the_code_waits_is_consumed_when_it_waits() -> None:
    h = H().started("o").scheduled("work").episode().new().event_raised("go", "early").completed(0)

    assert output_of(run(work_then_wait, h)) == "early"


def test_an_event_buffered_in_an_earlier_episode_is_consumed_in_a_later_one() -> None:
    h = H().started("o").scheduled("work").episode().event_raised("go", "early")
    h.episode().new().completed(0)

    assert output_of(run(work_then_wait, h)) == "early"


def test_buffered_events_of_one_name_are_consumed_first_in_first_out() -> None:
    def two_waits(context: Any) -> Any:
        yield context.call_activity("work")
        first = yield context.wait_for_external_event("go")
        second = yield context.wait_for_external_event("go")
        return [first, second]

    h = H().started("o").scheduled("work").episode().new().event_raised("go", 1).event_raised("go", 2).completed(0)

    assert output_of(run(two_waits, h)) == [1, 2]


def test_an_event_nobody_waits_for_does_not_disturb_the_orchestration() -> None:
    h = H().started("o").scheduled("work").episode().new().event_raised("unrelated", 1)

    result = run(work_then_wait, h)

    assert (result.actions, result.completion) == ([], None)


# --- several waiters and names ----------------------------------------------------------------------------------


def test_with_several_waiters_on_one_name_the_most_recent_waiter_gets_the_event() -> None:
    def two_waiters(context: Any) -> Any:
        older = context.wait_for_external_event("go")
        newer = context.wait_for_external_event("go")
        winner = yield context.task_any([older, newer])
        other = yield (older if winner is newer else newer)
        return {"newer won": winner is newer, "winner": winner.result, "other": other}

    h = H().started("o").episode().new().event_raised("go", "first").event_raised("go", "second")

    assert output_of(run(two_waiters, h)) == {"newer won": True, "winner": "first", "other": "second"}


def test_event_names_are_case_sensitive() -> None:
    h = H().started("o").episode().new().event_raised("approval", "lower case")

    result = run(wait_for_approval, h)

    assert result.completion is None
    assert [e.name for e in result.carryover_events] == ["approval"]


def test_waiting_on_two_names_resumes_on_whichever_arrives() -> None:
    def either(context: Any) -> Any:
        yes = context.wait_for_external_event("yes")
        no = context.wait_for_external_event("no")
        winner = yield context.task_any([yes, no])
        return "yes" if winner is yes else "no"

    assert output_of(run(either, H().started("o").episode().new().event_raised("no"))) == "no"


# --- human interaction: an event against a deadline -------------------------------------------------------------


def approval_with_deadline(context: Any) -> Any:
    deadline = context.current_utc_datetime + timedelta(hours=24)
    timeout = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timeout])
    if winner is approval:
        timeout.cancel()
        return {"approved": approval.result}
    yield context.call_activity("escalate")
    return "escalated"


def test_the_deadline_timer_is_the_only_scheduled_action_while_waiting_for_approval() -> None:
    result = run(approval_with_deadline, H().new().started("o"))

    assert result.actions == [CreateTimerAction(id=0, fire_at=T0 + timedelta(hours=24))]


def test_an_approval_before_the_deadline_completes_the_orchestration_and_cancels_the_timer() -> None:
    h = H().started("o").timer_created(T0 + timedelta(hours=24)).episode().new().event_raised("Approval", "yes")

    result = run(approval_with_deadline, h)

    assert result.completion == Completion(
        id=1, status=OrchestrationRuntimeStatus.Completed, output=json.dumps({"approved": "yes"})
    )


def test_a_deadline_that_fires_first_escalates() -> None:
    h = H().started("o").timer_created(T0 + timedelta(hours=24)).episode(T0 + timedelta(hours=24)).new()
    h.timer_fired(0)

    assert run(approval_with_deadline, h).actions == [ScheduleTaskAction(id=1, name="escalate", input="null")]


def test_an_approval_after_the_deadline_fired_is_ignored() -> None:
    h = H().started("o").timer_created(T0 + timedelta(hours=24)).episode(T0 + timedelta(hours=24)).timer_fired(0)
    h.scheduled("escalate").episode().new().event_raised("Approval", "too late").completed(1)

    assert output_of(run(approval_with_deadline, h)) == "escalated"


# --- continue-as-new --------------------------------------------------------------------------------------------


def test_continue_as_new_carries_unconsumed_events_to_the_next_execution() -> None:
    def loop(context: Any) -> Any:
        yield context.call_activity("tick")
        context.continue_as_new(context.get_input() + 1)

    h = H().started("loop", input=1).scheduled("tick").episode().new()
    h.event_raised("later", "kept").event_raised("also", {"n": 2}).completed(0)

    result = run(loop, h)

    assert result.completion is not None
    assert result.completion.status is OrchestrationRuntimeStatus.ContinuedAsNew
    assert [(e.name, e.input) for e in result.completion.carryover_events] == [
        ("later", '"kept"'),
        ("also", '{"n": 2}'),
    ]


def test_events_that_arrive_in_the_same_batch_after_the_continue_as_new_are_carried_over_too() -> None:
    # The batch is one episode: DTFx processes every event of it before the execution ends, so an event that
    # comes after the completion that triggered continue-as-new is unconsumed, not lost.
    def loop(context: Any) -> Any:
        yield context.call_activity("tick")
        context.continue_as_new(None)

    h = H().started("loop").scheduled("tick").episode().new().completed(0).event_raised("late", "kept")

    result = run(loop, h)

    assert result.completion is not None
    assert [(e.name, e.input) for e in result.completion.carryover_events] == [("late", '"kept"')]


def test_continue_as_new_does_not_carry_over_events_the_code_consumed() -> None:
    def consume_one(context: Any) -> Any:
        yield context.wait_for_external_event("used")
        context.continue_as_new(None)

    h = H().started("consume_one").episode().new().event_raised("kept", 1).event_raised("used", 2)

    result = run(consume_one, h)

    assert result.completion is not None
    assert [e.name for e in result.completion.carryover_events] == ["kept"]
