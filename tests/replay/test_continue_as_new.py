"""Continue-as-new: the execution ends and the next starts with a new input (python-api.md §1.2).

``continue_as_new`` takes the next sequence id (the EventId of the ContinueAsNew event, storage-layout.md §4) and
ends the execution when the code next yields or returns; nothing the code does afterwards is recorded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.replay import Completion, CreateTimerAction

from .support import T0, H, run


def counter_loop(context: Any) -> Any:
    count = context.get_input()
    yield context.call_activity("tick", count)
    context.continue_as_new({"count": count + 1})


def test_continue_as_new_completes_the_execution_with_the_new_input_and_the_next_sequence_id() -> None:
    h = H().started("counter_loop", input=1).scheduled("tick", 1).episode().new().completed(0)

    result = run(counter_loop, h)

    assert result.actions == []
    assert result.completion == Completion(
        id=1, status=OrchestrationRuntimeStatus.ContinuedAsNew, output='{"count": 2}'
    )


def test_continue_as_new_in_a_plain_function_takes_sequence_id_0() -> None:
    def restart(context: Any) -> None:
        context.continue_as_new("again")

    result = run(restart, H().new().started("restart"))

    assert result.completion == Completion(id=0, status=OrchestrationRuntimeStatus.ContinuedAsNew, output='"again"')


def test_the_return_value_after_continue_as_new_is_ignored() -> None:
    def restart(context: Any) -> Any:
        yield context.call_activity("tick")
        context.continue_as_new(5)
        return "ignored"

    result = run(restart, H().started("restart").scheduled("tick").episode().new().completed(0))

    assert result.completion is not None
    assert (result.completion.status, result.completion.output) == (OrchestrationRuntimeStatus.ContinuedAsNew, "5")


def test_actions_after_continue_as_new_are_not_recorded() -> None:
    def keeps_going(context: Any) -> Any:
        yield context.call_activity("tick")
        context.continue_as_new(2)
        context.signal_entity(EntityId("counter", "k"), "add", 1)
        yield context.call_activity("never_scheduled")

    result = run(keeps_going, H().started("keeps_going").scheduled("tick").episode().new().completed(0))

    assert result.actions == []
    assert [a.id for a in result.all_actions] == [0]
    assert result.completion is not None and result.completion.id == 1


def test_will_continue_as_new_is_set_by_the_call() -> None:
    seen = []

    def record(context: Any) -> None:
        seen.append(context.will_continue_as_new)
        context.continue_as_new(None)
        seen.append(context.will_continue_as_new)

    run(record, H().new().started("record"))

    assert seen == [False, True]


def test_an_eternal_orchestration_waits_on_a_timer_then_continues_as_new() -> None:
    def eternal(context: Any) -> Any:
        yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
        context.continue_as_new(context.get_input() + 1)

    h = H().new().started("eternal", input=41)
    first = run(eternal, h)
    h.timer_created(T0 + timedelta(hours=1)).episode(T0 + timedelta(hours=1)).new().timer_fired(0)

    assert first.actions == [CreateTimerAction(id=0, fire_at=T0 + timedelta(hours=1))]
    assert run(eternal, h).completion == Completion(id=1, status=OrchestrationRuntimeStatus.ContinuedAsNew, output="42")
