"""Timers and the replay clock (python-api.md §1.2, §1.4; api.md §1).

``create_timer`` takes a datetime (naive = UTC) or a timedelta from now. A timer further away than
``max_timer_duration`` becomes a chain of sub-timers of ``long_timer_interval`` each, the last one firing at the
time asked for, each taking a sequence id (azure-functions-durable 1.7's LongTimerTask). ``current_utc_datetime``
comes only from OrchestratorStarted timestamps and never moves backwards.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage.replay import CreateTimerAction, ReplayOptions, ScheduleTaskAction

from .support import T0, H, failure_of, output_of, run

SMALL = ReplayOptions(max_timer_duration=timedelta(hours=16), long_timer_interval=timedelta(hours=8))


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def sleep_until(fire_at: datetime | timedelta) -> Any:
    def sleeper(context: Any) -> Any:
        yield context.create_timer(fire_at)
        after = yield context.call_activity("after_timer")
        return after

    return sleeper


# --- plain timers -----------------------------------------------------------------------------------------------


def test_a_timer_at_a_datetime_is_created_with_sequence_id_0() -> None:
    result = run(sleep_until(hours(1)), H().new().started("sleeper"))

    assert result.actions == [CreateTimerAction(id=0, fire_at=hours(1))]


def test_a_timer_for_a_timedelta_fires_that_long_after_the_replay_clock() -> None:
    result = run(sleep_until(timedelta(minutes=5)), H().new().started("sleeper"))

    assert result.actions == [CreateTimerAction(id=0, fire_at=T0 + timedelta(minutes=5))]


def test_a_naive_datetime_means_utc() -> None:
    (timer,) = run(sleep_until(datetime(2024, 1, 2, 12, 30)), H().new().started("sleeper")).actions

    assert isinstance(timer, CreateTimerAction)
    assert timer.fire_at == datetime(2024, 1, 2, 12, 30, tzinfo=timezone.utc)
    assert timer.fire_at.utcoffset() == timedelta(0)


def test_an_aware_datetime_in_another_zone_is_converted_to_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))
    (timer,) = run(sleep_until(datetime(2024, 1, 2, 14, 0, tzinfo=paris_summer)), H().new().started("s")).actions

    assert isinstance(timer, CreateTimerAction)
    assert timer.fire_at == datetime(2024, 1, 2, 12, 0, tzinfo=timezone.utc)
    assert timer.fire_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "fire_at",
    [
        datetime(999, 1, 1),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        timedelta(days=-999_999),
        timedelta(days=999_999_999),
    ],
    ids=["year 999", "underflows year 1", "far back", "overflows"],
)
def test_a_timer_a_table_cannot_hold_fails_the_orchestration_naming_the_time_and_the_range(
    fire_at: datetime | timedelta,
) -> None:
    # Its TimerCreated row would hold a DateTime that no one could read back (issue 17 item 2).
    result = run(sleep_until(fire_at), H().new().started("sleeper"))

    details = failure_of(result)
    assert result.actions == [] and details.error_type == "ValueError"
    assert "timer fire_at " in details.error_message
    assert "must be from 1601-01-01T00:00:00Z to 9999-12-31T23:59:59Z" in details.error_message


def test_a_fired_timer_resumes_the_code_and_the_next_action_takes_the_next_id() -> None:
    h = H().started("sleeper").timer_created(hours(1)).episode(hours(1)).new().timer_fired(0, hours(1))

    assert run(sleep_until(hours(1)), h).actions == [ScheduleTaskAction(id=1, name="after_timer", input="null")]


def test_a_fired_timer_yields_none() -> None:
    def sleeper(context: Any) -> Any:
        value = yield context.create_timer(hours(1))
        return {"value": value}

    h = H().started("sleeper").timer_created(hours(1)).episode(hours(1)).new().timer_fired(0)

    assert output_of(run(sleeper, h)) == {"value": None}


def test_a_timedelta_timer_replays_to_the_same_fire_time_in_a_later_episode() -> None:
    h = H().started("sleeper").timer_created(T0 + timedelta(minutes=5))
    h.episode(T0 + timedelta(minutes=5)).new().timer_fired(0)

    result = run(sleep_until(timedelta(minutes=5)), h)

    assert result.all_actions[0] == CreateTimerAction(id=0, fire_at=T0 + timedelta(minutes=5))
    assert result.actions == [ScheduleTaskAction(id=1, name="after_timer", input="null")]


def test_a_fire_time_that_is_neither_datetime_nor_timedelta_fails_with_value_error() -> None:
    details = failure_of(run(sleep_until(3600), H().new().started("sleeper")))  # type: ignore[arg-type]

    assert details.error_type == "ValueError"


# --- long timers ------------------------------------------------------------------------------------------------


def test_a_timer_beyond_the_maximum_duration_starts_with_one_interval_long_sub_timer() -> None:
    result = run(sleep_until(hours(20)), H().new().started("sleeper"), options=SMALL)

    assert result.actions == [CreateTimerAction(id=0, fire_at=hours(8))]


def test_when_a_sub_timer_fires_the_next_one_targets_the_final_time_once_it_is_within_the_maximum() -> None:
    h = H().started("sleeper").timer_created(hours(8)).episode(hours(8)).new().timer_fired(0)

    result = run(sleep_until(hours(20)), h, options=SMALL)

    assert result.actions == [CreateTimerAction(id=1, fire_at=hours(20))]


def test_the_code_resumes_only_when_the_last_sub_timer_fires() -> None:
    h = H().started("sleeper").timer_created(hours(8)).episode(hours(8)).timer_fired(0).timer_created(hours(20))
    h.episode(hours(20)).new().timer_fired(1)

    assert run(sleep_until(hours(20)), h, options=SMALL).actions == [
        ScheduleTaskAction(id=2, name="after_timer", input="null")
    ]


def test_a_very_long_timer_is_a_chain_of_interval_long_sub_timers_then_the_remainder() -> None:
    h = H().new().started("sleeper")
    fire_times = []
    for timer_id in range(4):
        (timer,) = run(sleep_until(hours(40)), h, options=SMALL).actions
        assert isinstance(timer, CreateTimerAction) and timer.id == timer_id
        fire_times.append(timer.fire_at)
        h.timer_created(timer.fire_at).episode(timer.fire_at).new().timer_fired(timer_id)

    assert fire_times == [hours(8), hours(16), hours(24), hours(40)]
    assert run(sleep_until(hours(40)), h, options=SMALL).actions == [
        ScheduleTaskAction(id=4, name="after_timer", input="null")
    ]


def test_a_timer_of_exactly_the_maximum_duration_is_a_single_timer() -> None:
    result = run(sleep_until(timedelta(hours=16)), H().new().started("sleeper"), options=SMALL)

    assert result.actions == [CreateTimerAction(id=0, fire_at=hours(16))]


def test_by_default_timers_beyond_six_days_are_split_into_three_day_sub_timers() -> None:
    long = run(sleep_until(timedelta(days=7)), H().new().started("sleeper"))
    six_days = run(sleep_until(timedelta(days=6)), H().new().started("sleeper"))

    assert long.actions == [CreateTimerAction(id=0, fire_at=T0 + timedelta(days=3))]
    assert six_days.actions == [CreateTimerAction(id=0, fire_at=T0 + timedelta(days=6))]


def test_replay_options_reject_an_interval_longer_than_the_maximum() -> None:
    with pytest.raises(ValueError, match="long_timer_interval"):
        ReplayOptions(max_timer_duration=timedelta(hours=1), long_timer_interval=timedelta(hours=2))


# --- cancellation -----------------------------------------------------------------------------------------------


def race_activity_against_timer(context: Any) -> Any:
    work = context.call_activity("work")
    timer = context.create_timer(hours(1))
    winner = yield context.task_any([work, timer])
    if winner is work:
        timer.cancel()
        cleaned = yield context.call_activity("next_step", timer.is_cancelled)
        return cleaned
    return "timed out"


def test_a_cancelled_timer_no_longer_holds_the_orchestration_back() -> None:
    h = H().started("race").scheduled("work").timer_created(hours(1)).episode().new().completed(0, "done")

    result = run(race_activity_against_timer, h)

    assert result.actions == [ScheduleTaskAction(id=2, name="next_step", input="true")]


def test_a_cancelled_timer_that_fires_later_changes_nothing() -> None:
    h = H().started("race").scheduled("work").timer_created(hours(1)).episode().completed(0, "done")
    h.scheduled("next_step", True).episode(hours(1)).new().timer_fired(1)

    result = run(race_activity_against_timer, h)

    assert (result.actions, result.completion) == ([], None)


def cancel_after_firing(fire_at: datetime) -> Any:
    def late_cancel(context: Any) -> Any:
        timer = context.create_timer(fire_at)
        yield timer
        try:
            timer.cancel()
        except ValueError as error:
            return str(error)
        return "cancelled"

    return late_cancel


def test_cancelling_a_timer_that_already_fired_raises_value_error() -> None:
    h = H().started("late_cancel").timer_created(hours(1)).episode(hours(1)).new().timer_fired(0)

    assert output_of(run(cancel_after_firing(hours(1)), h)) == "Cannot cancel a completed task."


def test_a_long_timer_can_be_cancelled_before_it_fires() -> None:
    def cancel_long(context: Any) -> Any:
        timer = context.create_timer(hours(40))
        winner = yield context.task_any([timer, context.wait_for_external_event("stop")])
        timer.cancel()
        return [winner is timer, timer.is_cancelled]

    h = H().started("cancel_long").timer_created(hours(8)).episode().new().event_raised("stop")

    assert output_of(run(cancel_long, h, options=SMALL)) == [False, True]


def test_a_cancelled_long_timer_schedules_no_further_sub_timers() -> None:
    # .NET Durable Functions stops the sub-timer loop on cancellation; azure-functions-durable 1.7 keeps chaining
    # (its issue #573), which leaves an instance waiting for a timer nobody wants.
    def cancel_then_work(context: Any) -> Any:
        timer = context.create_timer(hours(40))
        yield context.task_any([timer, context.wait_for_external_event("stop")])
        timer.cancel()
        yield context.call_activity("cleanup")

    h = H().started("cancel_then_work").timer_created(hours(8)).episode().event_raised("stop").scheduled("cleanup")
    h.episode(hours(8)).new().timer_fired(0)

    result = run(cancel_then_work, h, options=SMALL)

    assert (result.actions, result.completion) == ([], None)


def test_cancelling_a_long_timer_that_already_fired_raises_value_error() -> None:
    h = H().started("late_cancel").timer_created(hours(8)).episode(hours(8)).timer_fired(0)
    h.timer_created(hours(20)).episode(hours(20)).new().timer_fired(1)

    assert output_of(run(cancel_after_firing(hours(20)), h, options=SMALL)) == "Cannot cancel a completed task."


# --- the replay clock -------------------------------------------------------------------------------------------


def clock_reader(context: Any) -> Any:
    seen = [context.current_utc_datetime.isoformat()]
    yield context.call_activity("a")
    seen.append(context.current_utc_datetime.isoformat())
    yield context.call_activity("b")
    seen.append(context.current_utc_datetime.isoformat())
    return seen


def test_the_clock_starts_at_the_first_orchestrator_started_and_is_timezone_aware_utc() -> None:
    def now(context: Any) -> Any:
        moment = context.current_utc_datetime
        return [moment.isoformat(), moment.utcoffset().total_seconds()]

    assert output_of(run(now, H().new().started("now"))) == [T0.isoformat(), 0.0]


def test_the_clock_moves_to_each_orchestrator_started_timestamp_not_to_completion_timestamps() -> None:
    h = H(step=timedelta(minutes=1)).started("clock").scheduled("a").episode(hours(1)).completed(0)
    h.scheduled("b").episode(hours(2)).new().completed(1)

    assert output_of(run(clock_reader, h)) == [T0.isoformat(), hours(1).isoformat(), hours(2).isoformat()]


def test_the_clock_never_moves_backwards() -> None:
    h = H().started("clock").scheduled("a").episode(hours(2)).completed(0)
    h.scheduled("b").episode(hours(1)).new().completed(1)

    assert output_of(run(clock_reader, h)) == [T0.isoformat(), hours(2).isoformat(), hours(2).isoformat()]


def test_a_timer_created_after_a_replayed_step_is_relative_to_that_steps_episode() -> None:
    def wait_after(context: Any) -> Any:
        yield context.call_activity("a")
        yield context.create_timer(timedelta(minutes=10))

    h = H().started("wait_after").scheduled("a").episode(hours(3)).new().completed(0)

    assert run(wait_after, h).actions == [CreateTimerAction(id=1, fire_at=hours(3) + timedelta(minutes=10))]
