"""User-facing values: runtime statuses, status reports, purge results, retry options, entity IDs, quarantined
messages; pure."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from durable_storage._durable_http import (
    DurableHttpRequest,
    DurableHttpResponse,
    ManagedIdentityTokenSource,
    TokenSource,
)

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
    "QuarantinedMessage",
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
    # Finite too: an infinite retry interval would schedule a timer no datetime can hold.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf


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

    @staticmethod
    def get_entity_id_url_path(entity_id: EntityId) -> str:
        """The entity's path in the Durable Functions HTTP API, ``entities/{name}/{key}``."""
        return f"entities/{entity_id.name}/{entity_id.key}"

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


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedMessage:
    """A message in quarantine.

    Attributes:
        queue: the queue it was taken from (and is re-queued to).
        message_id: its queue message ID.
        reason: why it was quarantined.
        instance_id: the orchestration or entity it was for, when it could be read.
        dequeue_count: how often it had been received.
        inserted_on: when it was first enqueued.
        quarantined_at: when it was quarantined.
        body: the raw queue message text.
    """

    queue: str
    message_id: str
    reason: str
    instance_id: str | None
    dequeue_count: int
    inserted_on: datetime | None
    quarantined_at: datetime | None
    body: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-serializable view (times in ISO 8601)."""
        return {
            "queue": self.queue,
            "message_id": self.message_id,
            "reason": self.reason,
            "instance_id": self.instance_id,
            "dequeue_count": self.dequeue_count,
            "inserted_on": self.inserted_on.isoformat() if self.inserted_on else None,
            "quarantined_at": self.quarantined_at.isoformat() if self.quarantined_at else None,
            "body_length": len(self.body),
        }


# What azure-functions-durable's `models` package also exports, so that `from ...models import X` ports. Loaded on
# first use: these live in the client, the replay engine and the entity package, which import this module.
_ELSEWHERE = {
    "DurableOrchestrationBindings": "durable_storage._host_payloads",
    "OrchestratorState": "durable_storage._host_payloads",
    "DurableOrchestrationClient": "durable_storage.client",
    "DurableOrchestrationContext": "durable_storage.replay",
    "DurableEntityContext": "durable_storage.entities",
    "TaskBase": "durable_storage.replay._tasks",
}


def __getattr__(name: str) -> Any:
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
