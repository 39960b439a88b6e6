"""The worker: owns partitions of a task hub, dispatches their orchestrations and the hub's activities.

``async with Worker(client, app):`` starts everything and, on exit, drains: it stops dequeuing, lets running
episodes and activities finish, and releases its partitions so another worker can take them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from durable_storage._closing import AsyncClosing
from durable_storage._settings import check_instance
from durable_storage.app import App
from durable_storage.taskhub import TaskHub
from durable_storage.worker._activity import ActivityDispatcher
from durable_storage.worker._dispatch import OrchestrationDispatcher
from durable_storage.worker._hooks import NO_HOOKS, WorkerHooks
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._partitions import PartitionManager

__all__ = ["Worker"]

_log = logging.getLogger(__name__)


def _task_hub(client: Any) -> TaskHub:
    hub = client if isinstance(client, TaskHub) else getattr(client, "task_hub", None)
    if not isinstance(hub, TaskHub):
        raise TypeError(f"Worker needs a DurableOrchestrationClient (or a TaskHub), not {type(client).__name__}")
    return hub


class Worker(AsyncClosing):
    """Runs orchestrations and activities of ``app`` on the task hub of ``client``.

    Args:
        client: a ``DurableOrchestrationClient`` (or a ``TaskHub``); the worker uses its connection and hub.
        app: the registry of orchestrators, activities and entities this worker runs.
        options: concurrency, polling and lease settings.
        http_credential: the async token credential whose tokens ``context.call_http`` sends for a
            ``ManagedIdentityTokenSource``; by default a ``DefaultAzureCredential``, made at the first such request
            and closed with the worker (a given credential stays the caller's to close).
        hooks: test seams: a crash point hook and a dequeue trace (none by default).

    Raises:
        ConfigurationError: ``http_credential`` has no async ``get_token``, or ``hooks`` is no ``WorkerHooks``.
    """

    def __init__(
        self,
        client: Any,
        app: App,
        *,
        options: WorkerOptions | None = None,
        http_credential: object = None,
        hooks: WorkerHooks | None = None,
    ) -> None:
        self.hub = _task_hub(client)
        self.app = app
        self.options = check_instance(options, "options", WorkerOptions, optional=True) or WorkerOptions()
        self.hooks = check_instance(hooks, "hooks", WorkerHooks, optional=True) or NO_HOOKS
        self._stopping = asyncio.Event()
        self.activities = ActivityDispatcher(
            self.hub, app, self.options, on_sent=self._sent, http_credential=http_credential, hooks=self.hooks
        )
        self.orchestrations = OrchestrationDispatcher(
            self.hub, app, self.options, on_sent=self._sent, run_activity=self.activities.run_local, hooks=self.hooks
        )
        self.activities.hand_results_to(self.orchestrations)
        self.partitions = PartitionManager(self.hub, self.options, self.orchestrations)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def worker_id(self) -> str:
        """This worker's identity in the Partitions table."""
        return self.options.worker_id

    def _sent(self, queue: str) -> None:
        # A message we just sent to a queue we poll: end its idle wait (storage-layout.md §11 "reset on send").
        if queue == self.hub.names.work_item_queue:
            self.activities.backoff.wake()
        elif queue in self.orchestrations.backoffs:
            self.orchestrations.backoffs[queue].wake()

    async def start(self) -> None:
        """Create the hub if needed and start leasing partitions and running activities. Idempotent."""
        if self._tasks:
            return
        await self.hub.create_if_not_exists()
        _log.info("worker %s starting on task hub %s", self.worker_id, self.hub.name)
        self._tasks = [
            asyncio.create_task(self.partitions.run(self._stopping), name="partitions"),
            asyncio.create_task(self.activities.run(self._stopping), name="activities"),
        ]

    async def run(self) -> None:
        """Start, then run until cancelled (SIGINT/SIGTERM in the CLI); always drains and releases on the way out."""
        await self.start()
        try:
            # Shielded: cancelling run() must stop the worker through close(), which lets the partition manager
            # drain and release; cancelled with it, the manager would leave its leases to expire and the running
            # activities would be abandoned mid-way.
            await asyncio.shield(asyncio.gather(*self._tasks))
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop gracefully: no new work, running episodes and activities finish, partitions are released."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        # The partition manager drains each owned queue while it keeps the leases renewed, then releases them.
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.orchestrations.drain()  # anything left after a drain timeout
        await self.orchestrations.close()
        await self.activities.close()
        _log.info("worker %s stopped", self.worker_id)

    async def __aenter__(self) -> Worker:
        await self.start()
        return self
