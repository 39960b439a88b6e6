"""End-to-end fixtures: a running in-process worker on the test's fresh hub (``client``'s), and worker processes.

The in-process worker polls at most every 0.2 s and renews its leases every second, so that each step of an
orchestration starts promptly. Worker processes run ``python -m durable_storage ... worker tests.e2e.apps:app``
from the repository root with short leases and visibilities (so that a crash is recovered in seconds, not
minutes); they die with the test run (PR_SET_PDEATHSIG) and are killed in teardown.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.taskhub import TaskHub
from tests.e2e import apps, sdk_apps
from tests.e2e.http_server import LocalServer
from tests.e2e.support import WorkerProcess, fast_options, start_worker_process, stop_for_good


@pytest.fixture
async def worker(client: DurableOrchestrationClient) -> AsyncIterator[Worker]:
    """An in-process worker running ``tests.e2e.apps.app`` on the client's hub; it drains on teardown."""
    async with Worker(client, apps.app, options=fast_options()) as running:
        yield running


@pytest.fixture
def dequeue_trace(tmp_path: Path) -> Path:
    """The file where this test's worker processes record every dequeue (``worker --dequeue-trace``)."""
    return tmp_path / "dequeues.jsonl"


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """The file where this test's worker processes record every ``ledgered`` activity execution."""
    return tmp_path / "ledger.txt"


@pytest.fixture
def worker_process(
    connection_string: str, hub: TaskHub, tmp_path: Path, dequeue_trace: Path, ledger: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes of ``tests.e2e.apps:app`` on the test's hub; any still running is killed after.

    They record their dequeues in ``dequeue_trace`` and their ``ledgered`` activities in ``ledger``;
    ``start(*options)`` adds worker options to one process's command line (such as ``--crash-at C2:3``);
    ``timings={...}`` replaces the short PROCESS_TIMINGS (``{}``: WorkerOptions' defaults).
    """
    started: list[WorkerProcess] = []
    environment = {apps.LEDGER_VARIABLE: str(ledger)}

    def start(*options: str, timings: dict[str, str] | None = None) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        traced = ("--dequeue-trace", str(dequeue_trace), *options)
        started.append(start_worker_process(connection_string, hub, log, environment, traced, timings=timings))
        return started[-1]

    yield start
    for worker in started:
        stop_for_good(worker)


class FakeCredential:
    """An async token credential that hands out a fixed token and records the scopes asked for (no Azure call)."""

    TOKEN = "fake-token-7c1e9a"

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.TOKEN, int(time.time()) + 3600)


@pytest.fixture
async def http_server() -> AsyncIterator[LocalServer]:
    """A loopback HTTP server for call_http (tests/e2e/http_server.py)."""
    server = LocalServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
async def sdk_worker(client: DurableOrchestrationClient, credential: FakeCredential) -> AsyncIterator[Worker]:
    """An in-process worker of ``tests.e2e.sdk_apps.app`` with a 2-second call_http timeout and a fake credential."""
    options = fast_options(http_timeout=2)
    async with Worker(client, sdk_apps.app, options=options, http_credential=credential) as running:
        yield running
