"""Suspend, resume, terminate and duplicate completions, as DTFx handles them (issue 4, acceptance 6).

After ExecutionSuspended, events wait in order until ExecutionResumed; a terminate gets through at once and ends
the execution as Terminated with the reason as output. A second completion for one TaskScheduledId is ignored
(storage-layout.md §4: a re-delivered message must not run the code twice).
"""

from __future__ import annotations

from typing import Any

from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import Completion, ScheduleTaskAction

from .support import T0, H, output_of, run


def two_steps(context: Any) -> Any:
    first = yield context.call_activity("first")
    second = yield context.call_activity("second", first)
    return second


def first_scheduled() -> H:
    return H().started("two_steps").scheduled("first").episode()


# --- suspend and resume -----------------------------------------------------------------------------------------


def test_a_completion_that_arrives_while_suspended_is_held() -> None:
    result = run(two_steps, first_scheduled().new().suspended("maintenance").completed(0, "one"))

    assert (result.actions, result.completion, result.is_suspended) == ([], None, True)


def test_a_suspension_alone_reports_the_orchestration_suspended() -> None:
    result = run(two_steps, first_scheduled().new().suspended())

    assert result.is_suspended is True


def test_on_resume_the_held_events_are_processed_in_order() -> None:
    h = first_scheduled().suspended().completed(0, "one").episode().new().resumed()

    result = run(two_steps, h)

    assert result.actions == [ScheduleTaskAction(id=1, name="second", input='"one"')]
    assert result.is_suspended is False


def test_suspend_and_resume_in_one_episode_hold_nothing_back() -> None:
    result = run(two_steps, first_scheduled().new().suspended().completed(0, "one").resumed())

    assert result.actions == [ScheduleTaskAction(id=1, name="second", input='"one"')]
    assert result.is_suspended is False


def test_held_external_events_are_delivered_on_resume() -> None:
    def wait(context: Any) -> Any:
        data = yield context.wait_for_external_event("go")
        return data

    h = H().started("wait").episode().new().suspended().event_raised("go", "held")
    suspended = run(wait, h)
    resumed = run(wait, h.episode().new().resumed())

    assert (suspended.completion, suspended.is_suspended) == (None, True)
    assert output_of(resumed) == "held"


def test_a_resume_without_a_suspend_changes_nothing() -> None:
    result = run(two_steps, first_scheduled().new().resumed().completed(0, "one"))

    assert result.actions == [ScheduleTaskAction(id=1, name="second", input='"one"')]


# --- terminate --------------------------------------------------------------------------------------------------


def test_terminate_completes_the_orchestration_as_terminated_with_the_reason_as_output() -> None:
    result = run(two_steps, first_scheduled().new().terminated("cancelled by operator"))

    assert result.completion is not None
    assert result.completion.status is OrchestrationRuntimeStatus.Terminated
    assert result.completion.output == '"cancelled by operator"'
    assert result.actions == []


def test_the_terminated_completion_takes_the_next_sequence_id_as_in_dtfx() -> None:
    # DTFx's HandleExecutionTerminatedEvent completes through CompleteOrchestration, which takes idCounter++:
    # the ExecutionCompleted(Terminated) event's EventId is the next sequence id (storage-layout.md §4).
    result = run(two_steps, first_scheduled().new().terminated("stop"))

    assert result.completion is not None and result.completion.id == 1


def test_terminate_gets_through_while_suspended() -> None:
    result = run(two_steps, first_scheduled().new().suspended().completed(0, "one").terminated("stop"))

    assert result.completion is not None
    assert result.completion.status is OrchestrationRuntimeStatus.Terminated
    assert result.actions == []


def test_a_terminate_in_the_same_batch_as_the_last_completion_still_terminates() -> None:
    # DTFx decides the execution's end after it has processed every event of the batch, and a terminate turns
    # the code's own completion into a no-op (TaskOrchestrationContext.CompleteOrchestration).
    def one_step(context: Any) -> Any:
        value = yield context.call_activity("first")
        return value

    result = run(one_step, first_scheduled().new().completed(0, "one").terminated("stop"))

    assert result.completion is not None
    assert (result.completion.status, result.completion.output) == (OrchestrationRuntimeStatus.Terminated, '"stop"')


def test_events_after_terminate_are_not_processed() -> None:
    result = run(two_steps, first_scheduled().new().terminated("stop").completed(0, "one"))

    assert result.actions == []
    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Terminated


# --- duplicates -------------------------------------------------------------------------------------------------


def test_a_duplicate_task_completed_for_one_task_scheduled_id_is_ignored() -> None:
    h = first_scheduled().new().completed(0, "one").completed(0, "duplicate")

    result = run(two_steps, h)

    assert result.actions == [ScheduleTaskAction(id=1, name="second", input='"one"')]


def test_a_duplicate_completion_in_a_later_episode_is_ignored() -> None:
    h = first_scheduled().completed(0, "one").scheduled("second", "one").episode().new().completed(0, "duplicate")
    h.completed(1, "two")

    assert run(two_steps, h).completion == Completion(id=2, status=OrchestrationRuntimeStatus.Completed, output='"two"')


def test_a_failure_after_a_completion_for_the_same_task_is_ignored() -> None:
    h = first_scheduled().new().completed(0, "one").failed(0, "late failure")

    result = run(two_steps, h)

    assert result.actions == [ScheduleTaskAction(id=1, name="second", input='"one"')]
    assert result.completion is None


def test_a_duplicate_timer_fired_is_ignored() -> None:
    def sleep_twice(context: Any) -> Any:
        yield context.create_timer(context.current_utc_datetime)
        yield context.call_activity("after")

    h = H().started("sleep_twice").timer_created(T0).episode().new().timer_fired(0).timer_fired(0)

    assert run(sleep_twice, h).actions == [ScheduleTaskAction(id=1, name="after", input="null")]


def test_a_duplicate_execution_started_does_not_restart_the_code() -> None:
    h = first_scheduled().new().started("two_steps").completed(0, "one")

    result = run(two_steps, h)

    assert result.actions == [ScheduleTaskAction(id=1, name="second", input='"one"')]
