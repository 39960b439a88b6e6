"""What every part of the client shares: its task hub, made sure of once, and the reads and checks all of them use.

The client's operations are grouped by concept into mixins over this core (status and queries, instance
operations, purge, entities, quarantine, HTTP management); ``DurableOrchestrationClient`` combines them.
"""

from __future__ import annotations

import asyncio

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.client._validation import check_target
from durable_storage.errors import InstanceNotFoundError
from durable_storage.taskhub import TaskHub

__all__ = ["ClientCore"]


class ClientCore:
    """The hub of one client, the management base URL its HTTP payloads use, and the setting it was read from."""

    def __init__(self, hub: TaskHub, management_base_url: str, connection_name: str | None) -> None:
        self._hub = hub
        self._connection_name = connection_name  # the setting a from_env client was read from
        self._management_base_url = management_base_url
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._closed = False

    def _check_target(self, task_hub_name: object, connection_name: object) -> None:
        check_target(self._hub.name, self._connection_name, task_hub_name, connection_name)

    async def _ensure_hub(self) -> TaskHub:
        if not self._ready:
            async with self._ready_lock:
                if not self._ready:
                    await self._hub.create_if_not_exists()
                    self._ready = True
        return self._hub

    async def _record(self, instance_id: str, *, payloads: bool = False) -> InstanceRecord:
        hub = await self._ensure_hub()
        record = await hub.instances.read(instance_id, fetch_payloads=payloads)
        if record is None:
            raise InstanceNotFoundError(
                f"instance {instance_id!r} was not found in task hub {hub.name!r}", instance_id=instance_id
            )
        return record
