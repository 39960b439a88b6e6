"""Instances rows and histories as the client shows them: status objects and JSON-able history events; pure.

Payloads are decoded with plain JSON, as the Durable Functions host returns them to azure-functions-durable:
custom classes stay ``{"__class__", "__module__", "__data__"}`` dicts, so a status never needs the user's classes
(and never imports anything). Text that is not JSON (a .NET client's raw input) is returned as text.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from durable_storage._datetimes import format_datetime, plain_utc
from durable_storage._dotnet_json import dotnet_name
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.history import (
    EventRaisedEvent,
    EventSentEvent,
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    ExecutionTerminatedEvent,
    GenericEvent,
    HistoryEvent,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceCreatedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)
from durable_storage.models import DurableOrchestrationStatus, OrchestrationRuntimeStatus

__all__ = [
    "decode_payload",
    "event_to_json",
    "history_for_status",
    "is_terminal",
    "not_found",
    "status_from_record",
    "status_name",
]

_Status = OrchestrationRuntimeStatus
# Their Output column is text, not JSON: "{ErrorType}: {message}" or the termination reason (storage-layout.md §2.2).
_TEXT_OUTPUT = frozenset({_Status.Failed, _Status.Terminated})
_SCHEDULING = (TaskScheduledEvent, SubOrchestrationInstanceCreatedEvent)
_RESULTS = (TaskCompletedEvent, SubOrchestrationInstanceCompletedEvent)
_FAILURES = (TaskFailedEvent, SubOrchestrationInstanceFailedEvent)
# Framework bookkeeping that Durable Functions leaves out of showHistory (rewound rows are GenericEvents).
_HIDDEN = (OrchestratorStartedEvent, OrchestratorCompletedEvent, GenericEvent, *_SCHEDULING)


def is_terminal(status: OrchestrationRuntimeStatus | None) -> bool:
    """True for Completed, Failed, Terminated and Canceled; an unknown status (None) counts as not ended."""
    # We never overwrite, or stop waiting for, an instance whose status we cannot read.
    return status is not None and status.is_terminal


def status_name(status: OrchestrationRuntimeStatus | None) -> str:
    """The status for messages: its name, or "of an unknown status"."""
    return status.name if status is not None else "of an unknown status"


def decode_payload(text: str | None) -> Any:
    """The JSON value of ``text``; None for None or ``""``; the text itself when it is not JSON."""
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def status_from_record(
    record: InstanceRecord, *, show_input: bool, history: list[dict[str, Any]] | None = None
) -> DurableOrchestrationStatus:
    """The status of an Instances row; its input only with ``show_input``, as Durable Functions does.

    A payload whose blob could not be read shows as a note saying so (and ``message`` repeats it), so that one
    instance's lost blob never hides the rest of its status, nor fails a listing.
    """
    status = record.runtime_status
    notes = _unreadable_notes(record)
    output = record.output if status in _TEXT_OUTPUT else decode_payload(record.output)
    # .NET writes the literal "null" when there is no custom status (durabletask#477).
    custom = None if record.custom_status in (None, "", "null") else decode_payload(record.custom_status)
    shown = {column: note for column, note in notes.items() if show_input or column != "Input"}
    return DurableOrchestrationStatus(
        name=record.name,
        instanceId=record.instance_id,
        createdTime=_plain_utc(record.created_time),
        lastUpdatedTime=_plain_utc(record.last_updated_time),
        input=(notes.get("Input") or decode_payload(record.input)) if show_input else None,
        output=notes.get("Output") or output,
        runtimeStatus=status,
        customStatus=custom,
        history=history,
        message="; ".join(shown.values()) or None,
    )


def _unreadable_notes(record: InstanceRecord) -> dict[str, str]:
    """A readable note for each payload of ``record`` that could not be read, by column."""
    return {column: f"[{column.lower()} unavailable: {why}]" for column, why in record.unreadable.items()}


def not_found(instance_id: str) -> DurableOrchestrationStatus:
    """The falsy status of an unknown instance, with the host's 404 message."""
    return DurableOrchestrationStatus(instanceId=instance_id, message=f"No instance with ID '{instance_id}' found.")


# --- history ---------------------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(plain_utc(value))
    if isinstance(value, Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            dotnet_name(f.name): _json_value(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "_source"
        }
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def event_to_json(event: HistoryEvent) -> dict[str, Any]:
    """Every member of ``event`` under its .NET name, ``EventType`` by name first; payloads stay JSON text.

    The form of .NET's ``GetOrchestrationHistoryAsync`` (default Newtonsoft, no ``$type``), with enums and
    DateTimes as text so that ``json.dumps`` takes it as is.
    """
    return {"EventType": event.event_type.name, **_json_value(event)}


def history_for_status(events: Sequence[HistoryEvent], *, show_output: bool) -> list[dict[str, Any]]:
    """The history in Durable Functions' ``showHistory`` form.

    Episode frames and scheduling events are left out; results and failures name the function they answer
    (``FunctionName``) and when it was scheduled (``ScheduledTime``). Payloads are decoded, and shown only with
    ``show_output`` (the host's ``showHistoryOutput``).
    """
    scheduled = {e.event_id: e for e in events if isinstance(e, _SCHEDULING)}
    return [_summary(e, scheduled, show_output) for e in events if not isinstance(e, _HIDDEN)]


def _summary(event: HistoryEvent, scheduled: Mapping[int, HistoryEvent], show_output: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"EventType": event.event_type.name}
    payload: str | None = None
    if isinstance(event, ExecutionStartedEvent):
        item["FunctionName"] = event.name
        payload = event.input
    elif isinstance(event, ExecutionCompletedEvent):
        item["OrchestrationStatus"] = event.orchestration_status.name
        if event.failure_details is not None:
            item["FailureDetails"] = _json_value(event.failure_details)
        payload = event.result
    elif isinstance(event, (*_RESULTS, *_FAILURES)):
        item |= _answered(scheduled.get(event.task_scheduled_id))
        if isinstance(event, _FAILURES):
            item |= {"Reason": event.reason, "Details": event.details}
        else:
            payload = event.result
    elif isinstance(event, (TimerCreatedEvent, TimerFiredEvent)):
        item["FireAt"] = _json_value(event.fire_at)
    elif isinstance(event, (EventRaisedEvent, EventSentEvent)):
        item["Name"] = event.name
        payload = event.input
    elif isinstance(event, ExecutionTerminatedEvent):
        item["Reason"] = event.input
    elif hasattr(event, "reason"):  # ExecutionSuspended / ExecutionResumed / ExecutionRewound
        item["Reason"] = event.reason
    if show_output and payload is not None:
        item["Input" if isinstance(event, (ExecutionStartedEvent, EventRaisedEvent, EventSentEvent)) else "Result"] = (
            decode_payload(payload)
        )
    item["Timestamp"] = _json_value(event.timestamp)
    return item


def _answered(scheduling: HistoryEvent | None) -> dict[str, Any]:
    if not isinstance(scheduling, _SCHEDULING):
        return {}
    return {"FunctionName": scheduling.name, "ScheduledTime": _json_value(scheduling.timestamp)}


def _plain_utc(value: datetime | None) -> datetime | None:
    return None if value is None else plain_utc(value)
