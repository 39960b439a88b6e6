"""Helpers of the web tests: a served task hub (client, worker, server, HTTP session) and status waits."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.testing import wait_until
from durable_storage.web import ManagementServer
from tests.e2e.support import fast_options
from tests.web.apps import app

API = "/runtime/webhooks/durabletask"
# The members of the Durable Functions HTTP API's JSON, in the order the Functions host writes them.
MANAGEMENT_URL_MEMBERS = [
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
]
STATUS_MEMBERS = [
    "name",
    "instanceId",
    "runtimeStatus",
    "input",
    "customStatus",
    "output",
    "createdTime",
    "lastUpdatedTime",
]


@dataclass(frozen=True)
class Served:
    """A task hub behind a running ``ManagementServer``, with a worker, and an HTTP session on the server."""

    client: DurableOrchestrationClient
    server: ManagementServer
    http: aiohttp.ClientSession

    async def status_of(self, instance_id: str) -> dict[str, Any]:
        """The management API's status JSON of an instance (the instance must exist)."""
        async with self.http.get(f"{API}/instances/{quote(instance_id, safe='')}") as response:
            assert response.status in (200, 202), await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def reaches(self, instance_id: str, status: str, *, timeout: float = 20) -> dict[str, Any]:
        """Wait until the management API reports ``status`` for the instance; returns that status JSON."""

        async def there() -> dict[str, Any] | None:
            body = await self.status_of(instance_id)
            return body if body["runtimeStatus"] == status else None

        found: dict[str, Any] | None = await wait_until(
            there, timeout=timeout, interval=0.1, what=f"{instance_id} to be {status}"
        )
        assert found is not None
        return found


@contextlib.asynccontextmanager
async def serving(
    client: DurableOrchestrationClient, *, token: str | None = None, worker: bool = True
) -> AsyncIterator[Served]:
    """Serve ``client``'s hub on a free loopback port (with a worker of ``tests.web.apps.app`` unless not wanted)."""
    async with contextlib.AsyncExitStack() as stack:
        if worker:
            await stack.enter_async_context(Worker(client, app, options=fast_options()))
        server = await stack.enter_async_context(ManagementServer(client, port=0, token=token))
        http = await stack.enter_async_context(aiohttp.ClientSession(server.url))
        yield Served(client, server, http)


def unique(prefix: str) -> str:
    """An instance ID prefix no other test uses: ``prefix-xxxxxxxx-``."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}-"
