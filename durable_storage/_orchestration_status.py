"""Orchestration statuses as users see them: the runtime status enum, a status report, a purge result; pure.

Public through :mod:`durable_storage.models` (and the package's top level).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

__all__ = ["DurableOrchestrationStatus", "OrchestrationRuntimeStatus", "PurgeHistoryResult"]


class OrchestrationRuntimeStatus(Enum):
    """The runtime status of an orchestration instance, as in azure-functions-durable.

    Values equal the names; tables store the name, queue JSON stores :attr:`wire_value` (the DTFx number).
    """

    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"

    @property
    def wire_value(self) -> int:
        """The DurableTask.Core ``OrchestrationStatus`` number written in queue messages."""
        return _WIRE_VALUES[self]

    @classmethod
    def from_wire_value(cls, value: int) -> OrchestrationRuntimeStatus:
        """The status for a DurableTask.Core ``OrchestrationStatus`` number.

        Raises:
            ValueError: the number is not one of 0-7.
        """
        for status, number in _WIRE_VALUES.items():
            if number == value:
                return status
        raise ValueError(f"orchestration status number {value!r} is unknown: must be 0-7")

    @property
    def is_terminal(self) -> bool:
        """True for Completed, Failed, Canceled and Terminated: nothing more will run."""
        return self in _TERMINAL


_WIRE_VALUES = {
    OrchestrationRuntimeStatus.Running: 0,
    OrchestrationRuntimeStatus.Completed: 1,
    OrchestrationRuntimeStatus.ContinuedAsNew: 2,
    OrchestrationRuntimeStatus.Failed: 3,
    OrchestrationRuntimeStatus.Canceled: 4,
    OrchestrationRuntimeStatus.Terminated: 5,
    OrchestrationRuntimeStatus.Pending: 6,
    OrchestrationRuntimeStatus.Suspended: 7,
}
_TERMINAL = frozenset(
    {
        OrchestrationRuntimeStatus.Completed,
        OrchestrationRuntimeStatus.Failed,
        OrchestrationRuntimeStatus.Canceled,
        OrchestrationRuntimeStatus.Terminated,
    }
)


def _utc_text(value: datetime | None) -> str | None:
    # azure-functions-durable's add_datetime_attrib format: microseconds and a literal Z, in UTC.
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status_time(value: object, key: str) -> datetime | None:
    # The SDK takes the host's ISO text (dateutil); we take that or an aware datetime, and keep UTC.
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"{key} {value!r} is invalid: must be timezone-aware (or ISO 8601 text)")
        return None if value is None else value.astimezone(timezone.utc)
    if isinstance(value, str):
        from durable_storage._datetimes import parse_datetime  # noqa: PLC0415 - keep models' imports pure and light

        try:
            return parse_datetime(value).astimezone(timezone.utc)
        except ValueError:
            raise ValueError(f"{key} {value!r} is invalid: must be an ISO 8601 date and time") from None
    raise ValueError(f"{key} {value!r} is invalid: must be ISO 8601 text or a timezone-aware datetime")


def _runtime_status(value: object) -> OrchestrationRuntimeStatus | None:
    if value is None or isinstance(value, OrchestrationRuntimeStatus):
        return value
    try:
        return OrchestrationRuntimeStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in OrchestrationRuntimeStatus)
        raise ValueError(f"runtimeStatus {value!r} is invalid: must be one of {allowed}") from None


_SNAKE_ALIASES = {
    # Our earlier keyword names, still accepted: the SDK's constructor takes the host's camelCase JSON keys.
    "instance_id": "instanceId",
    "created_time": "createdTime",
    "last_updated_time": "lastUpdatedTime",
    "input_": "input",
    "runtime_status": "runtimeStatus",
    "custom_status": "customStatus",
}


class DurableOrchestrationStatus:
    """The status of one orchestration instance, as azure-functions-durable's ``DurableOrchestrationStatus``.

    Built like the SDK's, from the host's JSON keys: ``DurableOrchestrationStatus(name=..., instanceId=...,
    createdTime="2026-01-01T00:00:00Z", runtimeStatus="Completed", ...)`` or ``from_json(body)``; other keys
    (``message``) become attributes. The object is **falsy** when the instance was not found (it then has only
    ``instance_id`` and ``message``), so ``if not await client.get_status(id):`` works as in Durable Functions.

    Attributes:
        name: the orchestrator function name.
        instance_id: the instance ID.
        created_time: when the current execution was created (aware, UTC); None when not found.
        last_updated_time: when the instance last checkpointed (aware, UTC).
        input_: the input of the latest execution, decoded from JSON (left out with ``show_input=False``).
        output: the result decoded from JSON when Completed; the failure message (``"{ErrorType}: {message}"``)
            when Failed; the reason when Terminated.
        runtime_status: the runtime status, or None when the stored name is unknown.
        custom_status: the value the orchestrator set with ``set_custom_status``, decoded from JSON.
        history: the history events in Durable Functions' ``showHistory`` form, when asked for.
        message: why there is no status (the instance was not found), or which of its payloads could not be
            read (their blob was deleted or is corrupt: ``input_``/``output`` then hold a note saying so);
            None otherwise.
    """

    def __init__(  # noqa: PLR0917 - the SDK's signature, keys as the host's JSON spells them
        self,
        name: str | None = None,
        instanceId: str | None = None,
        createdTime: str | datetime | None = None,
        lastUpdatedTime: str | datetime | None = None,
        input: Any = None,
        output: Any = None,
        runtimeStatus: OrchestrationRuntimeStatus | str | None = None,
        customStatus: Any = None,
        history: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        given = {
            "instanceId": instanceId,
            "createdTime": createdTime,
            "lastUpdatedTime": lastUpdatedTime,
            "input": input,
            "runtimeStatus": runtimeStatus,
            "customStatus": customStatus,
        }
        for alias, key in _SNAKE_ALIASES.items():
            if alias in kwargs:
                given[key] = kwargs.pop(alias)
        self._name = name
        self._instance_id: str | None = given["instanceId"]
        self._created_time = _status_time(given["createdTime"], "createdTime")
        self._last_updated_time = _status_time(given["lastUpdatedTime"], "lastUpdatedTime")
        self._input = given["input"]
        self._output = output
        self._runtime_status = _runtime_status(given["runtimeStatus"])
        self._custom_status = given["customStatus"]
        self._history = history
        self.message: str | None = kwargs.pop("message", None)
        for key, value in kwargs.items():  # as the SDK: unknown keys of the host's JSON become attributes
            setattr(self, key, value)

    @classmethod
    def from_json(cls, json_obj: Any) -> DurableOrchestrationStatus:
        """A status from the host's JSON (a dict), or the falsy status of a plain-text answer (the 404 message)."""
        if isinstance(json_obj, str):
            return cls(message=json_obj)
        if not isinstance(json_obj, dict):
            raise ValueError(f"status JSON {json_obj!r} is invalid: must be an object or a message string")
        return cls(**json_obj)

    @property
    def name(self) -> str | None:
        """The orchestrator function name."""
        return self._name

    @property
    def instance_id(self) -> str | None:
        """The instance ID."""
        return self._instance_id

    @property
    def created_time(self) -> datetime | None:
        """When the current execution was created (aware, UTC); None when not found."""
        return self._created_time

    @property
    def last_updated_time(self) -> datetime | None:
        """When the instance last checkpointed (aware, UTC)."""
        return self._last_updated_time

    @property
    def input_(self) -> Any:
        """The input of the latest execution, decoded from JSON."""
        return self._input

    @property
    def output(self) -> Any:
        """The output, the failure message, or the termination reason."""
        return self._output

    @property
    def runtime_status(self) -> OrchestrationRuntimeStatus | None:
        """The runtime status; None when the stored name is unknown."""
        return self._runtime_status

    @property
    def custom_status(self) -> Any:
        """The custom status, decoded from JSON."""
        return self._custom_status

    @property
    def history(self) -> list[Any] | None:
        """The history events, when asked for."""
        return self._history

    def __bool__(self) -> bool:
        return self._created_time is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DurableOrchestrationStatus) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable extra attributes, as the SDK's

    def __repr__(self) -> str:
        status = self._runtime_status.name if self._runtime_status else None
        return (
            f"DurableOrchestrationStatus(instance_id={self._instance_id!r}, name={self._name!r}, "
            f"runtime_status={status})"
        )

    def to_json(self) -> dict[str, Any]:
        """The azure-functions-durable JSON form: every key present (None when unset), the status by name."""
        return {
            "name": self._name,
            "instanceId": self._instance_id,
            "createdTime": _utc_text(self._created_time),
            "lastUpdatedTime": _utc_text(self._last_updated_time),
            "output": self._output,
            "input": self._input,
            "runtimeStatus": self._runtime_status.name if self._runtime_status is not None else None,
            "customStatus": self._custom_status,
            "history": self._history,
        }

    def to_dict(self) -> dict[str, Any]:
        """Every attribute under its Python name, JSON-serializable (datetimes as ISO text, the status by name)."""
        return {
            "name": self._name,
            "instance_id": self._instance_id,
            "created_time": _utc_text(self._created_time),
            "last_updated_time": _utc_text(self._last_updated_time),
            "input": self._input,
            "output": self._output,
            "runtime_status": self._runtime_status.name if self._runtime_status is not None else None,
            "custom_status": self._custom_status,
            "history": self._history,
            "message": self.message,
        }


class PurgeHistoryResult:
    """What a purge deleted, as azure-functions-durable's ``PurgeHistoryResult``.

    ``PurgeHistoryResult(instancesDeleted=3)`` (the host's JSON key; ``instances_deleted=`` and a positional
    count work too) or ``from_json({"instancesDeleted": 3})``.

    Attributes:
        instances_deleted: the number of instances whose Instances row was deleted.
    """

    def __init__(self, instancesDeleted: int | None = None, **kwargs: Any) -> None:
        count = kwargs.pop("instances_deleted", instancesDeleted)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"instancesDeleted {count!r} is invalid: must be an integer >= 0")
        self._instances_deleted = count
        for key, value in kwargs.items():
            setattr(self, key, value)

    @classmethod
    def from_json(cls, json_obj: dict[str, Any]) -> PurgeHistoryResult:
        """A result from the host's JSON, ``{"instancesDeleted": n}``."""
        return cls(**json_obj)

    @property
    def instances_deleted(self) -> int:
        """The number of instances whose Instances row was deleted."""
        return self._instances_deleted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PurgeHistoryResult) and other.instances_deleted == self._instances_deleted

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PurgeHistoryResult(instances_deleted={self._instances_deleted})"

    def to_json(self) -> dict[str, int]:
        """The host's JSON form."""
        return {"instancesDeleted": self._instances_deleted}

    def to_dict(self) -> dict[str, int]:
        """A JSON-serializable view."""
        return {"instances_deleted": self._instances_deleted}
