"""Determinism checks: does the action the code produced match the scheduling event history recorded? Pure.

DTFx fails an orchestration whose replay schedules something other than what its history says was scheduled
under the same sequence id (``NonDeterministicOrchestrationException``). Our message names the sequence id,
what history recorded and what the code did, so a user can see which line changed.
"""

from __future__ import annotations

from durable_storage._event_text import describe_event
from durable_storage.history import (
    EventSentEvent,
    HistoryEvent,
    SubOrchestrationInstanceCreatedEvent,
    TaskScheduledEvent,
)
from durable_storage.replay._actions import (
    Action,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    ScheduleTaskAction,
    SendEventAction,
)

__all__ = ["PREFIX", "check_scheduled", "describe_action"]

PREFIX = "Non-Deterministic workflow detected"


def describe_action(action: Action | None) -> str:
    """What the code did, as a user reads it: ``scheduled activity 'other'``."""
    if action is None:
        return "scheduled nothing with that sequence id"
    if isinstance(action, ScheduleTaskAction):
        return f"scheduled activity {action.name!r}"
    if isinstance(action, CreateSubOrchestrationAction):
        return f"started sub-orchestration {action.name!r}"
    if isinstance(action, SendEventAction):
        return f"sent event {action.name!r} to {action.instance_id!r}"
    return "created a timer"


def _matches(event: HistoryEvent, action: Action | None) -> bool:
    if isinstance(event, TaskScheduledEvent):
        return isinstance(action, ScheduleTaskAction) and action.name == event.name
    if isinstance(event, SubOrchestrationInstanceCreatedEvent):
        return isinstance(action, CreateSubOrchestrationAction) and action.name == event.name
    if isinstance(event, EventSentEvent):
        return isinstance(action, SendEventAction) and (action.name, action.instance_id) == (
            event.name,
            event.instance_id,
        )
    return isinstance(action, CreateTimerAction)


def check_scheduled(event: HistoryEvent, action: Action | None) -> str | None:
    """None when ``action`` is what ``event`` recorded, else the non-determinism message."""
    if _matches(event, action):
        return None
    return (
        f"{PREFIX}: at sequence {event.event_id} the history recorded {describe_event(event)}, but the code now "
        f"{describe_action(action)}. Was the orchestrator changed while this instance was running?"
    )
