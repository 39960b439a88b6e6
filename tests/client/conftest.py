"""A client on the test's fresh task hub (the ``hub`` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage._storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub


@pytest.fixture
async def client(connection_string: str, hub: TaskHub) -> AsyncIterator[DurableOrchestrationClient]:
    """A client of the same account and hub as ``hub``, which tests use to look at (and stand in for) a worker."""
    async with DurableOrchestrationClient.from_connection_string(
        connection_string, task_hub=hub.name, partition_count=hub.partition_count, retry=FAST_RETRY
    ) as client:
        yield client
