"""Helpers of the end-to-end tests: worker options, history summaries, status waits, and worker processes."""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, WorkerOptions
from durable_storage.testing import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
_PR_SET_PDEATHSIG = 1
# Crash-recovery timings of a worker process: a dead worker's leases expire and its messages reappear in seconds.
PROCESS_TIMINGS = {
    "--lease-interval": "4",
    "--lease-renew-interval": "1",
    "--control-queue-visibility": "5",
    "--work-item-visibility": "5",
}

History = Sequence[dict[str, Any]]


def fast_options(**changes: Any) -> WorkerOptions:
    """Worker options for tests: short polling and lease intervals (the defaults suit production)."""
    return WorkerOptions(**{"max_polling_interval": 0.2, "lease_renew_interval": 1, "lease_interval": 5, **changes})


def events(history: History, event_type: str) -> list[dict[str, Any]]:
    """The events of one type in a history from ``client.get_history``, in order."""
    return [event for event in history if event["EventType"] == event_type]


def names(history: History, event_type: str = "TaskScheduled") -> list[str]:
    """The ``Name`` of each event of one type: by default, the activities scheduled, in order."""
    return [event["Name"] for event in events(history, event_type)]


async def reaches(client: DurableOrchestrationClient, instance_id: str, status: OrchestrationRuntimeStatus) -> None:
    """Wait until the instance's status is ``status``."""

    async def there() -> bool:
        return (await client.get_status(instance_id)).runtime_status is status

    await wait_until(there, timeout=20, what=f"{instance_id} to be {status.name}")


def die_with_parent() -> None:
    """In a child process before exec: a test run that dies (even by SIGKILL) takes the child with it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class WorkerProcess:
    """A ``python -m durable_storage worker`` process; its stdout and stderr go to ``log``."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def running(self, timeout: float = 30) -> str:
        """Wait until the worker says it runs; returns its worker ID."""

        async def announced() -> str | None:
            assert self.process.poll() is None, f"the worker process exited early:\n{self.output}"
            for line in self.output.splitlines():
                if line.startswith("worker ") and " running on task hub " in line:
                    return line.split()[1]
            return None

        return await wait_until(announced, timeout=timeout, what="the worker process to start")

    async def exited(self, timeout: float = 30) -> int:
        """Wait for the process to exit; returns its exit code."""

        async def has_exited() -> bool:
            return self.process.poll() is not None

        await wait_until(has_exited, timeout=timeout, what="the worker process to exit")
        return self.process.returncode
