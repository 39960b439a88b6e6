"""Retries: ``call_activity_with_retry`` and ``call_sub_orchestrator_with_retry`` in step with DTFx's RetryInterceptor.

A failed attempt is followed by a durable timer at ``now + delay`` (``now`` = the episode's OrchestratorStarted
time); when it fires the next attempt takes the next sequence id. DTFx creates that timer after the final failure
too, and only when it fires does the code see the error (python-api.md §1.4). The delay after attempt ``k``
(0-based) is ``first_retry_interval * backoff_coefficient**k``, capped at ``max_retry_interval``; no retry starts
once ``retry_timeout`` has passed since the first attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from durable_storage.errors import TaskFailedError
from durable_storage.models import OrchestrationRuntimeStatus, RetryOptions
from durable_storage.replay import Completion, CreateSubOrchestrationAction, CreateTimerAction, ScheduleTaskAction

from .support import T0, H, failure_of, output_of, run

THREE_ATTEMPTS = RetryOptions(1000, 3)
BACKOFF = RetryOptions(1000, 4, backoff_coefficient=2, max_retry_interval_in_milliseconds=3000)
WITH_TIMEOUT = RetryOptions(1000, 5, retry_timeout_in_milliseconds=5000)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def flaky_with(options: RetryOptions) -> Any:
    def flaky(context: Any) -> Any:
        try:
            value = yield context.call_activity_with_retry("flaky", options, "payload")
        except TaskFailedError as error:
            return f"gave up: {error.reason}"
        return f"got {value}"

    return flaky


def flaky_unhandled(context: Any) -> Any:
    value = yield context.call_activity_with_retry("flaky", THREE_ATTEMPTS, "payload")
    return value


def first_attempt_failed(at: float = 10) -> H:
    """The first attempt (id 0) fails in the episode that starts ``at`` seconds after T0."""
    h = H().started("flaky").scheduled("flaky", "payload")
    return h.episode(seconds(at)).new().failed(0, "attempt 1 failed")


def retried(h: H, attempt_id: int, *, failed_at: float, fires_at: float) -> H:
    """Attempt ``attempt_id`` fails at ``failed_at``; its timer fires at ``fires_at``; the next attempt starts."""
    h.episode(seconds(failed_at)).failed(attempt_id, f"attempt at id {attempt_id} failed")
    h.timer_created(seconds(fires_at))
    return h.episode(seconds(fires_at)).timer_fired(attempt_id + 1).scheduled("flaky", "payload")


def three_failed_attempts() -> H:
    """Attempts at ids 0, 2 and 4 failed; timers 1 and 3 fired; the last failure (id 4) is the new event."""
    h = H().started("flaky").scheduled("flaky", "payload")
    retried(h, 0, failed_at=10, fires_at=11)
    retried(h, 2, failed_at=20, fires_at=21)
    return h.episode(seconds(30)).new().failed(4, "attempt 3 failed")


# --- one failure ------------------------------------------------------------------------------------------------


def test_the_first_attempt_is_an_ordinary_activity_with_sequence_id_0() -> None:
    result = run(flaky_with(THREE_ATTEMPTS), H().new().started("flaky"))

    assert result.actions == [ScheduleTaskAction(id=0, name="flaky", input='"payload"')]


def test_a_failed_attempt_schedules_a_timer_at_now_plus_the_first_interval_with_the_next_id() -> None:
    result = run(flaky_with(THREE_ATTEMPTS), first_attempt_failed(at=10))

    assert result.actions == [CreateTimerAction(id=1, fire_at=seconds(11))]
    assert result.completion is None


def test_when_the_retry_timer_fires_the_activity_is_scheduled_again_with_the_next_id_and_same_input() -> None:
    h = first_attempt_failed(at=10).timer_created(seconds(11)).episode(seconds(11)).new().timer_fired(1)

    result = run(flaky_with(THREE_ATTEMPTS), h)

    assert result.actions == [ScheduleTaskAction(id=2, name="flaky", input='"payload"')]


def test_success_on_a_later_attempt_gives_its_result_to_the_code() -> None:
    h = H().started("flaky").scheduled("flaky", "payload")
    retried(h, 0, failed_at=10, fires_at=11)
    h.episode(seconds(12)).new().completed(2, "finally")

    result = run(flaky_with(THREE_ATTEMPTS), h)

    assert output_of(result) == "got finally"
    assert result.completion is not None and result.completion.id == 3


# --- giving up --------------------------------------------------------------------------------------------------


def test_after_the_final_failure_an_extra_timer_is_scheduled_before_the_code_sees_the_error() -> None:
    result = run(flaky_with(THREE_ATTEMPTS), three_failed_attempts())

    assert result.actions == [CreateTimerAction(id=5, fire_at=seconds(31))]
    assert result.completion is None


def test_when_the_extra_timer_fires_the_code_gets_the_last_attempts_error() -> None:
    h = three_failed_attempts().timer_created(seconds(31)).episode(seconds(31)).new().timer_fired(5)

    assert output_of(run(flaky_with(THREE_ATTEMPTS), h)) == "gave up: attempt 3 failed"


def test_an_unhandled_final_failure_fails_the_orchestration_with_the_next_sequence_id() -> None:
    h = three_failed_attempts().timer_created(seconds(31)).episode(seconds(31)).new().timer_fired(5)

    result = run(flaky_unhandled, h)

    details = failure_of(result)
    assert result.completion is not None and result.completion.id == 6
    assert details.error_type == "TaskFailedError"
    assert details.error_message.startswith("attempt 3 failed \n ")


def test_a_single_attempt_still_waits_for_one_timer_before_failing() -> None:
    options = RetryOptions(2000, 1)
    h = H().started("flaky").scheduled("flaky", "payload").episode(seconds(10)).new().failed(0, "only attempt")

    waiting = run(flaky_with(options), h)
    h.timer_created(seconds(12)).episode(seconds(12)).new().timer_fired(1)

    assert waiting.actions == [CreateTimerAction(id=1, fire_at=seconds(12))]
    assert output_of(run(flaky_with(options), h)) == "gave up: only attempt"


# --- delays -----------------------------------------------------------------------------------------------------


def test_the_delay_grows_by_the_backoff_coefficient_and_is_capped_at_the_max_retry_interval() -> None:
    h = H().started("flaky").scheduled("flaky", "payload")
    fire_times = []
    for attempt_id, failed_at in ((0, 10), (2, 20), (4, 30), (6, 40)):
        h.episode(seconds(failed_at)).new().failed(attempt_id, "failed")
        (timer,) = run(flaky_with(BACKOFF), h).actions
        assert isinstance(timer, CreateTimerAction) and timer.id == attempt_id + 1
        fire_times.append(timer.fire_at)
        h.timer_created(timer.fire_at).episode(timer.fire_at).timer_fired(attempt_id + 1)
        if attempt_id < 6:
            h.scheduled("flaky", "payload")

    # 1 s, 2 s, then 4 s and 8 s capped at 3 s; the last is the extra timer after the fourth failure.
    assert fire_times == [seconds(11), seconds(22), seconds(33), seconds(43)]


# --- retry timeout ----------------------------------------------------------------------------------------------


def test_a_failure_before_the_retry_timeout_is_retried() -> None:
    result = run(flaky_with(WITH_TIMEOUT), first_attempt_failed(at=3))

    assert result.actions == [CreateTimerAction(id=1, fire_at=seconds(4))]


def test_a_failure_after_the_retry_timeout_fails_at_once_without_a_timer() -> None:
    # The first attempt was scheduled at T0; this failure is seen 6 s later, past the 5 s timeout.
    h = H().started("flaky").scheduled("flaky", "payload")
    retried(h, 0, failed_at=3, fires_at=4)
    h.episode(seconds(6)).new().failed(2, "too late")

    result = run(flaky_with(WITH_TIMEOUT), h)

    assert result.actions == []
    assert output_of(result) == "gave up: too late"
    assert result.completion is not None and result.completion.id == 3


def test_parallel_retries_take_sequence_ids_in_the_order_their_failures_arrive() -> None:
    def both(context: Any) -> Any:
        results = yield context.task_all(
            [context.call_activity_with_retry(name, THREE_ATTEMPTS) for name in ("left", "right")]
        )
        return results

    h = H().started("both").scheduled("left").scheduled("right")
    h.episode(seconds(10)).new().failed(1, "right failed").failed(0, "left failed")
    timers = run(both, h).actions
    h.timer_created(seconds(11)).timer_created(seconds(11)).episode(seconds(11)).new().timer_fired(3)
    h.timer_fired(2)

    assert timers == [CreateTimerAction(id=2, fire_at=seconds(11)), CreateTimerAction(id=3, fire_at=seconds(11))]
    assert run(both, h).actions == [
        ScheduleTaskAction(id=4, name="left", input="null"),
        ScheduleTaskAction(id=5, name="right", input="null"),
    ]


# --- sub-orchestrations -----------------------------------------------------------------------------------------


def child_with_retry(context: Any) -> Any:
    result = yield context.call_sub_orchestrator_with_retry("child", RetryOptions(500, 2), {"n": 1}, "child-1")
    return result


def test_a_failed_sub_orchestration_is_retried_after_a_timer_under_the_same_instance_id() -> None:
    h = H().started("parent").sub_orchestration_created("child", "child-1", {"n": 1})
    h.episode(seconds(10)).new().sub_orchestration_failed(0, "child failed", "details")
    timer = run(child_with_retry, h).actions
    h.timer_created(seconds(10.5)).episode(seconds(11)).new().timer_fired(1)
    retry = run(child_with_retry, h).actions

    assert timer == [CreateTimerAction(id=1, fire_at=seconds(10.5))]
    assert retry == [CreateSubOrchestrationAction(id=2, name="child", instance_id="child-1", input='{"n": 1}')]


def test_a_retried_sub_orchestration_that_succeeds_completes_the_parent() -> None:
    h = H().started("parent").sub_orchestration_created("child", "child-1", {"n": 1})
    h.episode(seconds(10)).sub_orchestration_failed(0, "child failed").timer_created(seconds(10.5))
    h.episode(seconds(11)).timer_fired(1).sub_orchestration_created("child", "child-1", {"n": 1})
    h.episode(seconds(12)).new().sub_orchestration_completed(2, "child output")

    assert run(child_with_retry, h).completion == Completion(
        id=3, status=OrchestrationRuntimeStatus.Completed, output='"child output"'
    )


def test_a_sub_orchestration_that_fails_every_attempt_raises_after_the_extra_timer() -> None:
    h = H().started("parent").sub_orchestration_created("child", "child-1", {"n": 1})
    h.episode(seconds(10)).sub_orchestration_failed(0, "child failed").timer_created(seconds(10.5))
    h.episode(seconds(11)).timer_fired(1).sub_orchestration_created("child", "child-1", {"n": 1})
    h.episode(seconds(20)).sub_orchestration_failed(2, "child failed again", "trace")
    h.timer_created(seconds(20.5)).episode(seconds(21)).new().timer_fired(3)

    details = failure_of(run(child_with_retry, h))

    assert details.error_message == "child failed again \n trace"
