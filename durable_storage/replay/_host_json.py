"""azure-functions-durable's unit-testing surfaces: a context built from the host's JSON, and its history items.

``DurableOrchestrationContext.from_json`` takes the payload the Functions host hands an orchestrator (``history``,
``input``, ``instanceId``, ``parentInstanceId``, ``isReplaying``, ...) so tests written against the SDK build our
context the same way. ``context.histories`` items answer to the SDK's attribute names (``event_type``,
``is_played``, ``Name``, ``Input``, ``TaskScheduledId`` ...) as well as to ours.
"""

from __future__ import annotations

import json
import re
from datetime import timezone
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from durable_storage._dotnet_json import decode_event
from durable_storage.errors import MessageFormatError
from durable_storage.history import EventType, ExecutionStartedEvent, HistoryEvent, OrchestratorStartedEvent
from durable_storage.replay._runtime import ExecutionInfo, ReplayOptions

if TYPE_CHECKING:
    from durable_storage.replay._context import DurableOrchestrationContext

__all__ = ["SdkHistoryEvent", "context_from_json"]

_KNOWN_KEYS = {"history", "input", "instanceId", "isReplaying", "parentInstanceId"}


class SdkHistoryEvent:
    """One history event, readable under the SDK's names and under ours.

    The SDK's ``HistoryEvent`` has ``event_type``, ``event_id``, ``is_played``, ``timestamp`` and the host's
    PascalCase members (``Name``, ``Input``, ``Result``, ``TaskScheduledId``, ``Reason``, ``Details``, ``FireAt``
    ...); a member the event does not have is None there, and here.
    """

    __slots__ = ("_event", "is_processed")

    def __init__(self, event: HistoryEvent) -> None:
        self._event = event
        self.is_processed = False

    @property
    def event(self) -> HistoryEvent:
        """Our event."""
        return self._event

    @property
    def event_type(self) -> EventType:
        """The event's type (the same numbers as the SDK's ``HistoryEventType``)."""
        return self._event.event_type

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            return getattr(self._event, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(), None)
        return getattr(self._event, name)

    def __repr__(self) -> str:
        return f"SdkHistoryEvent({self._event!r})"


def context_from_json(text: str | bytes | dict[str, Any]) -> DurableOrchestrationContext:
    """A context over the history of the host's orchestration payload, positioned before the code runs.

    Raises:
        MessageFormatError: the payload is not a JSON object with a ``history`` list of events, an ``instanceId``
            and an ExecutionStarted event.
    """
    from durable_storage.replay._engine import Replayer  # noqa: PLC0415 - it imports the context

    payload = json.loads(text) if isinstance(text, (str, bytes)) else text
    if not isinstance(payload, dict) or not isinstance(payload.get("history"), list):
        raise MessageFormatError("orchestration context JSON is invalid: must be an object with a 'history' list")
    instance_id = payload.get("instanceId")
    if not isinstance(instance_id, str) or not instance_id:
        raise MessageFormatError(f"orchestration context JSON instanceId {instance_id!r} is invalid: must be a string")
    history = [decode_event(raw, f"history[{index}]") for index, raw in enumerate(payload["history"])]
    started = next((e for e in history if isinstance(e, ExecutionStartedEvent)), None)
    if started is None:
        raise MessageFormatError("orchestration context JSON is invalid: its history has no ExecutionStarted event")
    # As the SDK's constructor: the input from the payload (else the start event), the time of the first
    # OrchestratorStarted, replaying as the host said.
    given_input = payload.get("input")
    input_ = given_input if isinstance(given_input, str) or given_input is None else json.dumps(given_input)
    parent = payload.get("parentInstanceId")
    execution = ExecutionInfo(
        instance_id=instance_id,
        execution_id=started.orchestration_instance.execution_id,
        parent_instance_id=parent if isinstance(parent, str) else None,
        version=started.version,
        input=input_ if input_ is not None else started.input,
    )
    first = next((e for e in history if isinstance(e, OrchestratorStartedEvent)), started)
    replayer = Replayer(lambda _context: None, instance_id, ReplayOptions(), history)
    context = replayer.position(
        execution, first.timestamp.astimezone(timezone.utc), is_replaying=bool(payload.get("isReplaying", False))
    )
    context.function_context = SimpleNamespace(**{k: v for k, v in payload.items() if k not in _KNOWN_KEYS})
    return context
