"""Web fixtures: ``served``, one task hub per test module behind a running server with a worker.

Starting a hub, a worker and a server takes a few seconds, so a test module shares them; its tests keep apart by
giving their instances IDs with a prefix of their own (``support.unique``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage.retry import FAST_RETRY
from durable_storage.testing import unique_hub_name
from tests.web.support import Served, serving


@pytest.fixture(scope="module")
async def served(connection_string: str) -> AsyncIterator[Served]:
    """A fresh hub with a worker of ``tests.web.apps.app`` and a token-less server on a free port."""
    client = DurableOrchestrationClient.from_connection_string(
        connection_string, task_hub=unique_hub_name(), partition_count=4, retry=FAST_RETRY
    )
    async with client:
        await client.task_hub.create_if_not_exists()
        try:
            async with serving(client) as running:
                yield running
        finally:
            await client.task_hub.delete()
