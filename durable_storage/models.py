"""User-facing values: runtime statuses, status reports, purge results, retry options, entity IDs; pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from durable_storage._http import DurableHttpRequest, DurableHttpResponse, ManagedIdentityTokenSource, TokenSource

__all__ = [
    "CleanEntityStorageResult",
    "DurableHttpRequest",
    "DurableHttpResponse",
    "DurableOrchestrationStatus",
    "EntityId",
    "EntityMetadata",
    "EntityStateResponse",
    "ManagedIdentityTokenSource",
    "OrchestrationRuntimeStatus",
    "PurgeHistoryResult",
    "RetryOptions",
    "TokenSource",
]


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


class RetryOptions:
    """How an activity or sub-orchestration is retried, as in azure-functions-durable.

    After attempt ``k`` (0-based) fails, the next one starts ``first_retry_interval * backoff_coefficient**k``
    later (capped at ``max_retry_interval``), until ``max_number_of_attempts`` attempts have failed or
    ``retry_timeout`` has passed since the first attempt (DTFx ``RetryInterceptor``).

    Args:
        first_retry_interval_in_milliseconds: the delay before the first retry; must be > 0.
        max_number_of_attempts: attempts in all, including the first; must be >= 1.
        backoff_coefficient: growth of the delay per attempt; >= 1 (keyword-only extension).
        max_retry_interval_in_milliseconds: the cap on one delay (keyword-only extension).
        retry_timeout_in_milliseconds: no retry starts after this long since the first attempt (extension).
    """

    def __init__(
        self,
        first_retry_interval_in_milliseconds: int,
        max_number_of_attempts: int,
        *,
        backoff_coefficient: float = 1.0,
        max_retry_interval_in_milliseconds: int | None = None,
        retry_timeout_in_milliseconds: int | None = None,
    ) -> None:
        if not _positive_number(first_retry_interval_in_milliseconds):
            raise ValueError(
                f"first_retry_interval_in_milliseconds {first_retry_interval_in_milliseconds!r} is invalid: "
                "must be a number greater than 0"
            )
        if isinstance(max_number_of_attempts, bool) or not isinstance(max_number_of_attempts, int):
            raise ValueError(f"max_number_of_attempts {max_number_of_attempts!r} is invalid: must be an integer >= 1")
        if max_number_of_attempts < 1:
            raise ValueError(f"max_number_of_attempts {max_number_of_attempts!r} is invalid: must be an integer >= 1")
        if not _positive_number(backoff_coefficient) or backoff_coefficient < 1:
            raise ValueError(f"backoff_coefficient {backoff_coefficient!r} is invalid: must be a number >= 1")
        for name, value in (
            ("max_retry_interval_in_milliseconds", max_retry_interval_in_milliseconds),
            ("retry_timeout_in_milliseconds", retry_timeout_in_milliseconds),
        ):
            if value is not None and not _positive_number(value):
                raise ValueError(f"{name} {value!r} is invalid: must be a number greater than 0, or None")
        self._first_retry_interval_in_milliseconds = first_retry_interval_in_milliseconds
        self._max_number_of_attempts = max_number_of_attempts
        self.backoff_coefficient = backoff_coefficient
        self.max_retry_interval_in_milliseconds = max_retry_interval_in_milliseconds
        self.retry_timeout_in_milliseconds = retry_timeout_in_milliseconds

    @property
    def first_retry_interval_in_milliseconds(self) -> int:
        """The delay before the first retry."""
        return self._first_retry_interval_in_milliseconds

    @property
    def max_number_of_attempts(self) -> int:
        """Attempts in all, the first one included."""
        return self._max_number_of_attempts

    def delay_in_milliseconds(self, attempt: int) -> float:
        """The delay after failed attempt ``attempt`` (0-based) before the next one."""
        delay = float(self.first_retry_interval_in_milliseconds) * self.backoff_coefficient**attempt
        cap = self.max_retry_interval_in_milliseconds
        return min(delay, float(cap)) if cap is not None else delay

    def to_json(self) -> dict[str, int]:
        """The azure-functions-durable JSON form."""
        return {
            "firstRetryIntervalInMilliseconds": self.first_retry_interval_in_milliseconds,
            "maxNumberOfAttempts": self.max_number_of_attempts,
        }

    def __repr__(self) -> str:
        return (
            f"RetryOptions({self.first_retry_interval_in_milliseconds}, {self.max_number_of_attempts}, "
            f"backoff_coefficient={self.backoff_coefficient})"
        )


def retry_options_of(value: object) -> RetryOptions:
    """``value`` as our RetryOptions: ours, or azure-functions-durable's (read through its two properties).

    The SDK's object has only the first interval and the attempts; the Functions host builds .NET RetryOptions
    from those two, with a backoff coefficient of 1, and so do we.

    Raises:
        ValueError: anything else, or values RetryOptions refuses; the message names them.
    """
    if isinstance(value, RetryOptions):
        return value
    first = getattr(value, "first_retry_interval_in_milliseconds", None)
    attempts = getattr(value, "max_number_of_attempts", None)
    if first is None or attempts is None:
        raise ValueError(
            f"retry_options of type {type(value).__name__} is invalid: must be a RetryOptions (durable_storage's "
            "or azure.durable_functions')"
        )
    return RetryOptions(first, attempts)


def _positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


class EntityId:
    """The identity of a durable entity: its name (case-insensitive, stored lower-case) and key.

    ``str(entity_id)`` is the instance ID that holds it in the task hub, ``@{name.lower()}@{key}``.

    Raises:
        ValueError: an empty name or key.
    """

    def __init__(self, name: str, key: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"entity name {name!r} is invalid: must be a non-empty string")
        if not isinstance(key, str) or not key:
            raise ValueError(f"entity key {key!r} is invalid: must be a non-empty string")
        self.name = name
        self.key = key

    @staticmethod
    def get_scheduler_id(entity_id: EntityId) -> str:
        """The instance ID of ``entity_id``: ``@{name.lower()}@{key}``."""
        return f"@{entity_id.name.lower()}@{entity_id.key}"

    @staticmethod
    def get_entity_id(scheduler_id: str) -> EntityId:
        """The entity of an instance ID ``@name@key``.

        Raises:
            ValueError: not of the form ``@name@key``.
        """
        parts = scheduler_id.split("@")
        if len(parts) != 3 or parts[0] != "" or not parts[1] or not parts[2]:
            raise ValueError(f"instance ID {scheduler_id!r} is not an entity ID: must be '@name@key'")
        return EntityId(parts[1], parts[2])

    def __str__(self) -> str:
        return EntityId.get_scheduler_id(self)

    def __repr__(self) -> str:
        return f"EntityId({self.name!r}, {self.key!r})"

    def __eq__(self, other: object) -> bool:
        # azure-functions-durable's EntityId names the same entity when its scheduler ID is ours.
        return is_entity_id(other) and str(self) == EntityId.get_scheduler_id(other)  # type: ignore[arg-type]

    def __hash__(self) -> int:
        return hash(str(self))


def is_entity_id(value: object) -> bool:
    """True for our EntityId and for azure-functions-durable's (an object with a str ``name`` and ``key``)."""
    return isinstance(value, EntityId) or (
        isinstance(getattr(value, "name", None), str) and isinstance(getattr(value, "key", None), str)
    )


def entity_id_of(value: object, what: str = "entity") -> EntityId:
    """``value`` as our EntityId: ours, or azure-functions-durable's (any object with a str ``name`` and ``key``).

    Raises:
        ValueError: anything else, or an empty name or key; the message names the value.
    """
    if isinstance(value, EntityId):
        return value
    if not is_entity_id(value):
        raise ValueError(
            f"{what} {value!r} is invalid: must be an EntityId(name, key) (durable_storage's or "
            "azure.durable_functions')"
        )
    return EntityId(value.name, value.key)  # type: ignore[attr-defined]  # checked by is_entity_id


def _utc_text(value: datetime | None) -> str | None:
    # azure-functions-durable's add_datetime_attrib format: microseconds and a literal Z, in UTC.
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, kw_only=True)
class DurableOrchestrationStatus:
    """The status of one orchestration instance, as azure-functions-durable's ``DurableOrchestrationStatus``.

    The object is **falsy** when the instance was not found (it then has only ``instance_id`` and ``message``),
    so ``if not await client.get_status(id):`` works as in Durable Functions.

    Attributes:
        name: the orchestrator function name.
        instance_id: the instance ID.
        created_time: when the current execution was created (aware, UTC); None when not found.
        last_updated_time: when the instance last checkpointed (aware, UTC).
        input_: the input of the latest execution, decoded from JSON (only when asked for: ``show_input``).
        output: the result decoded from JSON when Completed; the failure message (``"{ErrorType}: {message}"``)
            when Failed; the reason when Terminated.
        runtime_status: the runtime status, or None when the stored name is unknown.
        custom_status: the value the orchestrator set with ``set_custom_status``, decoded from JSON.
        history: the history events in Durable Functions' ``showHistory`` form, when asked for.
        message: why there is no status (the instance was not found); None otherwise.
    """

    name: str | None = None
    instance_id: str | None = None
    created_time: datetime | None = None
    last_updated_time: datetime | None = None
    input_: Any = None
    output: Any = None
    runtime_status: OrchestrationRuntimeStatus | None = None
    custom_status: Any = None
    history: list[dict[str, Any]] | None = None
    message: str | None = None

    def __bool__(self) -> bool:
        return self.created_time is not None

    def to_json(self) -> dict[str, Any]:
        """The azure-functions-durable JSON form: camelCase keys, unset values left out, status by name."""
        values: dict[str, Any] = {
            "name": self.name,
            "instanceId": self.instance_id,
            "createdTime": _utc_text(self.created_time),
            "lastUpdatedTime": _utc_text(self.last_updated_time),
            "output": self.output,
            "input": self.input_,
            "runtimeStatus": self.runtime_status.name if self.runtime_status is not None else None,
            "customStatus": self.custom_status,
            "history": self.history,
        }
        return {key: value for key, value in values.items() if value is not None}

    def to_dict(self) -> dict[str, Any]:
        """Every attribute under its Python name, JSON-serializable (datetimes as ISO text, the status by name)."""
        return {
            "name": self.name,
            "instance_id": self.instance_id,
            "created_time": _utc_text(self.created_time),
            "last_updated_time": _utc_text(self.last_updated_time),
            "input": self.input_,
            "output": self.output,
            "runtime_status": self.runtime_status.name if self.runtime_status is not None else None,
            "custom_status": self.custom_status,
            "history": self.history,
            "message": self.message,
        }


@dataclass(frozen=True)
class PurgeHistoryResult:
    """What a purge deleted, as azure-functions-durable's ``PurgeHistoryResult``.

    Attributes:
        instances_deleted: the number of instances whose Instances row was deleted.
    """

    instances_deleted: int

    def to_dict(self) -> dict[str, int]:
        """A JSON-serializable view."""
        return {"instances_deleted": self.instances_deleted}


@dataclass(frozen=True)
class EntityStateResponse:
    """An entity's state as a client reads it, as azure-functions-durable's ``EntityStateResponse``.

    Attributes:
        entity_exists: False for an entity that never ran an operation, or whose state was deleted.
        entity_state: the state (decoded JSON, custom classes through ``from_json``), None when it does not exist.
    """

    entity_exists: bool
    entity_state: Any = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view (the state as it is)."""
        return {"entity_exists": self.entity_exists, "entity_state": self.entity_state}


@dataclass(frozen=True)
class EntityMetadata:
    """One entity in ``list_entities``.

    Attributes:
        entity_id: the entity.
        exists: whether it has state.
        state: its state (decoded), when listed with ``include_state`` and it exists.
        last_modified_time: when its last batch of operations ran.
        locked_by: the orchestration holding its lock, or None.
        backlog_queue_size: requests waiting for the lock to be released.
    """

    entity_id: EntityId
    exists: bool
    state: Any
    last_modified_time: datetime | None
    locked_by: str | None
    backlog_queue_size: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view."""
        modified = self.last_modified_time.isoformat() if self.last_modified_time else None
        return {
            "entity_id": str(self.entity_id),
            "name": self.entity_id.name,
            "key": self.entity_id.key,
            "exists": self.exists,
            "state": self.state,
            "last_modified_time": modified,
            "locked_by": self.locked_by,
            "backlog_queue_size": self.backlog_queue_size,
        }


@dataclass(frozen=True)
class CleanEntityStorageResult:
    """What ``clean_entity_storage`` did (the .NET ``CleanEntityStorageResult``).

    Attributes:
        num_removed_empty_entities: entities without state, lock or waiting requests whose storage was removed.
        num_orphaned_locks_released: locks held by orchestrations that no longer run, released.
    """

    num_removed_empty_entities: int
    num_orphaned_locks_released: int

    def to_dict(self) -> dict[str, int]:
        """A JSON-serializable view."""
        return {
            "num_removed_empty_entities": self.num_removed_empty_entities,
            "num_orphaned_locks_released": self.num_orphaned_locks_released,
        }
