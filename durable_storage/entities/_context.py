"""What an entity function sees: ``DurableEntityContext`` (azure-functions-durable 1.7) and class-based entities.

A function entity is called once per operation with the context; a class-based entity (a subclass of
``DurableEntity``) gets a fresh instance per operation and the operation name picks the method, which receives the
input (if it takes a parameter) and whose return value is the result. Pure: state is JSON text in and out.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from durable_storage import _json
from durable_storage.models import EntityId

__all__ = ["DurableEntity", "DurableEntityContext"]

_UNSET: Any = object()


class DurableEntityContext:
    """The entity API of azure-functions-durable: state, input, result and the operation being run."""

    def __init__(self, entity_id: EntityId, state: str | None, exists: bool) -> None:
        self._entity_id = entity_id
        self._state_text = state
        self._state: Any = _UNSET  # decoded on first use
        self._exists = exists
        self._operation: str | None = None
        self._input: str | None = None
        self._result: Any = None

    @classmethod
    def from_json(cls, json_str: str | bytes) -> tuple[DurableEntityContext, list[dict[str, Any]]]:
        """The context and operation batch of the Functions host's entity payload, as azure-functions-durable's.

        The payload is ``{"self": {"name", "key"}, "exists", "state" (JSON text or null), "batch": [...]}``; the
        batch is returned as it is (each item ``{"name", "input", ...}``), for tests written against the SDK.

        Raises:
            ValueError: not such a payload.
        """
        payload = json.loads(json_str)
        identity = payload.get("self") if isinstance(payload, dict) else None
        if not isinstance(identity, dict) or not isinstance(payload.get("batch", []), list):
            raise ValueError("entity context JSON is invalid: must be an object with 'self' {name, key} and 'batch'")
        state = payload.get("state")
        if state is not None and not isinstance(state, str):
            state = json.dumps(state)
        context = cls(EntityId(identity.get("name", ""), identity.get("key", "")), state, bool(payload.get("exists")))
        return context, list(payload.get("batch", []))

    @property
    def entity_name(self) -> str:
        """The entity's name, lower-case (as in its instance ID)."""
        return self._entity_id.name.lower()

    @property
    def entity_key(self) -> str:
        """The entity's key."""
        return self._entity_id.key

    @property
    def entity_id(self) -> EntityId:
        """The entity's ID."""
        return self._entity_id

    @property
    def operation_name(self) -> str:
        """The operation being run.

        Raises:
            RuntimeError: outside of an operation.
        """
        if self._operation is None:
            raise RuntimeError("operation_name is only set while an operation runs")
        return self._operation

    @property
    def is_newly_constructed(self) -> bool:
        """Always False, as in azure-functions-durable."""
        return False

    def get_state(self, initializer: Callable[[], Any] | None = None, expected_type: type | None = None) -> Any:
        """The entity's state; when it has none, ``initializer()`` (or None)."""
        if not self._exists:
            return initializer() if initializer is not None else None
        if self._state is _UNSET:
            self._state = _json.loads(self._state_text, expected_type)
        return self._state

    def set_state(self, state: Any) -> None:
        """Replace the state (kept when the operation succeeds, rolled back when it raises)."""
        self._state = state
        self._exists = True

    def get_input(self, expected_type: type | None = None) -> Any:
        """The operation's input."""
        return _json.loads(self._input, expected_type)

    def set_result(self, result: Any) -> None:
        """The value returned to a caller that used ``call_entity``."""
        self._result = result

    def destruct_on_exit(self) -> None:
        """Delete the entity's state when the operation ends."""
        self._state = None
        self._exists = False

    # --- driven by the batch runner --------------------------------------------------------------------------

    def _begin(self, operation: str, payload: str | None) -> None:
        self._operation, self._input, self._result = operation, payload, None

    def _commit(self) -> tuple[str | None, bool]:
        """The state as JSON text after a successful operation (raises when it cannot be encoded)."""
        if not self._exists:
            self._state_text, self._state = None, _UNSET
        elif self._state is not _UNSET:
            self._state_text = _json.dumps(self._state)
        return self._state_text, self._exists

    def _rollback(self, state: str | None, exists: bool) -> None:
        self._state_text, self._exists, self._state = state, exists, _UNSET


class DurableEntity:
    """Base class of class-based entities: each public method is an operation.

    ``self.context`` is the ``DurableEntityContext``; ``get_state``/``set_state`` are shortcuts to it. An operation
    named ``delete`` that the class does not define deletes the entity's state.

    Example::

        @app.entity_trigger(context_name="context")
        class Counter(df.DurableEntity):
            def add(self, amount: int) -> int:
                value = self.get_state(int) + amount
                self.set_state(value)
                return value
    """

    context: DurableEntityContext

    def get_state(self, initializer: Callable[[], Any] | None = None, expected_type: type | None = None) -> Any:
        """The entity's state; when it has none, ``initializer()`` (or None)."""
        return self.context.get_state(initializer, expected_type)

    def set_state(self, state: Any) -> None:
        """Replace the entity's state."""
        self.context.set_state(state)


def run_operation(entity: Any, context: DurableEntityContext) -> None:
    """Run the current operation of ``context`` on a function or class-based ``entity``."""
    if not (inspect.isclass(entity) and issubclass(entity, DurableEntity)):
        entity(context)
        return
    operation = context.operation_name
    instance = entity()
    instance.context = context
    method = getattr(instance, operation, None) if not operation.startswith("_") else None
    if method is None or not callable(method) or operation in _BASE_MEMBERS:
        if operation == "delete":
            context.destruct_on_exit()
            return
        available = sorted(
            name
            for name, value in inspect.getmembers(entity)
            if _is_operation(name, value) and name not in _BASE_MEMBERS
        )
        raise AttributeError(f"entity {entity.__name__} has no operation {operation!r}; it has {available}")
    takes_input = len(inspect.signature(method).parameters) > 0
    context.set_result(method(context.get_input()) if takes_input else method())


def _is_operation(name: str, value: Any) -> bool:
    return not name.startswith("_") and callable(value)


_BASE_MEMBERS = frozenset(name for name, value in vars(DurableEntity).items() if _is_operation(name, value))
