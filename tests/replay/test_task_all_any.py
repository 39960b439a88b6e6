"""Fan-out/fan-in: ``task_all`` and ``task_any`` with azure-functions-durable 1.7 semantics (python-api.md §1.4).

Yielding a compound task schedules its children in list order, each taking the next sequence id. ``task_all``
gives the results in list order, fails fast with the first failure to arrive, and is ``None`` for an empty list.
``task_any`` gives the winning task object itself, even when that task failed; for an empty list it completes at
once.
"""

from __future__ import annotations

from typing import Any

from durable_storage.errors import TaskFailedError
from durable_storage.replay import ScheduleTaskAction

from .support import H, output_of, run


def fan_out(count: int) -> Any:
    def orchestrator(context: Any) -> Any:
        results = yield context.task_all([context.call_activity("square", n) for n in range(count)])
        return results

    return orchestrator


def fanned_out(count: int) -> H:
    h = H().started("fan_out")
    for n in range(count):
        h.scheduled("square", n)
    return h.episode().new()


# --- task_all ---------------------------------------------------------------------------------------------------


def test_task_all_schedules_every_child_in_one_episode_in_list_order() -> None:
    result = run(fan_out(3), H().new().started("fan_out"))

    assert result.actions == [ScheduleTaskAction(id=n, name="square", input=str(n)) for n in range(3)]


def test_task_all_waits_for_every_child() -> None:
    result = run(fan_out(3), fanned_out(3).completed(2, 4).completed(0, 0))

    assert (result.actions, result.completion) == ([], None)


def test_task_all_gives_the_results_in_list_order_whatever_order_they_arrived_in() -> None:
    h = fanned_out(3).completed(2, 4).completed(0, 0).completed(1, 1)

    assert output_of(run(fan_out(3), h)) == [0, 1, 4]


def test_task_all_fails_fast_with_the_first_failure_while_siblings_are_still_running() -> None:
    def catch(context: Any) -> Any:
        tasks = [context.call_activity("square", n) for n in range(3)]
        try:
            yield context.task_all(tasks)
        except TaskFailedError as error:
            return {"reason": error.reason, "still running": [not t.is_completed for t in tasks]}
        return "no failure"

    h = fanned_out(3).completed(0, 0).failed(2, "two failed").failed(1, "one failed")

    assert output_of(run(catch, h)) == {"reason": "two failed", "still running": [False, True, False]}


def test_task_all_of_an_empty_list_is_none() -> None:
    def empty(context: Any) -> Any:
        results = yield context.task_all([])
        return {"results": results}

    result = run(empty, H().new().started("empty"))

    assert output_of(result) == {"results": None}
    assert result.actions == []


def test_task_all_of_tasks_that_already_completed_resumes_at_once() -> None:
    def again(context: Any) -> Any:
        a, b = context.call_activity("a"), context.call_activity("b")
        yield a
        yield b
        both = yield context.task_all([a, b])
        return both

    h = H().started("again").scheduled("a").episode().completed(0, 1).scheduled("b").episode().new().completed(1, 2)

    assert output_of(run(again, h)) == [1, 2]


def test_the_next_action_after_a_fan_out_takes_the_id_after_the_last_child() -> None:
    def fan_then_sum(context: Any) -> Any:
        results = yield context.task_all([context.call_activity("square", n) for n in range(3)])
        yield context.call_activity("sum", results)

    h = fanned_out(3).completed(0, 0).completed(1, 1).completed(2, 4)

    assert run(fan_then_sum, h).actions == [ScheduleTaskAction(id=3, name="sum", input="[0, 1, 4]")]


# --- task_any ---------------------------------------------------------------------------------------------------


def first_of_three(context: Any) -> Any:
    tasks = [context.call_activity("mirror", n) for n in range(3)]
    winner = yield context.task_any(tasks)
    return {"index": tasks.index(winner), "is the task": winner in tasks, "result": winner.result}


def test_task_any_schedules_every_child_in_list_order() -> None:
    result = run(first_of_three, H().new().started("first"))

    assert [a.id for a in result.actions] == [0, 1, 2]


def test_task_any_returns_the_winning_task_object() -> None:
    h = H().started("first").scheduled("mirror", 0).scheduled("mirror", 1).scheduled("mirror", 2)
    h.episode().new().completed(1, "one").completed(0, "zero")

    assert output_of(run(first_of_three, h)) == {"index": 1, "is the task": True, "result": "one"}


def test_task_any_returns_the_winning_task_even_when_it_failed() -> None:
    def first_failure(context: Any) -> Any:
        tasks = [context.call_activity("mirror", n) for n in range(2)]
        winner = yield context.task_any(tasks)
        try:
            yield winner
        except TaskFailedError as error:
            return {"index": tasks.index(winner), "result is the error": winner.result is error}
        return "no failure"

    h = H().started("first").scheduled("mirror", 0).scheduled("mirror", 1).episode().new().failed(1, "boom")

    assert output_of(run(first_failure, h)) == {"index": 1, "result is the error": True}


def test_task_any_does_not_raise_when_the_winner_failed() -> None:
    def peek(context: Any) -> Any:
        winner = yield context.task_any([context.call_activity("mirror")])
        return type(winner.result).__name__

    h = H().started("peek").scheduled("mirror").episode().new().failed(0, "boom")

    assert output_of(run(peek, h)) == "TaskFailedError"


def test_task_any_of_an_empty_list_completes_at_once() -> None:
    def empty(context: Any) -> Any:
        winner = yield context.task_any([])
        return {"winner": winner}

    result = run(empty, H().new().started("empty"))

    assert output_of(result) == {"winner": None}


def test_losers_of_task_any_can_still_be_yielded_later() -> None:
    def then_the_rest(context: Any) -> Any:
        fast, slow = context.call_activity("fast"), context.call_activity("slow")
        yield context.task_any([fast, slow])
        rest = yield slow
        return [fast.result, rest]

    h = H().started("o").scheduled("fast").scheduled("slow").episode().completed(0, "f").episode().new()
    h.completed(1, "s")

    assert output_of(run(then_the_rest, h)) == ["f", "s"]


def test_task_all_and_task_any_nest() -> None:
    def nested(context: Any) -> Any:
        pair = context.task_all([context.call_activity("a"), context.call_activity("b")])
        winner = yield context.task_any([pair, context.wait_for_external_event("cancel")])
        return winner.result if winner is pair else "cancelled"

    h = H().started("nested").scheduled("a").scheduled("b").episode().new().completed(1, "B").completed(0, "A")

    assert output_of(run(nested, h)) == ["A", "B"]
