"""What a replay returns: the new actions, the completion, the custom status; pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durable_storage import _json
from durable_storage.history import EventRaisedEvent
from durable_storage.replay._actions import Action, Completion

__all__ = ["ReplayResult", "custom_status_json"]

_MAX_CUSTOM_STATUS_BYTES = 64 * 1024  # one table property; .NET never offloads it (storage-layout.md §2.3)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What one episode of an orchestration asks for.

    Attributes:
        actions: the new work, in sequence-id order: actions with no scheduling event in history yet.
        all_actions: every action the code produced in this replay, those already in history included.
        custom_status: the custom status as JSON text; None when unset or falsy (Durable Functions' rule).
        completion: how the execution ended, or None while it waits.
        is_suspended: True when the orchestration is suspended (new events wait for a resume).
    """

    actions: list[Action]
    all_actions: list[Action]
    custom_status: str | None
    completion: Completion | None
    is_suspended: bool = False
    carryover_events: list[EventRaisedEvent] = field(default_factory=list)


def custom_status_json(status: Any) -> str | None:
    """The custom status as JSON text, None when it is falsy (python-api.md §1.2).

    Raises:
        TypeError, ValueError: it is not JSON-serializable, or too large for the Instances table.
    """
    text = _json.dumps(status, "the custom status") if status else None
    if text is not None:
        size = 2 * len(text) + 2 * sum(1 for ch in text if ord(ch) > 0xFFFF)  # UTF-16 bytes, as the table counts
        if size > _MAX_CUSTOM_STATUS_BYTES:
            raise ValueError(
                f"the custom status is too large: its JSON takes {size:,} bytes in UTF-16, and the Instances table "
                f"holds at most {_MAX_CUSTOM_STATUS_BYTES:,} (64 KiB) in one column"
            )
    return text
