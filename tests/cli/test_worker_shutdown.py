"""``durable-storage worker`` stopped by SIGTERM after its storage went away exits within its drain timeout.

Before, it kept trying to renew and release its leases for the drain timeout plus a lease interval (95 s with the
defaults), logging a warning per try, although leases it cannot write run out by themselves (issue 21 item 3).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

from durable_storage.testing import Azurite, unique_hub_name
from tests.e2e.support import REPO_ROOT, die_with_parent

_DRAIN_TIMEOUT = 10.0


async def _owns_every_partition(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    acquired = 0
    while acquired < 4:
        line = await process.stderr.readline()
        assert line, "the worker ended before it owned its partitions"
        acquired += b" acquired by " in line


async def test_sigterm_with_storage_gone_exits_within_the_drain_timeout() -> None:
    azurite = Azurite().start()
    try:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "durable_storage", "--connection", azurite.connection_string),
            *("--task-hub", unique_hub_name(), "worker", "tests.e2e.apps:app"),
            *("--drain-timeout", str(_DRAIN_TIMEOUT)),  # the lease interval stays 30 s
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=die_with_parent,
        )
        await asyncio.wait_for(_owns_every_partition(process), timeout=60)
    finally:
        azurite.stop()
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    finally:
        if process.returncode is None:
            process.kill()
    took = time.monotonic() - stopped_at

    assert process.returncode == 0, stderr.decode()
    assert took < _DRAIN_TIMEOUT, f"exited {took:.1f} s after SIGTERM"
    assert "not released (storage is unreachable); their leases will expire" in stderr.decode()
