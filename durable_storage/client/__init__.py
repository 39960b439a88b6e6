"""The client of a task hub: start, query, signal, rewind and purge orchestrations, and reach entities (api.md §3)."""

from durable_storage.client._client import DurableOrchestrationClient
from durable_storage.client._pages import EntityPage, EntityPager, InstancePage, InstancePager

__all__ = ["DurableOrchestrationClient", "EntityPage", "EntityPager", "InstancePage", "InstancePager"]
