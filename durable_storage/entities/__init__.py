"""Durable entities, pure: the entity API user code sees, the wire formats, and the batch that runs operations.

The worker runs each entity batch as an episode of the entity's instance ``@name@key`` (storage-layout of Durable
Functions, entity-messages.md); nothing here touches storage.
"""

from durable_storage.entities._batch import Batch, EntitySend, redelivery_key, run_batch
from durable_storage.entities._context import DurableEntity, DurableEntityContext
from durable_storage.entities._formats import (
    OPERATION,
    RELEASE,
    EntityStatus,
    ReleaseMessage,
    RequestMessage,
    ResponseMessage,
    SchedulerState,
    scheduled_name,
    scheduled_time_of,
)

__all__ = [
    "OPERATION",
    "RELEASE",
    "Batch",
    "DurableEntity",
    "DurableEntityContext",
    "EntitySend",
    "EntityStatus",
    "ReleaseMessage",
    "RequestMessage",
    "ResponseMessage",
    "SchedulerState",
    "redelivery_key",
    "run_batch",
    "scheduled_name",
    "scheduled_time_of",
]
