"""Fixtures of the command-line tests: run ``durable-storage`` in-process on the test's hub, and a worker.

The command runs in a thread, as it would in its own process: it starts its own event loop (``asyncio.run``), while
the test's loop keeps the in-process worker going.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.__main__ import main
from durable_storage.taskhub import TaskHub
from tests.e2e import apps
from tests.e2e.support import fast_options


@dataclass(frozen=True)
class Ran:
    """What a user sees of one command: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Awaitable[Ran]]


@pytest.fixture
def cli(connection_string: str, hub: TaskHub, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``await cli("status", "abc")`` runs ``durable-storage --connection ... --task-hub <hub> status abc``."""

    async def invoke(*args: str, task_hub: str = hub.name) -> Ran:
        capsys.readouterr()
        code = await asyncio.to_thread(main, ["--connection", connection_string, "--task-hub", task_hub, *args])
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return invoke


@pytest.fixture
async def worker(client: DurableOrchestrationClient) -> AsyncIterator[Worker]:
    """An in-process worker running ``tests.e2e.apps.app`` on the test's hub."""
    async with Worker(client, apps.app, options=fast_options()) as running:
        yield running
