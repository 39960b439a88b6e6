"""Worker processes started at the same instant on a new task hub all run (issue 17, item 4).

The hub's partition count is the number of rows in its Partitions table, so a creator must never count a
half-written set: one that did read "2 partitions, not 4" and exited. Each round releases five fresh worker
processes at once on a hub nobody has created yet.

The processes are forked from one launcher that has imported everything already (five imports per round would take
most of the test's time on a small machine); each waits on a FIFO, and opening it for writing releases them all.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name, wait_until
from tests.e2e.support import PROCESS_TIMINGS, REPO_ROOT, die_with_parent

WORKERS = 5
ROUNDS = 5
LAUNCHER = """
import ctypes, os, signal, sys
import durable_storage.cli.worker, durable_storage.worker, tests.e2e.apps  # the slow part, once for every worker
from durable_storage.__main__ import main

fifo, count, logs, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]


def worker(n):
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the launcher
    log = os.open(os.path.join(logs, f"worker-{n}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    code = 1
    try:
        print("waiting for the release", flush=True)
        open(fifo, "rb").close()  # blocks until the test opens the FIFO for writing
        code = main(args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


for n in range(count):
    if os.fork() == 0:
        worker(n)
for _ in range(count):
    pid, status = os.wait()
    print(f"a worker exited: {os.waitstatus_to_exitcode(status)}", flush=True)
"""


@contextlib.contextmanager
def launched(connection_string: str, hub: str, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The launcher of WORKERS worker processes on ``hub``, waiting on ``workdir/release``; killed at the end."""
    fifo = workdir / "release"
    os.mkfifo(fifo)
    command = [
        *(sys.executable, "-c", LAUNCHER, str(fifo), str(WORKERS), str(workdir)),
        *("--connection", connection_string, "--task-hub", hub, "worker", "tests.e2e.apps:app"),
        *(item for pair in PROCESS_TIMINGS.items() for item in pair),
    ]
    with (workdir / "launcher.log").open("wb") as log:
        launcher = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
    try:
        yield launcher
    finally:
        launcher.kill()  # its workers die with it (PR_SET_PDEATHSIG)
        launcher.wait(10)


def logs(workdir: Path) -> dict[str, str]:
    return {path.name: path.read_text(errors="replace") for path in sorted(workdir.glob("*.log"))}


async def release_and_run(workdir: Path) -> None:
    """Release every waiting worker at once, then wait until each says it runs (failing if one exits)."""

    async def all_waiting() -> bool:
        worker_logs = [text for name, text in logs(workdir).items() if name.startswith("worker-")]
        return len(worker_logs) == WORKERS and all("waiting for the release" in text for text in worker_logs)

    async def all_running() -> bool:
        found = logs(workdir)
        assert "a worker exited" not in found["launcher.log"], found
        return all(" running on task hub " in text for name, text in found.items() if name.startswith("worker-"))

    await wait_until(all_waiting, timeout=30, what="every worker process to wait for the release")
    release = os.open(workdir / "release", os.O_WRONLY | os.O_NONBLOCK)  # a worker still opening it goes on too
    try:
        await wait_until(all_running, timeout=30, what="every worker process to run")
    finally:
        os.close(release)


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_five_workers_started_at_once_on_a_new_hub_all_run(
    connection_string: str, tmp_path: Path, round_: int
) -> None:
    name = unique_hub_name("race")
    try:
        with launched(connection_string, name, tmp_path):
            await release_and_run(tmp_path)
    finally:
        async with TaskHub.from_connection_string(connection_string, task_hub=name) as hub:
            info = await hub.info()
            await hub.delete()

    assert info.partition_count == 4 and len(info.partitions) == 4
