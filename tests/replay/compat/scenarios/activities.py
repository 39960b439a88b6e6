"""Activities: chaining, failures, unhandled exceptions, retries, fan-out/fan-in and task_any.

Modelled on azure-functions-durable's test_sequential_orchestrator(_with_retry), test_retries, test_fan_out_fan_in
and test_task_any (python-api.md §3.1).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ..harness import H, Scenario

START = datetime(2024, 1, 1, tzinfo=timezone.utc)  # HistoryBuilder's first timestamp
RETRY_DELAY = timedelta(seconds=1)  # RetryOptions(1000, ...)

REASON = "Activity function 'Hello' failed: Boom"
DETAILS = '{"Message": "Boom", "StackTrace": "at hello()"}'


# --- sequential chaining ---------------------------------------------------------------------------------------


def hello_cities(context: Any) -> Any:
    outputs = []
    for city in ("Tokyo", "Seattle", "London"):
        outputs.append((yield context.call_activity("Hello", city)))
    return outputs


def sequence(done: int, instance_id: str = "hello-1", name: str = "hello_cities") -> H:
    """The history of Hello(Tokyo, Seattle, London) in turn after ``done`` results; the last episode is new."""
    history = H(instance_id)
    if done == 0:
        return history.new().started(name)
    history.started(name)
    for id_, city in enumerate(("Tokyo", "Seattle", "London")[:done]):
        history.scheduled("Hello", city)
        if id_ == done - 1:
            history.wake()
        else:
            history.episode()
        history.completed(id_, f"Hello {city}!")
    return history


def catch_failure(context: Any) -> Any:
    try:
        yield context.call_activity("Hello", "Tokyo")
    except Exception as error:
        return f"caught: {error}"
    return "no failure"


def raise_after_first(context: Any) -> Any:
    yield context.call_activity("Hello", "Tokyo")
    raise ValueError("Oops!")


def raise_empty(context: Any) -> Any:
    yield context.call_activity("Hello", "Tokyo")
    raise Exception()  # an empty message, as in DF's own test


def not_yielded(context: Any) -> Any:
    context.call_activity("Never", "scheduled")  # created, never yielded: no action, no sequence number
    result = yield context.call_activity("Hello", "Tokyo")
    return result


def yield_twice(context: Any) -> Any:
    task = context.call_activity("Hello", "Tokyo")
    first = yield task
    second = yield task  # already complete: no new action
    last = yield context.call_activity("Hello", "Seattle")
    return [first, second, last]


def plain_function(context: Any) -> Any:
    return f"plain {context.get_input()}"


def one_tokyo() -> H:
    return H("one-1").started("o").scheduled("Hello", "Tokyo").wake()


SEQUENTIAL = [
    Scenario("sequence: first episode schedules Tokyo", hello_cities, sequence(0)),
    Scenario("sequence: Tokyo done schedules Seattle", hello_cities, sequence(1)),
    Scenario("sequence: Seattle done schedules London", hello_cities, sequence(2)),
    Scenario("sequence: all done returns the list", hello_cities, sequence(3)),
    Scenario("failure: unhandled activity failure fails", hello_cities, one_tokyo().failed(0, REASON, DETAILS)),
    Scenario(
        "failure: caught, the message joins reason and details", catch_failure, one_tokyo().failed(0, REASON, DETAILS)
    ),
    Scenario("failure: caught, details None", catch_failure, one_tokyo().failed(0, REASON)),
    Scenario("exception: orchestrator raises after an activity", raise_after_first, one_tokyo().completed(0, "hi")),
    Scenario("exception: empty message", raise_empty, one_tokyo().completed(0, "hi")),
    Scenario("not yielded: a created task schedules nothing", not_yielded, one_tokyo().completed(0, "Hello Tokyo!")),
    Scenario(
        "yield twice: a completed task yielded again",
        yield_twice,
        one_tokyo().completed(0, "Hello Tokyo!"),
    ),
    Scenario("plain function: its return value is the output", plain_function, H("p-1").new().started("p", "x")),
    Scenario(
        "duplicate completion: a late second TaskCompleted is ignored",
        yield_twice,
        H("dup-1")
        .started("o")
        .scheduled("Hello", "Tokyo")
        .episode()
        .completed(0, "Hello Tokyo!")
        .scheduled("Hello", "Seattle")
        .wake()
        .completed(0, "Hello again!")
        .completed(1, "Hello Seattle!"),
    ),
]


# --- retries ---------------------------------------------------------------------------------------------------


def retry_hello(context: Any, api: Any) -> Any:
    result = yield context.call_activity_with_retry("Hello", api.RetryOptions(1000, 2), "Tokyo")
    return result


def retry_caught(context: Any, api: Any) -> Any:
    try:
        yield context.call_activity_with_retry("Hello", api.RetryOptions(1000, 2), "Tokyo")
    except Exception as error:
        return f"gave up: {error}"
    return "succeeded"


def retry_all(context: Any, api: Any) -> Any:
    options = api.RetryOptions(1000, 2)
    tasks = [context.call_activity_with_retry("Hello", options, city) for city in ("Tokyo", "Seattle")]
    results = yield context.task_all(tasks)
    return results


def retry_any(context: Any, api: Any) -> Any:
    options = api.RetryOptions(1000, 2)
    tokyo = context.call_activity_with_retry("Hello", options, "Tokyo")
    seattle = context.call_activity_with_retry("Hello", options, "Seattle")
    winner = yield context.task_any([tokyo, seattle])
    return ["seattle" if winner is seattle else "tokyo", winner.result]


def retried(stage: str) -> H:
    """retry_hello's history (attempt 0, retry timer 1, attempt 2, extra timer 3) up to ``stage``, which is new."""
    history = H("retry-1").started("retry_hello").scheduled("Hello", "Tokyo")
    if stage == "failed once":
        return history.wake().failed(0, REASON, DETAILS)
    history.episode().failed(0, REASON, DETAILS).timer_created(history.now + RETRY_DELAY)
    if stage == "timer fired":
        return history.wake().timer_fired(1)
    history.episode().timer_fired(1).scheduled("Hello", "Tokyo")
    if stage == "second attempt succeeded":
        return history.wake().completed(2, "Hello Tokyo!")
    if stage == "second attempt failed":
        return history.wake().failed(2, REASON, DETAILS)
    history.episode().failed(2, REASON, DETAILS).timer_created(history.now + RETRY_DELAY)
    return history.wake().timer_fired(3)  # "gave up"


def retried_pair(winner_first: bool) -> H:
    """Two concurrent retryable calls (ids 0, 1): Tokyo fails, Seattle succeeds."""
    history = H("retry-2").started("o").scheduled("Hello", "Tokyo").scheduled("Hello", "Seattle").wake()
    if winner_first:
        return history.completed(1, "Hello Seattle!").failed(0, REASON, DETAILS)
    return history.failed(0, REASON, DETAILS).completed(1, "Hello Seattle!")


RETRIES = [
    Scenario("retry: first failure creates the retry timer", retry_hello, retried("failed once")),
    Scenario("retry: timer fired reschedules the activity", retry_hello, retried("timer fired")),
    Scenario("retry: second attempt succeeds", retry_hello, retried("second attempt succeeded")),
    Scenario("retry: last failure creates the extra timer", retry_hello, retried("second attempt failed")),
    Scenario("retry: max attempts reached fails the orchestration", retry_hello, retried("gave up")),
    Scenario("retry: max attempts reached, caught", retry_caught, retried("gave up")),
    Scenario("retry: task_all, failure then success", retry_all, retried_pair(winner_first=False)),
    Scenario("retry: task_all, success then failure", retry_all, retried_pair(winner_first=True)),
    Scenario(
        "retry: task_all, the retried attempt completes",
        retry_all,
        H("retry-2")
        .started("o")
        .scheduled("Hello", "Tokyo")
        .scheduled("Hello", "Seattle")
        .episode()
        .failed(0, REASON, DETAILS)
        .completed(1, "Hello Seattle!")
        .timer_created(START + timedelta(seconds=10))
        .episode()
        .timer_fired(2)
        .scheduled("Hello", "Tokyo")
        .wake()
        .completed(3, "Hello Tokyo!"),
    ),
    Scenario("retry: task_any, a failed attempt is no winner", retry_any, retried_pair(winner_first=False)),
    Scenario("retry: task_any, the winner completes first", retry_any, retried_pair(winner_first=True)),
]


# --- fan-out / fan-in and task_any -----------------------------------------------------------------------------


def fan_out(context: Any) -> Any:
    count = yield context.call_activity("GetActivityCount", None)
    tasks = [context.call_activity("ParrotValue", i) for i in range(count)]
    values = yield context.task_all(tasks)
    total = yield context.call_activity("ShowMeTheSum", values)
    return total


def fanned(*outcomes: tuple[int, Any]) -> H:
    """fan_out's history with three parrots scheduled; ``outcomes`` (id, value or Exception) are new."""
    history = H("fan-1").started("fan_out").scheduled("GetActivityCount").episode().completed(0, 3)
    for i in range(3):
        history.scheduled("ParrotValue", i)
    history.wake()
    for id_, value in outcomes:
        if isinstance(value, Exception):
            history.failed(id_, f"Activity function 'ParrotValue' failed: {value}", DETAILS)
        else:
            history.completed(id_, value)
    return history


def task_all_empty(context: Any) -> Any:
    result = yield context.task_all([])
    return ["empty", result]


def any_of_two(context: Any) -> Any:
    tokyo = context.call_activity("Hello", "Tokyo")
    seattle = context.call_activity("Hello", "Seattle")
    winner = yield context.task_any([tokyo, seattle])
    value = yield winner  # a failed winner raises here
    return ["tokyo" if winner is tokyo else "seattle", value]


def any_of_none(context: Any) -> Any:
    winner = yield context.task_any([])
    return ["none", winner]


def two_hellos() -> H:
    return H("any-1").started("any_of_two").scheduled("Hello", "Tokyo").scheduled("Hello", "Seattle").wake()


FAN_OUT = [
    Scenario("fan-out: first episode asks for the count", fan_out, H("fan-1").new().started("fan_out")),
    Scenario(
        "fan-out: count known schedules every parrot",
        fan_out,
        H("fan-1").started("fan_out").scheduled("GetActivityCount").wake().completed(0, 3),
    ),
    Scenario("fan-out: some parrots done waits", fan_out, fanned((1, 0), (3, 2))),
    Scenario("fan-out: all done schedules the sum", fan_out, fanned((3, 2), (1, 0), (2, 1))),
    Scenario("fan-out: one failure fails the task_all", fan_out, fanned((1, 0), (2, ValueError("no parrot")))),
    Scenario("task_all: empty list gives None", task_all_empty, H("all-0").new().started("o")),
    Scenario("task_any: empty list completes at once", any_of_none, H("any-0").new().started("o")),
    Scenario("task_any: nothing done yet", any_of_two, H("any-1").new().started("any_of_two")),
    Scenario("task_any: success wins", any_of_two, two_hellos().completed(1, "Hello Seattle!")),
    Scenario("task_any: a failure wins and raises when yielded", any_of_two, two_hellos().failed(0, REASON, DETAILS)),
    Scenario(
        "task_any: later completions change nothing",
        any_of_two,
        two_hellos().completed(0, "Hello Tokyo!").failed(1, REASON, DETAILS),
    ),
]

SCENARIOS = [*SEQUENTIAL, *RETRIES, *FAN_OUT]
