"""A pytest plugin for integration tests of your own app: a private Azurite per test run, a fresh task hub per test.

Enable it in your top-level ``conftest.py``::

    pytest_plugins = ["durable_storage.testing.pytest_plugin"]

Fixtures:

``azurite_connection_string`` (session)
    The connection string of an Azurite started for the test run (in memory, telemetry off, loopback only, free
    ports; found as :class:`~durable_storage.testing.Azurite` finds it: ``$DURABLE_STORAGE_AZURITE``, the
    project's ``node_modules`` or ``azurite`` on PATH), stopped at the end. When the environment variable
    ``DURABLE_STORAGE_TEST_CONNECTION`` holds a connection string, that account is used instead and nothing is
    started (point it at a real storage account to run the same tests there).

``task_hub``
    A :class:`~durable_storage.testing.ThrowawayHub`: a task hub with a unique name, created before the test and
    deleted after it. Works in sync and async tests, with or without pytest-asyncio::

        async def test_hello(task_hub):
            async with task_hub.client() as client, Worker(client, app):
                instance_id = await client.start_new("hello")
                status = await client.wait_for_completion(instance_id, timeout=30)
            assert status.output == "Hello Tokyo!"
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from durable_storage.testing.azurite import CONNECTION_VARIABLE, Azurite
from durable_storage.testing.hubs import ThrowawayHub, throwaway_hub

__all__ = ["CONNECTION_VARIABLE", "azurite_connection_string", "task_hub"]


@pytest.fixture(scope="session")
def azurite_connection_string() -> Iterator[str]:
    """The connection string of the account under test: a private Azurite, or ``$DURABLE_STORAGE_TEST_CONNECTION``."""
    given = os.environ.get(CONNECTION_VARIABLE, "").strip()
    if given:
        yield given
        return
    with Azurite() as azurite:
        yield azurite.connection_string


@pytest.fixture
def task_hub(azurite_connection_string: str) -> Iterator[ThrowawayHub]:
    """A task hub created for this test and deleted after it."""
    with throwaway_hub(azurite_connection_string) as hub:
        yield hub
