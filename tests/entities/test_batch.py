"""Running a batch of operations on a function entity and on a class-based entity (entities/_batch.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_storage import DurableEntity, DurableEntityContext
from durable_storage.entities import Batch, EntitySend, SchedulerState, run_batch
from durable_storage.models import EntityId
from tests.entities.support import CALLER, op

COUNTER = EntityId("Counter", "k1")


def response(batch: Batch, request_id: str) -> dict[str, Any]:
    [send] = [s for s in batch.sends if s.name == request_id]
    decoded: dict[str, Any] = json.loads(send.input)
    return decoded


def result(batch: Batch, request_id: str) -> Any:
    answer = response(batch, request_id)
    assert "exceptionType" not in answer, answer
    return json.loads(answer["result"])


def state_of(batch: Batch) -> Any:
    return None if batch.state.state is None else json.loads(batch.state.state)


def existing(state: Any) -> SchedulerState:
    return SchedulerState(exists=True, state=json.dumps(state))


# --- a function entity --------------------------------------------------------------------------------------------


def counter(context: DurableEntityContext) -> None:
    operation = context.operation_name
    if operation == "add":
        context.set_state(context.get_state(lambda: 0) + context.get_input())
    elif operation == "get":
        context.set_result(context.get_state(lambda: 0))
    elif operation == "add_then_fail":
        context.set_state(context.get_state(lambda: 0) + context.get_input())
        raise ValueError("too big")
    elif operation == "delete":
        context.destruct_on_exit()
    elif operation == "delete_then_fail":
        context.destruct_on_exit()
        raise RuntimeError("changed my mind")
    elif operation == "put":
        context.set_state(context.get_input())
    elif operation == "mutate_then_fail":
        state = context.get_state(dict)
        state["x"] = "changed"
        state.setdefault("list", []).append(1)
        raise RuntimeError("mutated, then failed")
    elif operation == "mutate":
        context.get_state(dict)["x"] = "changed in place"
    elif operation == "unencodable_state":
        context.set_state({1, 2})
    elif operation == "unencodable_result":
        context.set_state(99)
        context.set_result(object())
    elif operation == "fail_without_message":
        raise KeyError
    else:
        raise NotImplementedError(operation)


def test_operations_run_in_delivery_order_and_each_call_gets_its_result() -> None:
    batch = run_batch(
        counter, COUNTER, SchedulerState(), [op("add", "r1", 5), op("get", "r2"), op("add", "r3", 3), op("get", "r4")]
    )

    assert [s.name for s in batch.sends] == ["r1", "r2", "r3", "r4"]
    assert [result(batch, r) for r in ("r1", "r2", "r3", "r4")] == [None, 5, None, 8]
    assert (batch.state.exists, batch.state.state) == (True, "8")
    assert (batch.operations, batch.failures) == (4, 0)


def test_a_response_goes_to_the_callers_instance_and_execution_named_after_the_request_id() -> None:
    batch = run_batch(counter, COUNTER, existing(41), [op("get", "0b6d2f0e-3c8e-4d43-9a0f-4f1d2b9c8a11")])

    assert batch.sends == [
        EntitySend(CALLER, f"{CALLER}-exec", "0b6d2f0e-3c8e-4d43-9a0f-4f1d2b9c8a11", '{"result":"41"}')
    ]


def test_a_result_is_json_text_inside_the_response() -> None:
    batch = run_batch(counter, COUNTER, SchedulerState(), [op("put", "r1", {"a": [1, "b"]}), op("get", "r2")])

    assert isinstance(response(batch, "r2")["result"], str)
    assert result(batch, "r2") == {"a": [1, "b"]}


def test_signals_get_no_response_but_still_run() -> None:
    events = [op("add", "s1", 2, signal=True), op("add", "s2", 3, parent=None, signal=True), op("get", "r3")]

    batch = run_batch(counter, COUNTER, SchedulerState(), events)

    assert [s.name for s in batch.sends] == ["r3"]
    assert result(batch, "r3") == 5
    assert batch.operations == 3


def test_a_failing_operation_answers_with_the_error_and_rolls_its_change_back() -> None:
    batch = run_batch(counter, COUNTER, existing(10), [op("add_then_fail", "r1", 100), op("get", "r2")])

    failure = response(batch, "r1")
    assert failure["exceptionType"] == "ValueError"
    assert json.loads(failure["result"]) == "too big"
    assert failure["failureDetails"]["ErrorType"] == "ValueError"
    assert failure["failureDetails"]["ErrorMessage"] == "too big"
    assert result(batch, "r2") == 10
    assert batch.state.state == "10"
    assert (batch.operations, batch.failures) == (2, 1)


def test_operations_after_a_failure_run_and_see_the_state_before_it() -> None:
    events = [op("add", "r1", 1), op("add_then_fail", "r2", 50), op("add", "r3", 2), op("get", "r4")]

    batch = run_batch(counter, COUNTER, SchedulerState(), events)

    assert result(batch, "r4") == 3
    assert state_of(batch) == 3


def test_a_failure_rolls_back_an_in_place_mutation_of_a_dict_state() -> None:
    events = [op("put", "r1", {"x": "original"}), op("mutate_then_fail", "r2"), op("get", "r3")]

    batch = run_batch(counter, COUNTER, SchedulerState(), events)

    assert response(batch, "r2")["exceptionType"] == "RuntimeError"
    assert result(batch, "r3") == {"x": "original"}
    assert state_of(batch) == {"x": "original"}


def test_a_failure_rolls_back_an_in_place_mutation_of_a_state_read_by_an_earlier_operation() -> None:
    events = [op("get", "r1"), op("mutate_then_fail", "r2"), op("get", "r3")]

    batch = run_batch(counter, COUNTER, existing({"x": "original"}), events)

    assert result(batch, "r1") == {"x": "original"}
    assert result(batch, "r3") == {"x": "original"}
    assert state_of(batch) == {"x": "original"}


def test_an_in_place_mutation_of_a_successful_operation_is_kept() -> None:
    batch = run_batch(counter, COUNTER, existing({"x": "original"}), [op("mutate", "r1"), op("get", "r2")])

    assert result(batch, "r2") == {"x": "changed in place"}
    assert state_of(batch) == {"x": "changed in place"}


def test_a_failure_of_the_first_operation_on_a_new_entity_leaves_it_nonexistent() -> None:
    batch = run_batch(counter, COUNTER, SchedulerState(), [op("add_then_fail", "r1", 1)])

    assert (batch.state.exists, batch.state.state) == (False, None)


@pytest.mark.parametrize("operation", ["unencodable_state", "unencodable_result"])
def test_an_operation_whose_state_or_result_is_not_json_fails_and_changes_nothing(operation: str) -> None:
    batch = run_batch(counter, COUNTER, existing(1), [op(operation, "r1"), op("get", "r2")])

    assert response(batch, "r1")["exceptionType"] == "TypeError"
    assert result(batch, "r2") == 1
    assert batch.state.state == "1"


def test_an_exception_without_a_message_is_reported_by_its_type_name() -> None:
    batch = run_batch(counter, COUNTER, SchedulerState(), [op("fail_without_message", "r1")])

    failure = response(batch, "r1")
    assert failure["exceptionType"] == "KeyError"
    assert json.loads(failure["result"]) == "KeyError"
    assert failure["failureDetails"]["ErrorMessage"] == "KeyError"


def test_destruct_on_exit_deletes_the_state() -> None:
    batch = run_batch(counter, COUNTER, existing(5), [op("delete", "r1"), op("get", "r2")])

    assert result(batch, "r2") == 0  # the initializer: there is no state any more
    assert (batch.state.exists, batch.state.state) == (False, None)
    assert batch.state.is_empty


def test_an_entity_deleted_then_written_in_one_batch_exists_with_the_new_state() -> None:
    batch = run_batch(counter, COUNTER, existing(5), [op("delete", "r1"), op("add", "r2", 1)])

    assert (batch.state.exists, batch.state.state) == (True, "1")


def test_a_failing_delete_keeps_the_entity() -> None:
    batch = run_batch(counter, COUNTER, existing(5), [op("delete_then_fail", "r1"), op("get", "r2")])

    assert result(batch, "r2") == 5
    assert (batch.state.exists, batch.state.state) == (True, "5")


def test_a_batch_leaves_the_state_it_was_given_unchanged() -> None:
    given = SchedulerState(exists=True, state="5", unconfirmed=["op:old"])

    run_batch(counter, COUNTER, given, [op("add", "r1", 1), op("delete", "r2")])

    assert given == SchedulerState(exists=True, state="5", unconfirmed=["op:old"])


def test_the_context_describes_the_entity_and_the_operation() -> None:
    seen: list[Any] = []

    def probe(context: DurableEntityContext) -> None:
        seen.append(
            (
                context.entity_name,
                context.entity_key,
                context.entity_id,
                context.operation_name,
                context.is_newly_constructed,
                context.get_input(),
            )
        )

    run_batch(probe, COUNTER, SchedulerState(), [op("first", "r1", {"n": 1}), op("second", "r2")])

    assert seen == [
        ("counter", "k1", COUNTER, "first", False, {"n": 1}),
        ("counter", "k1", COUNTER, "second", False, None),
    ]


def test_operation_name_outside_an_operation_raises() -> None:
    context = DurableEntityContext(COUNTER, None, exists=False)

    with pytest.raises(RuntimeError, match="operation_name"):
        _ = context.operation_name


def test_get_state_without_an_initializer_is_none_for_a_new_entity() -> None:
    seen: list[Any] = []

    def probe(context: DurableEntityContext) -> None:
        seen.append(context.get_state())

    batch = run_batch(probe, COUNTER, SchedulerState(), [op("look", "r1")])

    assert seen == [None]
    assert not batch.state.exists


# --- a class-based entity -----------------------------------------------------------------------------------------


class Account(DurableEntity):
    def deposit(self, amount: int) -> int:
        balance: int = self.get_state(lambda: 0) + amount
        self.set_state(balance)
        return balance

    def withdraw(self, amount: int) -> int:
        balance: int = self.get_state(lambda: 0) - amount
        self.set_state(balance)
        if balance < 0:
            raise ValueError(f"insufficient funds: {balance}")
        return balance

    def balance(self) -> int:
        value: int = self.get_state(lambda: 0)
        return value

    def close(self) -> None:
        self.context.destruct_on_exit()

    def remember(self) -> None:
        self.note = "set on an earlier instance"

    def recall(self) -> Any:
        return getattr(self, "note", None)

    def _audit(self) -> str:
        return "private"


class Ledger(DurableEntity):
    def add(self, entry: str) -> None:
        self.set_state([*self.get_state(list), entry])

    def delete(self) -> str:
        self.set_state(["deleted by the class"])
        return "own delete"


def test_a_class_entity_runs_methods_in_order_with_the_decoded_input_and_returns_their_results() -> None:
    events = [op("deposit", "r1", 10), op("withdraw", "r2", 3), op("balance", "r3")]

    batch = run_batch(Account, COUNTER, SchedulerState(), events)

    assert [s.name for s in batch.sends] == ["r1", "r2", "r3"]
    assert [result(batch, r) for r in ("r1", "r2", "r3")] == [10, 7, 7]
    assert (batch.state.exists, batch.state.state) == (True, "7")


def test_a_failing_method_is_rolled_back_and_later_operations_see_the_state_before_it() -> None:
    events = [op("withdraw", "r1", 50), op("deposit", "r2", 1), op("balance", "r3")]

    batch = run_batch(Account, COUNTER, existing(20), events)

    failure = response(batch, "r1")
    assert failure["exceptionType"] == "ValueError"
    assert "insufficient funds: -30" in json.loads(failure["result"])
    assert [result(batch, "r2"), result(batch, "r3")] == [21, 21]
    assert batch.state.state == "21"


def test_each_operation_gets_a_fresh_instance() -> None:
    batch = run_batch(Account, COUNTER, SchedulerState(), [op("remember", "r1"), op("recall", "r2")])

    assert result(batch, "r2") is None


@pytest.mark.parametrize("operation", ["transfer", "_audit", "get_state", "set_state", "__init__"])
def test_an_unknown_operation_fails_listing_the_available_operations(operation: str) -> None:
    batch = run_batch(Account, COUNTER, existing(5), [op(operation, "r1"), op("balance", "r2")])

    failure = response(batch, "r1")
    message = json.loads(failure["result"])
    assert failure["exceptionType"] == "AttributeError"
    assert repr(operation) in message
    assert "['balance', 'close', 'deposit', 'recall', 'remember', 'withdraw']" in message
    assert result(batch, "r2") == 5


def test_the_built_in_delete_of_a_class_entity_that_does_not_define_it_deletes_the_state() -> None:
    batch = run_batch(Account, COUNTER, existing(5), [op("delete", "r1"), op("balance", "r2")])

    assert result(batch, "r1") is None
    assert result(batch, "r2") == 0
    assert (batch.state.exists, batch.state.state) == (False, None)


def test_a_class_that_defines_delete_runs_its_own() -> None:
    batch = run_batch(Ledger, COUNTER, existing(["a"]), [op("delete", "r1")])

    assert result(batch, "r1") == "own delete"
    assert batch.state.exists
    assert state_of(batch) == ["deleted by the class"]


def test_a_class_entity_can_destruct_itself() -> None:
    batch = run_batch(Account, COUNTER, existing(5), [op("close", "r1")])

    assert (batch.state.exists, batch.state.state) == (False, None)


def test_a_signal_to_a_class_entity_gets_no_response() -> None:
    batch = run_batch(Ledger, COUNTER, SchedulerState(), [op("add", "s1", "x", signal=True)])

    assert batch.sends == []
    assert state_of(batch) == ["x"]


def test_a_state_marked_as_not_existing_is_dropped_so_no_reader_can_take_it_for_an_existing_entity() -> None:
    given = SchedulerState.from_json('{"exists":false,"state":"5","sorter":{}}')

    idle = run_batch(counter, COUNTER, given, [])
    busy = run_batch(counter, COUNTER, given, [op("get", "r1")])

    assert result(busy, "r1") == 0
    for batch in (idle, busy):
        assert (batch.state.exists, batch.state.state) == (False, None)
        assert not SchedulerState.from_json(batch.state.to_json()).exists
