"""Entity values as users see them: entity IDs, an entity's state, listing and cleaning results; pure.

Public through :mod:`durable_storage.models` (and the package's top level).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "CleanEntityStorageResult",
    "EntityId",
    "EntityMetadata",
    "EntityStateResponse",
    "entity_id_of",
    "is_entity_id",
]


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
