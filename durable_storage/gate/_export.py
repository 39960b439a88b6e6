"""Exported histories: one instance's stored history as a JSON document, to attach to a bug report and replay; pure.

The document::

    {
      "format": "durable-storage-history/1",
      "instance_id": "order-42",
      "execution_id": "9f0c...",
      "name": "process_order",
      "runtime_status": "Running",
      "input": "{\\"sku\\": \\"A1\\"}",
      "history": [ {"EventType": "OrchestratorStarted", "EventId": -1, ...}, ... ]
    }

``history`` holds the events in the JSON shape ``DurableOrchestrationClient.get_history`` returns (.NET member
names, ``EventType`` and statuses by name, times as ISO text, payloads as the stored JSON text), so the same
reader takes either. ``input`` is the instance's stored input text. A file may hold one document or a JSON array
of them. Reading never imports or evaluates anything: events are rebuilt field by field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from durable_storage._dotnet_json import decode_event, parse_json
from durable_storage.client._status import event_to_json
from durable_storage.errors import MessageFormatError
from durable_storage.history import EVENT_CLASSES, EventType, HistoryEvent
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["EXPORT_FORMAT", "ExportedHistory", "event_from_json", "read_exports", "write_exports"]

EXPORT_FORMAT = "durable-storage-history/1"
"""The ``format`` of an export document; a reader refuses any other."""
_MAX_CHARS = 512 * 1024 * 1024  # one export file: far above any real history, short of exhausting memory
_EVENT_TYPES = ", ".join(t.name for t in EVENT_CLASSES)


@dataclass(frozen=True, slots=True)
class ExportedHistory:
    """One instance's history as exported.

    Attributes:
        instance_id: the instance.
        execution_id: its current execution (the one ``events`` belong to).
        name: its orchestrator name.
        runtime_status: its stored status, by name.
        input: its stored input (JSON text).
        events: the current execution's history, in order.
    """

    instance_id: str
    execution_id: str | None
    name: str | None
    runtime_status: str | None
    input: str | None
    events: tuple[HistoryEvent, ...]

    def to_dict(self) -> dict[str, Any]:
        """The export document."""
        return {
            "format": EXPORT_FORMAT,
            "instance_id": self.instance_id,
            "execution_id": self.execution_id,
            "name": self.name,
            "runtime_status": self.runtime_status,
            "input": self.input,
            "history": [event_to_json(event) for event in self.events],
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "export") -> ExportedHistory:
        """Read an export document.

        Raises:
            MessageFormatError: not a document of :data:`EXPORT_FORMAT`, or an event that cannot be read (the
                message names the document and the event's position).
        """
        if not isinstance(data, Mapping):
            raise MessageFormatError(f"{where} is a {type(data).__name__}: must be a JSON object ({EXPORT_FORMAT})")
        if data.get("format") != EXPORT_FORMAT:
            raise MessageFormatError(f"{where} has format {data.get('format')!r}: must be {EXPORT_FORMAT!r}")
        instance_id = data.get("instance_id")
        if not isinstance(instance_id, str) or not instance_id:
            raise MessageFormatError(f"{where} has instance_id {instance_id!r}: must be a non-empty string")
        history = data.get("history")
        if not isinstance(history, list):
            raise MessageFormatError(f"{where} has history {type(history).__name__}: must be a list of events")
        events = tuple(event_from_json(event, f"{where} history[{i}]") for i, event in enumerate(history))
        return cls(
            instance_id=instance_id,
            execution_id=_text(data, "execution_id", where),
            name=_text(data, "name", where),
            runtime_status=_text(data, "runtime_status", where),
            input=_text(data, "input", where),
            events=events,
        )


def _text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MessageFormatError(f"{where} has {key} {value!r}: must be a string or null")
    return value


def event_from_json(data: object, where: str = "event") -> HistoryEvent:
    """The event in one item of ``client.get_history()`` (or of an export's ``history``).

    Raises:
        MessageFormatError: an unknown ``EventType`` or ``OrchestrationStatus`` name, or any member that does not
            fit its event class.
    """
    if not isinstance(data, Mapping):
        raise MessageFormatError(f"{where} is a {type(data).__name__}: must be a JSON object")
    item = dict(data)
    # get_history writes names where .NET's JSON has numbers: turn them back, then read it as .NET JSON.
    kind = item.get("EventType")
    if isinstance(kind, str):
        event_type = EventType.__members__.get(kind)
        if event_type is None or event_type not in EVENT_CLASSES:
            raise MessageFormatError(f"{where}: EventType {kind!r} is unknown: must be one of {_EVENT_TYPES}")
        item["EventType"] = int(event_type)
    status = item.get("OrchestrationStatus")
    if isinstance(status, str):
        try:
            item["OrchestrationStatus"] = OrchestrationRuntimeStatus(status).wire_value
        except ValueError:
            names = ", ".join(s.value for s in OrchestrationRuntimeStatus)
            raise MessageFormatError(
                f"{where}: OrchestrationStatus {status!r} is unknown: must be one of {names}"
            ) from None
    if item.get("EventType") == EventType.HistoryState and isinstance(item.get("State"), str):
        item["State"] = parse_json(item["State"], f"{where}.State")  # kept as text by get_history
    return decode_event(item, where)


def write_exports(exports: Sequence[ExportedHistory]) -> str:
    """The text of an export file: one document, or a JSON array when there are several."""
    documents = [export.to_dict() for export in exports]
    return json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, ensure_ascii=False) + "\n"


def read_exports(text: str, where: str = "export") -> list[ExportedHistory]:
    """The documents in an export file's ``text`` (one document or an array of them).

    Raises:
        MessageFormatError: not JSON, or a document that is not a valid export (named by its position).
    """
    data = parse_json(text, where, max_chars=_MAX_CHARS)
    if isinstance(data, list):
        return [ExportedHistory.from_dict(item, f"{where}[{i}]") for i, item in enumerate(data)]
    return [ExportedHistory.from_dict(data, where)]
