"""Test fixtures: one real Azurite per test session, a fresh task hub per test.

``--azurite CONNECTION_STRING`` (or ``DURABLE_STORAGE_TEST_CONNECTION``) runs the suite against an account that is
already there, such as a real storage account, instead of starting Azurite. A missing Azurite fails the tests;
nothing is ever skipped for it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing.azurite import CONNECTION_VARIABLE
from tests.hubs import fresh_hub


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--azurite",
        default=os.environ.get(CONNECTION_VARIABLE),
        metavar="CONNECTION_STRING",
        help=f"run against this storage account instead of starting Azurite (also ${CONNECTION_VARIABLE})",
    )


# The plugin we offer users: its session Azurite is ours too (``azurite_connection_string``).
pytest_plugins = ["durable_storage.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def connection_string(request: pytest.FixtureRequest) -> str:
    """The connection string of the account under test: a private Azurite unless --azurite names one."""
    given: str | None = request.config.getoption("--azurite")
    if given:
        return given
    started: str = request.getfixturevalue("azurite_connection_string")
    return started


@pytest.fixture
async def hub(connection_string: str) -> AsyncIterator[TaskHub]:
    """A freshly created task hub of 4 partitions, deleted after the test."""
    async with fresh_hub(connection_string, partition_count=4) as task_hub:
        yield task_hub


@pytest.fixture
async def client(connection_string: str, hub: TaskHub) -> AsyncIterator[DurableOrchestrationClient]:
    """A client of the same account and hub as ``hub`` (client tests also use ``hub`` to stand in for a worker)."""
    async with DurableOrchestrationClient.from_connection_string(
        connection_string, task_hub=hub.name, partition_count=hub.partition_count, retry=FAST_RETRY
    ) as client:
        yield client
