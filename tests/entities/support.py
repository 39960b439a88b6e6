"""Helpers of the entity batch tests: a counter entity and the queue events that orchestrations and clients send."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from durable_storage.entities import RequestMessage
from durable_storage.history import EventRaisedEvent

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
CALLER = "orch-1"


def counter(context: Any) -> None:
    """A function entity: ``add`` adds the input to its value, ``get`` answers it, ``key`` answers its id."""
    if context.operation_name == "add":
        context.set_state(context.get_state(lambda: 0) + context.get_input())
    elif context.operation_name == "get":
        context.set_result(context.get_state(lambda: 0))
    elif context.operation_name == "key":
        context.set_result([context.entity_name, context.entity_key])


def op(
    operation: str,
    request_id: str,
    value: Any = None,
    *,
    parent: str | None = CALLER,
    signal: bool = False,
    name: str = "op",
) -> EventRaisedEvent:
    """An ``op`` event as orchestration ``parent`` (or, with ``parent=None``, a client) sends it."""
    request = RequestMessage(
        operation=operation,
        id=request_id,
        is_signal=signal,
        input=json.dumps(value),
        parent_instance_id=parent,
        parent_execution_id=f"{parent}-exec" if parent else None,
    )
    return EventRaisedEvent(timestamp=T0, name=name, input=request.to_json())


def release(parent: str, request_id: str) -> EventRaisedEvent:
    """The event that releases the locks ``parent`` took with request ``request_id``."""
    return EventRaisedEvent(timestamp=T0, name="release", input=json.dumps({"parent": parent, "id": request_id}))
