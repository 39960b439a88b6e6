"""End-to-end fixtures: a running in-process worker on the test's fresh hub (``client``'s), and worker processes.

The in-process worker polls at most every 0.2 s and renews its leases every second, so that each step of an
orchestration starts promptly. Worker processes run ``python -m durable_storage ... worker tests.e2e.apps:app``
from the repository root with short leases and visibilities (so that a crash is recovered in seconds, not
minutes); they die with the test run (PR_SET_PDEATHSIG) and are killed in teardown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.taskhub import TaskHub
from durable_storage.worker._trace import TRACE_VARIABLE
from tests.e2e import apps
from tests.e2e.support import WorkerProcess, fast_options, start_worker_process, stop_for_good


@pytest.fixture
async def worker(client: DurableOrchestrationClient) -> AsyncIterator[Worker]:
    """An in-process worker running ``tests.e2e.apps.app`` on the client's hub; it drains on teardown."""
    async with Worker(client, apps.app, options=fast_options()) as running:
        yield running


@pytest.fixture
def dequeue_trace(tmp_path: Path) -> Path:
    """The file where this test's worker processes record every dequeue (durable_storage.worker._trace)."""
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
    ``start(env={...})`` adds variables to one process's environment (such as ``DS_CRASH_AT``).
    """
    started: list[WorkerProcess] = []
    environment = {TRACE_VARIABLE: str(dequeue_trace), apps.LEDGER_VARIABLE: str(ledger)}

    def start(env: dict[str, str] | None = None) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        started.append(start_worker_process(connection_string, hub, log, {**environment, **(env or {})}))
        return started[-1]

    yield start
    for worker in started:
        stop_for_good(worker)
