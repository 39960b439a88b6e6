"""Throwaway task hubs for tests: a unique name, or a whole hub created for one test and deleted after it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from durable_storage.client import DurableOrchestrationClient
from durable_storage.taskhub import DEFAULT_PARTITION_COUNT, TaskHub

__all__ = ["ThrowawayHub", "throwaway_hub", "unique_hub_name"]


def unique_hub_name(prefix: str = "t") -> str:
    """A task hub name no other test uses: ``prefix`` + 16 hex digits (keep the prefix to letters, <= 29 chars)."""
    return prefix + uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class ThrowawayHub:
    """A task hub that exists for one test: its name, and fresh hub or client objects on it.

    The objects :meth:`task_hub` and :meth:`client` return belong to the caller's event loop; use them as async
    context managers (``async with hub.client() as client: ...``).

    Attributes:
        name: the task hub name.
        partition_count: its partition count.
        connection_string: the account's connection string (never shown in ``repr``).
    """

    name: str
    partition_count: int
    connection_string: str = field(repr=False)

    def task_hub(self) -> TaskHub:
        """A new :class:`~durable_storage.TaskHub` object on this hub."""
        return TaskHub.from_connection_string(
            self.connection_string, task_hub=self.name, partition_count=self.partition_count
        )

    def client(self) -> DurableOrchestrationClient:
        """A new client of this hub (hand it to ``Worker(client, app)`` to run a worker on the same hub)."""
        return DurableOrchestrationClient.from_connection_string(
            self.connection_string, task_hub=self.name, partition_count=self.partition_count
        )


@contextmanager
def throwaway_hub(
    connection_string: str, *, prefix: str = "t", partition_count: int = DEFAULT_PARTITION_COUNT
) -> Iterator[ThrowawayHub]:
    """Create a uniquely named task hub in the account, yield it, and delete it with everything in it.

    Usable from synchronous and asynchronous code alike: creating and deleting run on an event loop of their own
    in a helper thread, so they never touch (or need) the caller's loop.
    """
    hub = ThrowawayHub(unique_hub_name(prefix), partition_count, connection_string)
    _run_aside(_create(hub))
    try:
        yield hub
    finally:
        _run_aside(_delete(hub))


async def _create(hub: ThrowawayHub) -> None:
    async with hub.task_hub() as task_hub:
        await task_hub.create_if_not_exists()


async def _delete(hub: ThrowawayHub) -> None:
    async with hub.task_hub() as task_hub:
        await task_hub.delete()


def _run_aside(work: Coroutine[Any, Any, None]) -> None:
    # asyncio.run in the calling thread would fail inside a running loop (an async test's fixture) and would
    # reset the loop a pytest-asyncio session keeps; a thread of its own has neither problem.
    with ThreadPoolExecutor(1, thread_name_prefix="throwaway-hub") as pool:
        pool.submit(asyncio.run, work).result()
