"""The Durable Functions entity wire formats (entity-messages.md); pure.

Entity messages are EventRaised events whose ``Input`` is the JSON text of one of these objects: a request
(``op``, ``op@<due>``), a release (``release``) or a response (named after the request id). An entity's state
between batches is a ``SchedulerState``, the input of its next execution; its custom status is an ``EntityStatus``.
Field names, order and omit rules are the .NET ones. Unknown fields are ignored on read, as Newtonsoft does.

Two additions of ours to the scheduler state, both ignored by .NET: ``unconfirmed``, the keys of requests
processed in the latest batches whose queue messages were not yet known to be deleted (a message redelivered after
a crash between the checkpoint and its delete is recognised and not run twice); and ``recent``, the keys and times
(Unix seconds) of the requests processed in the last minute, at most a few hundred, which catches a second copy
of a request that a sender's retried send (its first attempt landed after all) or re-run episode put in the queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from durable_storage._datetimes import extra_ticks, format_datetime, parse_datetime, to_utc
from durable_storage.errors import MessageFormatError
from durable_storage.models import EntityId

__all__ = [
    "LOCK_ACQUIRED",
    "OPERATION",
    "RELEASE",
    "EntityStatus",
    "ReleaseMessage",
    "RequestMessage",
    "ResponseMessage",
    "SchedulerState",
    "scheduled_name",
    "scheduled_time_of",
]

OPERATION = "op"
RELEASE = "release"
LOCK_ACQUIRED = "Lock Acquisition Completed"  # the result text of a lock grant in .NET (ignored by receivers)
_NO_TIME = "0001-01-01T00:00:00"


def scheduled_name(due: datetime) -> str:
    """The event name of a request delivered at ``due``: ``op@`` + .NET's round-trip ``o`` format (7 digits)."""
    utc = to_utc(due)
    ticks = utc.microsecond * 10 + extra_ticks(utc)
    return f"{OPERATION}@{utc:%Y-%m-%dT%H:%M:%S}.{ticks:07d}Z"


def scheduled_time_of(name: str | None) -> datetime | None:
    """The delivery time in an ``op@<due>`` event name, or None for any other name."""
    if not name or not name.startswith(OPERATION + "@"):
        return None
    try:
        return to_utc(parse_datetime(name[len(OPERATION) + 1 :]))
    except ValueError:
        return None


def _object(text: str | None, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else None
    except ValueError as error:
        raise MessageFormatError(f"{what} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise MessageFormatError(f"{what} must be a JSON object, not {text!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestMessage:
    """An operation request or a lock request (``lockset`` set, ``operation`` None)."""

    operation: str | None
    id: str
    is_signal: bool = False
    input: str | None = None
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    scheduled_time: datetime | None = None
    lockset: tuple[EntityId, ...] | None = None
    position: int = 0

    @property
    def is_lock_request(self) -> bool:
        """True for a request to lock ``lockset`` (sent to each of its entities in turn)."""
        return self.lockset is not None

    def advanced(self) -> RequestMessage:
        """The lock request as forwarded to the next entity of its lock set."""
        return replace(self, position=self.position + 1)

    def to_dict(self) -> dict[str, Any]:
        """The .NET member order and omit rules (entity-messages.md §2)."""
        value: dict[str, Any] = {"op": self.operation}
        if self.is_signal:
            value["signal"] = True
        if self.input is not None:
            value["input"] = self.input
        value["id"] = self.id
        if self.parent_instance_id is not None:
            value["parent"] = self.parent_instance_id
        if self.parent_execution_id is not None:
            value["parentExecution"] = self.parent_execution_id
        if self.scheduled_time is not None:
            value["due"] = format_datetime(to_utc(self.scheduled_time))
        value["Timestamp"] = _NO_TIME
        value["Predecessor"] = _NO_TIME
        if self.lockset is not None:
            value["lockset"] = [{"name": e.name.lower(), "key": e.key} for e in self.lockset]
        if self.position:
            value["pos"] = self.position
        return value

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> RequestMessage:
        request_id = value.get("id")
        if not isinstance(request_id, str) or not request_id:
            raise MessageFormatError(f"entity request has no id: {value!r}")
        lockset = value.get("lockset")
        due = value.get("due")
        payload = value.get("input", value.get("arg"))  # ``arg``: the pre-2019 name, still read by tolerant readers
        return cls(
            operation=value.get("op"),
            id=request_id,
            is_signal=bool(value.get("signal", False)),
            input=payload if payload is None or isinstance(payload, str) else json.dumps(payload),
            parent_instance_id=value.get("parent"),
            parent_execution_id=value.get("parentExecution"),
            scheduled_time=to_utc(parse_datetime(due)) if isinstance(due, str) else None,
            lockset=tuple(EntityId(e["name"], e["key"]) for e in lockset) if isinstance(lockset, list) else None,
            position=int(value.get("pos", 0) or 0),
        )

    @classmethod
    def from_json(cls, text: str | None) -> RequestMessage:
        try:
            return cls.from_dict(_object(text, "entity request"))
        except (KeyError, TypeError, ValueError) as error:
            raise MessageFormatError(f"entity request {text!r} is malformed: {error}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseMessage:
    """The answer to a call or a lock request: ``result`` JSON text, or a failure."""

    result: str | None
    error_type: str | None = None
    error_message: str | None = None

    def to_json(self) -> str:
        value: dict[str, Any] = {"result": self.result}
        if self.error_type is not None:
            value["exceptionType"] = self.error_type
            value["failureDetails"] = {
                "ErrorType": self.error_type,
                "ErrorMessage": self.error_message or "",
                "StackTrace": None,
                "InnerFailure": None,
                "IsNonRetriable": False,
            }
        return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseMessage:
    """Release the lock that ``parent_instance_id`` took with lock request ``id``."""

    parent_instance_id: str
    id: str

    def to_json(self) -> str:
        return json.dumps({"parent": self.parent_instance_id, "id": self.id}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> ReleaseMessage:
        value = _object(text, "entity release")
        parent, request_id = value.get("parent"), value.get("id")
        if not isinstance(parent, str) or not isinstance(request_id, str):
            raise MessageFormatError(f"entity release {text!r} needs string 'parent' and 'id'")
        return cls(parent_instance_id=parent, id=request_id)


@dataclass(slots=True, kw_only=True)
class SchedulerState:
    """An entity between batches: its state, the requests waiting for a lock, who holds the lock."""

    exists: bool = False
    state: str | None = None
    queue: list[RequestMessage] = field(default_factory=list)
    locked_by: str | None = None
    unconfirmed: list[str] = field(default_factory=list)
    recent: list[tuple[str, float]] = field(default_factory=list)

    def to_json(self) -> str:
        value: dict[str, Any] = {}
        if self.exists:
            value["exists"] = True
        if self.state is not None:
            value["state"] = self.state
        if self.queue:
            value["queue"] = [request.to_dict() for request in self.queue]
        if self.locked_by is not None:
            value["lockedBy"] = self.locked_by
        value["sorter"] = {}
        if self.unconfirmed:
            value["unconfirmed"] = list(self.unconfirmed)
        if self.recent:
            value["recent"] = [[key, round(at, 3)] for key, at in self.recent]
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> SchedulerState:
        """The state in an entity execution's input; a missing input is a new entity."""
        if text is None or text == "null":
            return cls()
        value = _object(text, "entity scheduler state")
        try:
            return cls(
                # CORE writes no ``exists``: there, the entity exists when it has a state.
                exists=bool(value.get("exists", value.get("state") is not None)),
                state=value.get("state"),
                queue=[RequestMessage.from_dict(item) for item in value.get("queue") or []],
                locked_by=value.get("lockedBy"),
                unconfirmed=[str(item) for item in value.get("unconfirmed") or []],
                recent=[(str(key), float(at)) for key, at in value.get("recent") or []],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise MessageFormatError(f"entity scheduler state {text!r} is malformed: {error}") from None

    @property
    def is_empty(self) -> bool:
        """No state, no waiting requests, no lock: the entity can be removed."""
        return not self.exists and not self.queue and self.locked_by is None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityStatus:
    """An entity's custom status, as Durable Functions tooling reads it."""

    exists: bool
    queue_size: int = 0
    locked_by: str | None = None

    def to_json(self) -> str:
        value: dict[str, Any] = {}
        if self.exists:
            value["entityExists"] = True
        if self.queue_size:
            value["queueSize"] = self.queue_size
        if self.locked_by is not None:
            value["lockedBy"] = self.locked_by
        return json.dumps(value, separators=(",", ":"))
