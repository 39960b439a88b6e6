"""A fresh task hub on the account under test: what the ``hub`` fixture and the tests that need another one use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import DEFAULT_PARTITION_COUNT, TaskHub
from durable_storage.testing import unique_hub_name


@contextlib.asynccontextmanager
async def fresh_hub(
    connection_string: str, *, partition_count: int = DEFAULT_PARTITION_COUNT, prefix: str = "t"
) -> AsyncIterator[TaskHub]:
    """A newly created task hub with a unique name and fast retries, deleted on the way out."""
    hub = TaskHub.from_connection_string(
        connection_string, task_hub=unique_hub_name(prefix), partition_count=partition_count, retry=FAST_RETRY
    )
    async with hub:
        await hub.create_if_not_exists()
        try:
            yield hub
        finally:
            await hub.delete()
