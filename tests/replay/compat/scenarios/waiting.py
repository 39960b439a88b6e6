"""Waiting: external events, timers (cancelled and long ones) and continue_as_new.

Modelled on azure-functions-durable's test_external_event, test_create_timer, tasks/test_long_timers and
test_continue_as_new (python-api.md §3.1).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..harness import H, Scenario, TimerLimits

START = datetime(2024, 1, 1, tzinfo=timezone.utc)  # HistoryBuilder's first timestamp: the first current_utc_datetime
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


# --- external events -------------------------------------------------------------------------------------------


def approval(context: Any) -> Any:
    approved = yield context.wait_for_external_event("Approval")
    result = yield context.call_activity("Process", approved)
    return result


def prepare_then_wait(context: Any) -> Any:
    yield context.call_activity("Prepare", None)
    data = yield context.wait_for_external_event("Go")
    return data


def two_waiters(context: Any) -> Any:
    first = context.wait_for_external_event("Ping")
    second = context.wait_for_external_event("Ping")
    values = yield context.task_all([first, second])
    return values


def two_names(context: Any) -> Any:
    values = yield context.task_all([context.wait_for_external_event(n) for n in ("A", "B")])
    return values


def event_or_timeout(context: Any) -> Any:
    timer = context.create_timer(context.current_utc_datetime + HOUR)
    answer = context.wait_for_external_event("Answer")
    winner = yield context.task_any([answer, timer])
    if winner is answer:
        timer.cancel()
        return ["answered", answer.result]
    return ["timed out", None]


def prepared(*, event_in_past: bool) -> H:
    """prepare_then_wait's history: "Go" arrives before the code waits for it (buffered)."""
    history = H("go-1").started("prepare_then_wait").scheduled("Prepare")
    if event_in_past:
        return history.episode().event_raised("Go", {"n": 42}).wake().completed(0)
    return history.wake().event_raised("Go", {"n": 42}).completed(0)


EVENTS = [
    Scenario("event: waiting schedules nothing", approval, H("ev-1").new().started("approval")),
    Scenario(
        "event: payload arrives, next activity scheduled",
        approval,
        H("ev-1").started("approval").wake().event_raised("Approval", {"ok": True}),
    ),
    Scenario(
        "event: names are case-sensitive",
        approval,
        H("ev-1").started("approval").wake().event_raised("approval", {"ok": True}),
    ),
    Scenario(
        "event: no payload is None",
        approval,
        H("ev-1").started("approval").wake().event_raised("Approval", raw=None),
    ),
    Scenario("event: arrives before the wait, same episode", prepare_then_wait, prepared(event_in_past=False)),
    Scenario("event: arrives before the wait, earlier episode", prepare_then_wait, prepared(event_in_past=True)),
    Scenario(
        "event: two waiters on one name, latest waiter first",
        two_waiters,
        H("ping-1").started("two_waiters").wake().event_raised("Ping", 1).event_raised("Ping", 2),
    ),
    Scenario(
        "event: two waiters on one name, one event",
        two_waiters,
        H("ping-1").started("two_waiters").wake().event_raised("Ping", 1),
    ),
    Scenario(
        "event: two names, out of order",
        two_names,
        H("ab-1").started("two_names").wake().event_raised("B", "b").event_raised("A", "a"),
    ),
    Scenario(
        "event or timeout: the event wins and cancels the timer",
        event_or_timeout,
        H("eot-1").started("o").timer_created(START + HOUR).wake().event_raised("Answer", "yes"),
    ),
    Scenario(
        "event or timeout: the timer wins",
        event_or_timeout,
        H("eot-1").started("o").timer_created(START + HOUR).wake(START + HOUR).timer_fired(0, START + HOUR),
    ),
    Scenario(
        "event or timeout: a late event after the timer",
        event_or_timeout,
        H("eot-1")
        .started("o")
        .timer_created(START + HOUR)
        .wake(START + HOUR)
        .timer_fired(0, START + HOUR)
        .event_raised("Answer", "late"),
    ),
]


# --- timers ----------------------------------------------------------------------------------------------------


def wait_an_hour(context: Any) -> Any:
    yield context.create_timer(context.current_utc_datetime + HOUR)
    return "done"


def long_wait(context: Any) -> Any:
    yield context.create_timer(context.current_utc_datetime + 5 * DAY)
    return "woke"


# Small limits, as DF's own long-timer tests use: timers over 2 days become 1-day sub-timers.
SMALL = TimerLimits(max_timer=2 * DAY, interval=DAY)


def long_waited(fired: int) -> H:
    """long_wait's history after ``fired`` sub-timers fired (1 day, 2 days, 3 days, then the final 5 days)."""
    if fired == 0:
        return H("long-1").new().started("long_wait")
    history = H("long-1").started("long_wait")
    fire_times = [START + DAY, START + 2 * DAY, START + 3 * DAY, START + 5 * DAY]
    for id_, fire_at in enumerate(fire_times[:fired]):
        history.timer_created(fire_at)
        if id_ == fired - 1:
            history.wake(fire_at)
        else:
            history.episode(fire_at)
        history.timer_fired(id_, fire_at)
    return history


TIMERS = [
    Scenario("timer: created", wait_an_hour, H("t-1").new().started("wait_an_hour")),
    Scenario(
        "timer: not fired yet, another episode",
        wait_an_hour,
        H("t-1").started("wait_an_hour").timer_created(START + HOUR).wake().event_raised("Other", 1),
    ),
    Scenario(
        "timer: fired completes",
        wait_an_hour,
        H("t-1").started("wait_an_hour").timer_created(START + HOUR).wake(START + HOUR).timer_fired(0, START + HOUR),
    ),
    Scenario("long timer: the first sub-timer", long_wait, long_waited(0), SMALL),
    Scenario("long timer: the second sub-timer", long_wait, long_waited(1), SMALL),
    Scenario("long timer: the final sub-timer at the exact time", long_wait, long_waited(3), SMALL),
    Scenario("long timer: done", long_wait, long_waited(4), SMALL),
    Scenario("long timer: within the limit stays one timer", long_wait, long_waited(0), TimerLimits(6 * DAY, DAY)),
]


# --- continue_as_new -------------------------------------------------------------------------------------------


def count_up(context: Any) -> Any:
    count = context.get_input()
    yield context.call_activity("Work", count)
    context.continue_as_new(count + 1)


def restart_plain(context: Any) -> None:
    context.continue_as_new({"round": context.get_input()["round"] + 1})


def continue_then_schedule(context: Any) -> Any:
    context.continue_as_new("next")
    yield context.call_activity("Dropped", None)  # after continue_as_new: DF drops the action


CONTINUE_AS_NEW = [
    Scenario(
        "continue_as_new: after an activity",
        count_up,
        H("can-1").started("count_up", 1).scheduled("Work", 1).wake().completed(0),
    ),
    Scenario("continue_as_new: activity pending", count_up, H("can-1").new().started("count_up", 1)),
    Scenario("continue_as_new: from a plain function", restart_plain, H("can-2").new().started("r", {"round": 1})),
    Scenario("continue_as_new: later work is dropped", continue_then_schedule, H("can-3").new().started("c")),
]

SCENARIOS = [*EVENTS, *TIMERS, *CONTINUE_AS_NEW]
