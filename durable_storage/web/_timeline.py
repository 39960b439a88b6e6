"""An instance's history as the dashboard's timeline: one item per step, with its times, duration and outcome; pure.

The input is ``client.get_history`` (events under their .NET names, payloads as JSON text). A scheduling event
(TaskScheduled, SubOrchestrationInstanceCreated, TimerCreated) opens an item; the event that answers it (matched
by ``TaskScheduledId`` / ``TimerId``, as DTFx matches them) closes it with its end time and result or failure.
Episode frames (OrchestratorStarted/Completed) and rewound rows (GenericEvent) are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from durable_storage._datetimes import parse_datetime
from durable_storage.client._status import decode_payload
from durable_storage.web._failures import failure_view, user_frames

__all__ = ["children_of", "timeline", "waiting_for"]

Event = Mapping[str, Any]
Item = dict[str, Any]


class _Builder:
    """The items so far, and the scheduled ones still waiting for their answer, by EventId."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.open: dict[tuple[str, int], Item] = {}

    def add(self, event: Event, kind: str, **values: Any) -> Item:
        item: Item = {"kind": kind, "start": event.get("Timestamp"), "end": None, "durationMs": None, **values}
        self.items.append(item)
        return item

    def schedule(self, event: Event, kind: str, **values: Any) -> None:
        item = self.add(event, kind, eventId=event.get("EventId"), status="scheduled", **values)
        self.open[(kind, int(event.get("EventId", -1)))] = item

    def answer(self, event: Event, kind: str, key: str, status: str, *, end: str = "Timestamp", **values: Any) -> None:
        item = self.open.pop((kind, int(event.get(key, -1))), None)
        if item is None:  # an answer without its scheduling row (a rewound or truncated history): show it alone
            item = self.add(event, kind, eventId=event.get(key), name=None)
        ended = event.get(end)
        item.update(status=status, end=ended, durationMs=_milliseconds(item["start"], ended), **values)


def _milliseconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        elapsed = parse_datetime(end) - parse_datetime(start)
    except (ValueError, TypeError):
        return None
    return round(max(elapsed.total_seconds() * 1000, 0.0), 3)


def _failure(event: Event) -> dict[str, Any]:
    details = event.get("FailureDetails") or {}
    kind = details.get("ErrorType")
    view = failure_view(details.get("ErrorMessage") if kind else event.get("Reason"), details.get("StackTrace"))
    if not view["details"]:
        view["details"] = event.get("Details")  # a .NET worker's TaskFailed: the trace is in Details
        view["userFrames"] = user_frames(view["details"]) if view["details"] else None
    message = f"{kind}: {view['message']}" if kind else view["message"]
    return {"failure": message or "failed", "userFrames": view["userFrames"], "details": view["details"]}


def _started(b: _Builder, e: Event) -> None:
    parent = (e.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
    parent_id = parent.get("InstanceId")
    b.add(e, "started", name=e.get("Name"), input=decode_payload(e.get("Input")), parentInstanceId=parent_id)


def _completed(b: _Builder, e: Event) -> None:
    status = e.get("OrchestrationStatus")
    if status == "Failed":
        b.add(e, "failed", status=status, **_failure(e))
    else:
        b.add(e, "completed", status=status, result=decode_payload(e.get("Result")))


# Each handler adds or closes an item (what it returns is ignored).
_HANDLERS: dict[str, Callable[[_Builder, Event], object]] = {
    "ExecutionStarted": _started,
    "ExecutionCompleted": _completed,
    "ContinueAsNew": lambda b, e: b.add(e, "continuedAsNew", input=decode_payload(e.get("Result"))),
    "ExecutionTerminated": lambda b, e: b.add(e, "terminated", reason=decode_payload(e.get("Input"))),
    "ExecutionSuspended": lambda b, e: b.add(e, "suspended", reason=e.get("Reason")),
    "ExecutionResumed": lambda b, e: b.add(e, "resumed", reason=e.get("Reason")),
    "ExecutionRewound": lambda b, e: b.add(e, "rewound", reason=e.get("Reason")),
    "TaskScheduled": lambda b, e: b.schedule(e, "activity", name=e.get("Name"), input=decode_payload(e.get("Input"))),
    "TaskCompleted": lambda b, e: b.answer(
        e, "activity", "TaskScheduledId", "completed", result=decode_payload(e.get("Result"))
    ),
    "TaskFailed": lambda b, e: b.answer(e, "activity", "TaskScheduledId", "failed", **_failure(e)),
    "SubOrchestrationInstanceCreated": lambda b, e: b.schedule(
        e, "suborchestration", name=e.get("Name"), instanceId=e.get("InstanceId"), input=decode_payload(e.get("Input"))
    ),
    "SubOrchestrationInstanceCompleted": lambda b, e: b.answer(
        e, "suborchestration", "TaskScheduledId", "completed", result=decode_payload(e.get("Result"))
    ),
    "SubOrchestrationInstanceFailed": lambda b, e: b.answer(
        e, "suborchestration", "TaskScheduledId", "failed", **_failure(e)
    ),
    "TimerCreated": lambda b, e: b.schedule(e, "timer", name="timer", fireAt=e.get("FireAt")),
    # DTFx stamps TimerFired when it creates it, with the timer: the timer ends at its FireAt.
    "TimerFired": lambda b, e: b.answer(e, "timer", "TimerId", "fired", end="FireAt"),
    "EventRaised": lambda b, e: b.add(e, "eventRaised", name=e.get("Name"), input=decode_payload(e.get("Input"))),
    "EventSent": lambda b, e: b.add(
        e, "eventSent", name=e.get("Name"), instanceId=e.get("InstanceId"), input=decode_payload(e.get("Input"))
    ),
}


def timeline(events: Sequence[Event]) -> list[Item]:
    """The timeline items of a history, in history order.

    Each item has ``kind`` (``started``, ``activity``, ``suborchestration``, ``timer``, ``eventRaised``,
    ``eventSent``, ``completed``, ``failed``, ``terminated``, ``suspended``, ``resumed``, ``continuedAsNew``,
    ``rewound``), ``start``, ``end`` and ``durationMs`` (for scheduled steps once answered), and what fits the
    kind: ``name``, ``status`` (``scheduled``, ``completed``, ``failed``, ``fired``), ``input``, ``result``,
    ``failure`` (the message once), ``userFrames`` (the traceback's frames of the user's code) and ``details`` (the
    whole traceback), ``instanceId`` (a sub-orchestration's, an event's target), ``fireAt``.
    """
    builder = _Builder()
    for event in events:
        handler = _HANDLERS.get(str(event.get("EventType")))
        if handler is not None:
            handler(builder, event)
    return builder.items


def children_of(events: Sequence[Event]) -> list[str]:
    """The instance IDs of the sub-orchestrations a history started, in order, each once."""
    found = (e.get("InstanceId") for e in events if e.get("EventType") == "SubOrchestrationInstanceCreated")
    return list(dict.fromkeys(i for i in found if isinstance(i, str)))


def waiting_for(events: Sequence[Event]) -> dict[str, Any]:
    """What the history tells of what an instance waits for.

    ``steps``: the activities and sub-orchestrations scheduled and not answered, and the timers not fired (with
    ``fireAt``). An awaited external event leaves no row until it arrives (``wait_for_external_event`` records
    nothing, in Durable Functions as here), so its name is not knowable from storage; ``received`` counts the
    events that did arrive, by name, which is often the hint (a loop over "Item" events waits for the next one).
    """
    steps = [
        {key: item.get(key) for key in ("kind", "name", "start", "instanceId", "fireAt", "eventId")}
        for item in timeline(events)
        if item.get("status") == "scheduled"
    ]
    received: dict[str, int] = {}
    for event in events:
        if event.get("EventType") == "EventRaised":
            name = str(event.get("Name"))
            received[name] = received.get(name, 0) + 1
    return {"steps": steps, "received": received}
