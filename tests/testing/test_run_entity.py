"""``run_entity``: an entity unit test without storage, for function and class-based entities alike."""

from __future__ import annotations

from typing import Any

import pytest

from durable_storage import DurableEntity, Entity
from durable_storage.testing import Operation, OperationResult, run_entity


def counter(context: Any) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    elif context.operation_name == "fail":
        context.set_state(-1000)  # rolled back: the operation raises
        raise ValueError(f"cannot {context.get_input()}")
    elif context.operation_name == "reset":
        context.destruct_on_exit()
        return
    context.set_state(value)
    context.set_result(value)


class Account(DurableEntity):
    def deposit(self, amount: int) -> int:
        balance = int(self.get_state(lambda: 0)) + amount
        self.set_state(balance)
        return balance

    def balance(self) -> int:
        return int(self.get_state(lambda: 0))


def test_operations_run_in_order_from_a_starting_state() -> None:
    result = run_entity(counter, [("add", 5), Operation("add", 2), "get"], state=10)

    assert (result.state, result.exists) == (17, True)
    assert [r.result for r in result.results] == [15, 17, 17]


def test_a_failing_operation_keeps_the_state_and_the_next_ones_still_run() -> None:
    result = run_entity(counter, [("add", 1), ("fail", "divide"), ("add", 1)])

    assert result.state == 2
    assert result.results[1] == OperationResult("fail", error="cannot divide", error_type="ValueError")
    assert result.results[1].failed and not result.results[2].failed


def test_destruct_on_exit_deletes_the_state() -> None:
    result = run_entity(counter, ["reset"], state=3)

    assert (result.state, result.exists) == (None, False)


def test_class_based_entities_and_legacy_handles_with_their_own_key() -> None:
    def who(context: Any) -> None:
        context.set_result(f"{context.entity_name}@{context.entity_key}")

    account = run_entity(Account, [("deposit", 30), "balance", "delete"], state=12)
    named = run_entity(Entity.create(who), ["whoami"], key="k1", name="Badge")

    assert [r.result for r in account.results] == [42, 42, None] and not account.exists
    assert named.results[0].result == "badge@k1"


def test_unknown_operations_of_a_class_fail_and_bad_arguments_say_why() -> None:
    result = run_entity(Account, ["withdraw"])

    assert result.results[0].error_type == "AttributeError"
    assert "has no operation 'withdraw'" in (result.results[0].error or "")
    with pytest.raises(TypeError, match="operation 3 is invalid: must be an Operation, a \\(name, input\\) pair"):
        run_entity(counter, [3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="entity 'x' is invalid"):
        run_entity("x", ["get"])
