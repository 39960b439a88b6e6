"""End-to-end fixtures: a running in-process worker on the test's fresh hub (``client``'s), and worker processes.

The in-process worker polls at most every 0.2 s and renews its leases every second, so that each step of an
orchestration starts promptly. Worker processes run ``python -m durable_storage ... worker tests.e2e.apps:app``
from the repository root with short leases and visibilities (so that a crash is recovered in seconds, not
minutes); they die with the test run (PR_SET_PDEATHSIG) and are killed in teardown.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.taskhub import TaskHub
from durable_storage.worker._trace import TRACE_VARIABLE
from tests.e2e import apps
from tests.e2e.support import PROCESS_TIMINGS, REPO_ROOT, WorkerProcess, die_with_parent, fast_options


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
    environment = {**os.environ, TRACE_VARIABLE: str(dequeue_trace), apps.LEDGER_VARIABLE: str(ledger)}

    def start(env: dict[str, str] | None = None) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        command = [
            sys.executable,
            *("-m", "durable_storage", "--connection", connection_string, "--task-hub", hub.name),
            *("--partition-count", str(hub.partition_count), "worker", "tests.e2e.apps:app"),
            *(item for pair in PROCESS_TIMINGS.items() for item in pair),
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**environment, **(env or {})},
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        started.append(WorkerProcess(process, log))
        return started[-1]

    yield start
    for worker in started:
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()
        worker.process.wait(10)
