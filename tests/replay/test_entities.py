"""Entity calls and signals from an orchestration: the messages sent and how responses are matched.

``call_entity`` sends an ``op`` event (a RequestMessage, entity-messages.md §2) to ``@{name lower-cased}@{key}``
and waits for the response event named after the request id (entity-messages.md §3). History written by Durable
Functions' host records the EventSent with the host's own request id; the wait follows that id (python-api.md §2.3).
``signal_entity`` is recorded at once, takes one sequence id and is never yielded.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from durable_storage.errors import TaskFailedError
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.replay import ScheduleTaskAction, SendEventAction

from .support import H, failure_of, output_of, run

COUNTER = EntityId("Counter", "k1")
TARGET = "@counter@k1"
HOST_REQUEST_ID = "0b6d2f0e-3c8e-4d43-9a0f-4f1d2b9c8a11"


def add_one(context: Any) -> Any:
    value = yield context.call_entity(COUNTER, "add", 1)
    return value


def catch_entity_error(context: Any) -> Any:
    try:
        yield context.call_entity(COUNTER, "add", 1)
    except TaskFailedError as error:
        return {"str": str(error), "error_type": error.error_type}
    return "no failure"


def sent_call(orchestrator: Any = add_one) -> tuple[H, SendEventAction]:
    """A history in which the first episode sent the entity call, and that call's action."""
    (action,) = run(orchestrator, H("orch-1").new().started("o")).actions
    assert isinstance(action, SendEventAction)
    h = H("orch-1").started("o").event_sent(action.instance_id, action.name, action.input).episode().new()
    return h, action


def request_of(action: Any) -> dict[str, Any]:
    return json.loads(action.input)


def response(result: Any = None, **fields: Any) -> str:
    return json.dumps({"result": json.dumps(result), **fields})


# --- the request ------------------------------------------------------------------------------------------------


def test_call_entity_sends_an_op_event_to_the_lower_cased_entity_instance() -> None:
    (action,) = run(add_one, H("orch-1").new().started("o")).actions

    assert isinstance(action, SendEventAction)
    assert (action.id, action.instance_id, action.name) == (0, TARGET, "op")


def test_the_request_names_the_operation_its_json_input_the_caller_and_a_request_id() -> None:
    (action,) = run(add_one, H("orch-1").new().started("o")).actions
    request = request_of(action)

    assert (request["op"], request["input"], request["parent"]) == ("add", "1", "orch-1")
    assert str(uuid.UUID(request["id"])) == request["id"]
    assert "signal" not in request


def test_the_request_id_is_the_same_on_every_replay() -> None:
    h, action = sent_call()

    (replayed,) = run(add_one, h.event_raised("unrelated")).all_actions

    assert replayed == action


def test_two_calls_get_different_request_ids() -> None:
    def two(context: Any) -> Any:
        yield context.task_all([context.call_entity(COUNTER, "add", 1), context.call_entity(COUNTER, "add", 2)])

    first, second = run(two, H().new().started("o")).actions

    assert request_of(first)["id"] != request_of(second)["id"]


# --- the response -----------------------------------------------------------------------------------------------


def test_the_response_named_by_the_request_id_completes_the_call_with_the_decoded_result() -> None:
    h, action = sent_call()

    result = run(add_one, h.event_raised(request_of(action)["id"], raw=response({"value": 42})))

    assert output_of(result) == {"value": 42}
    assert result.completion is not None and result.completion.id == 1


def test_a_response_with_another_id_does_not_complete_the_call() -> None:
    h, _ = sent_call()

    result = run(add_one, h.event_raised(str(uuid.uuid4()), raw=response(1)))

    assert result.completion is None


def test_an_error_response_raises_task_failed_error_naming_the_entity_and_operation() -> None:
    h, action = sent_call(catch_entity_error)
    error_type = "System.InvalidOperationException, System.Private.CoreLib"

    h.event_raised(request_of(action)["id"], raw=response("boom", exceptionType=error_type))

    seen = output_of(run(catch_entity_error, h))

    assert "'add'" in seen["str"] and TARGET in seen["str"] and "boom" in seen["str"]
    assert seen["error_type"] == error_type


def test_an_unhandled_entity_error_fails_the_orchestration() -> None:
    h, action = sent_call()

    result = run(add_one, h.event_raised(request_of(action)["id"], raw=response("boom", exceptionType="Error")))

    assert failure_of(result).error_type == "TaskFailedError"


def test_an_event_sent_recorded_with_the_hosts_request_id_rekeys_the_wait() -> None:
    (action,) = run(add_one, H("orch-1").new().started("o")).actions
    host_request = {**request_of(action), "id": HOST_REQUEST_ID}
    h = H("orch-1").started("o").event_sent(TARGET, "op", json.dumps(host_request)).episode().new()

    result = run(add_one, h.event_raised(HOST_REQUEST_ID, raw=response(7)))

    assert output_of(result) == 7


def test_after_rekeying_a_response_under_our_own_id_is_not_the_answer() -> None:
    (action,) = run(add_one, H("orch-1").new().started("o")).actions
    host_request = {**request_of(action), "id": HOST_REQUEST_ID}
    h = H("orch-1").started("o").event_sent(TARGET, "op", json.dumps(host_request)).episode().new()

    result = run(add_one, h.event_raised(request_of(action)["id"], raw=response(7)))

    assert result.completion is None


def test_responses_to_parallel_calls_are_matched_by_request_id_whatever_their_order() -> None:
    def two(context: Any) -> Any:
        results = yield context.task_all(
            [context.call_entity(COUNTER, "get"), context.call_entity(EntityId("Counter", "k2"), "get")]
        )
        return results

    first, second = run(two, H().new().started("o")).actions
    h = H().started("o").event_sent(TARGET, "op", first.input).event_sent("@counter@k2", "op", second.input)  # type: ignore[union-attr]
    h.episode().new().event_raised(request_of(second)["id"], raw=response("k2"))
    h.event_raised(request_of(first)["id"], raw=response("k1"))

    assert output_of(run(two, h)) == ["k1", "k2"]


def test_call_entity_with_something_other_than_an_entity_id_fails_with_value_error() -> None:
    def wrong(context: Any) -> Any:
        yield context.call_entity("@counter@k1", "add")

    assert failure_of(run(wrong, H().new().started("o"))).error_type == "ValueError"


# --- signals ----------------------------------------------------------------------------------------------------


def signal_then_work(context: Any) -> Any:
    context.signal_entity(COUNTER, "reset")
    done = yield context.call_activity("work")
    return done


def test_signal_entity_is_recorded_at_once_and_takes_one_sequence_id() -> None:
    signal, work = run(signal_then_work, H("orch-1").new().started("o")).actions

    assert isinstance(signal, SendEventAction)
    assert (signal.id, signal.instance_id, signal.name) == (0, TARGET, "op")
    assert work == ScheduleTaskAction(id=1, name="work", input="null")


def test_a_signal_request_is_marked_as_a_signal() -> None:
    signal, _ = run(signal_then_work, H("orch-1").new().started("o")).actions
    request = request_of(signal)

    assert (request["op"], request["signal"], request["parent"]) == ("reset", True, "orch-1")
    assert "input" in request


def test_a_signal_needs_no_yield_and_no_response_to_complete() -> None:
    def fire_and_forget(context: Any) -> str:
        context.signal_entity(COUNTER, "add", 5)
        return "sent"

    result = run(fire_and_forget, H().new().started("o"))

    assert [a.id for a in result.actions] == [0]
    assert result.completion is not None
    assert (result.completion.status, result.completion.id) == (OrchestrationRuntimeStatus.Completed, 1)


def test_a_replayed_signal_is_not_sent_again() -> None:
    (signal, _) = run(signal_then_work, H("orch-1").new().started("o")).actions
    h = H("orch-1").started("o").event_sent(TARGET, "op", signal.input).scheduled("work")  # type: ignore[union-attr]

    result = run(signal_then_work, h.episode().new().completed(1, "ok"))

    assert result.actions == []
    assert output_of(result) == "ok"
