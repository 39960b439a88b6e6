"""Run a durable entity over a list of operations, without storage: the state after them and each result.

    def counter(context):
        value = context.get_state(lambda: 0)
        if context.operation_name == "add":
            value += context.get_input()
        context.set_state(value)
        context.set_result(value)

    result = run_entity(counter, [("add", 5), ("add", 2), "get"], state=10)
    assert result.state == 17 and [r.result for r in result.results] == [15, 17, 17]

Function entities (taking a ``DurableEntityContext``), ``DurableEntity`` classes and ``Entity.create(fn)`` handles
all work. The operations run as one batch of the worker's own entity runner (``durable_storage.entities``), so
a failing operation leaves the state as it was before it and the operations after it still run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from durable_storage import _json
from durable_storage.app import Entity
from durable_storage.entities import OPERATION, RequestMessage, SchedulerState, run_batch
from durable_storage.history import EventRaisedEvent
from durable_storage.models import EntityId

__all__ = ["EntityResult", "Operation", "OperationResult", "run_entity"]

_CALLER = "test-caller"  # the orchestration the operations appear to come from: each gets an answer
_CALLER_EXECUTION = "0" * 32
_NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)  # the batch's time: a fixed one, as in HistoryBuilder


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation to run: its name and its input (any JSON value, or an object with ``to_json``)."""

    name: str
    input: Any = None


@dataclass(frozen=True, slots=True)
class OperationResult:
    """How one operation ended.

    Attributes:
        operation: the operation's name.
        result: the value it set with ``set_result`` (or a class-based entity's return value); None on failure.
        error: the exception's message when it raised, else None.
        error_type: the exception's class name when it raised, else None.
    """

    operation: str
    result: Any = None
    error: str | None = None
    error_type: str | None = None

    @property
    def failed(self) -> bool:
        """True when the operation raised."""
        return self.error_type is not None


@dataclass(frozen=True, slots=True)
class EntityResult:
    """The entity after the operations.

    Attributes:
        state: its decoded state (None when it has none).
        exists: False when it has no state (never set, or deleted with ``destruct_on_exit``).
        results: one result per operation, in order.
    """

    state: Any
    exists: bool
    results: list[OperationResult]


def run_entity(
    entity: Any,
    operations: Iterable[Operation | tuple[str, Any] | str],
    *,
    state: Any = None,
    key: str = "test",
    name: str | None = None,
) -> EntityResult:
    """Run ``operations`` in order on ``entity`` whose state starts as ``state`` (None: no state yet).

    Args:
        entity: a function taking the ``DurableEntityContext``, a ``DurableEntity`` subclass, or an
            ``Entity.create(fn)`` handle.
        operations: each an :class:`Operation`, a ``(name, input)`` pair, or a bare operation name.
        state: the starting state (any JSON value); None means the entity has none, so ``get_state`` returns its
            initializer's value.
        key: the entity key the code sees (``context.entity_key``).
        name: the entity name the code sees; by default the function's or class's name, lower-case.

    Raises:
        TypeError: ``entity`` is not callable, or an operation is not one of the accepted forms.
    """
    function = entity.entity_function if isinstance(entity, Entity) else entity
    if not callable(function):
        raise TypeError(f"entity {entity!r} is invalid: must be a function, a DurableEntity class or Entity.create(fn)")
    requested = [_operation(item) for item in operations]
    entity_id = EntityId(name or str(getattr(function, "__name__", "entity")), key)
    start = SchedulerState(exists=state is not None, state=_json.dumps(state) if state is not None else None)
    events = [_request(index, op) for index, op in enumerate(requested)]
    batch = run_batch(function, entity_id, start, events, now=_NOW)
    answers = {send.name: send.input for send in batch.sends if send.instance_id == _CALLER}
    results = [_answer(op, answers.get(_request_id(index))) for index, op in enumerate(requested)]
    final = batch.state
    return EntityResult(state=_json.loads(final.state) if final.exists else None, exists=final.exists, results=results)


def _operation(item: Operation | tuple[str, Any] | str) -> Operation:
    if isinstance(item, Operation):
        return item
    if isinstance(item, str):
        return Operation(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        return Operation(item[0], item[1])
    raise TypeError(f"operation {item!r} is invalid: must be an Operation, a (name, input) pair or a name")


def _request_id(index: int) -> str:
    return f"test-operation-{index}"


def _request(index: int, operation: Operation) -> EventRaisedEvent:
    request = RequestMessage(
        operation=operation.name,
        id=_request_id(index),
        input=_json.dumps(operation.input),
        parent_instance_id=_CALLER,
        parent_execution_id=_CALLER_EXECUTION,
    )
    return EventRaisedEvent(timestamp=_NOW, name=OPERATION, input=request.to_json())


def _answer(operation: Operation, response: str | None) -> OperationResult:
    if response is None:  # every request of the batch is answered; a missing answer is a bug of the runner
        raise AssertionError(f"entity operation {operation.name!r} got no answer")
    value = json.loads(response)
    error_type = value.get("exceptionType")
    if error_type:
        details = value.get("failureDetails") or {}
        return OperationResult(operation.name, error=details.get("ErrorMessage"), error_type=error_type)
    return OperationResult(operation.name, result=_json.loads(value.get("result")))
