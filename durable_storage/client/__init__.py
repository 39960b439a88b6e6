"""The client of a task hub: start, query, signal, rewind and purge orchestrations (api.md §3)."""

from durable_storage.client._client import DurableOrchestrationClient
from durable_storage.client._pages import InstancePage, InstancePager

__all__ = ["DurableOrchestrationClient", "InstancePage", "InstancePager"]
