"""T08 (reliability.md §5.2): Azurite, with its data on disk, stops (SIGTERM) mid-run and restarts 3 s later.

The test runs an Azurite of its own with ``--location <tmp dir>`` instead of the suite's in-memory one, and a worker
process that reaches it through ``durable_storage.testing.proxy`` in pass mode: while Azurite is down the proxy
accepts each connection the worker opens and counts it as refused, which measures how hard the worker retries.
Mid-run, Azurite gets SIGTERM (it closes its LokiJS stores cleanly, so every acknowledged write is on disk), and
3 s later a new Azurite starts on the same ports with the same location.

Asserted, as a user would notice it:
- the worker backs off while storage is down: at most ``MAX_ATTEMPTS_PER_SECOND`` connection attempts per second
  over the outage (about 100 are measured, most of them the bounded retries of the work in flight when storage
  vanished; the same worker with no back-off makes about 500 here), and it keeps running, logging what failed;
- it resumes by itself once Azurite is back: every orchestration completes with the right output, with exactly
  one ExecutionCompleted and each step scheduled once in its history, and the queues drain;
- afterwards it still shuts down cleanly (SIGTERM, exit code 0).

Not asserted: how often activities ran (at least once; a restart in the middle of an episode re-runs its
activities, printed as duplicates). The ``kill -9`` variant (reliability.md T08) is not run here: LokiJS saves to
disk only every 5 s, so a killed Azurite loses acknowledged writes, and exactly-once cannot be asserted against a
store that forgets; that variant would only check that nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import Azurite, unique_hub_name, wait_until
from durable_storage.testing.proxy import StorageProxies
from tests.e2e import apps
from tests.e2e.support import ledger_counts, start_worker_process, stop_for_good
from tests.faults.test_network import (
    STEPS,
    all_completed,
    check_completed_once,
    start_chains,
)

pytestmark = pytest.mark.timeout(90)

CHAINS = 30
DOWN = 3.0  # seconds between Azurite's exit and its restart
MAX_ATTEMPTS_PER_SECOND = 200.0


class OnDiskAzurite(Azurite):
    """The suite's Azurite launcher with its data in ``location`` (``--location``) instead of in memory."""

    def __init__(self, location: Path, ports: dict[str, int] | None = None) -> None:
        ports = ports or {}
        super().__init__(
            blob_port=ports.get("Blob", 0),
            queue_port=ports.get("Queue", 0),
            table_port=ports.get("Table", 0),
            extent_memory_limit_mb=None,  # an in-memory option
        )
        self.location = location

    def _command(self) -> list[str]:
        command = super()._command()
        at = command.index("--inMemoryPersistence")  # the two cannot be combined (toolchain.md §2)
        command[at : at + 1] = ["--location", str(self.location)]
        return command


@dataclass
class Storage:
    """The test's own Azurite (the current process), the proxies in front of it, and its task hub and client."""

    azurites: list[OnDiskAzurite]
    proxies: StorageProxies
    hub: TaskHub
    client: DurableOrchestrationClient


@contextlib.asynccontextmanager
async def on_disk_storage(location: Path) -> AsyncIterator[Storage]:
    """An on-disk Azurite with pass-mode proxies and a fresh hub; every Azurite started is stopped after."""
    azurites = [OnDiskAzurite(location)]
    await asyncio.to_thread(azurites[0].start)
    connection = azurites[0].connection_string
    hub = TaskHub.from_connection_string(connection, task_hub=unique_hub_name(), partition_count=4, retry=FAST_RETRY)
    try:
        async with (
            StorageProxies(connection) as proxies,
            hub,
            DurableOrchestrationClient.from_connection_string(
                connection, task_hub=hub.name, partition_count=4, retry=FAST_RETRY
            ) as client,
        ):
            await hub.create_if_not_exists()
            yield Storage(azurites, proxies, hub, client)
    finally:
        for azurite in azurites:
            await asyncio.to_thread(azurite.stop)


@dataclass(frozen=True)
class Outage:
    refused: int  # connections the worker opened while Azurite was down
    seconds: float

    @property
    def rate(self) -> float:
        return self.refused / self.seconds


async def restart_azurite(storage: Storage) -> Outage:
    """SIGTERM Azurite, keep it down for ``DOWN`` seconds, start it again on the same ports and location."""
    first = storage.azurites[-1]
    await asyncio.to_thread(first.stop)  # SIGTERM, then wait for the exit
    refused_before, down_at = sum(p.stats.refused for p in storage.proxies.all), time.monotonic()
    await asyncio.sleep(DOWN)  # the deliberate outage
    outage = Outage(sum(p.stats.refused for p in storage.proxies.all) - refused_before, time.monotonic() - down_at)
    second = OnDiskAzurite(first.location, ports=first.ports)
    storage.azurites.append(second)
    await asyncio.to_thread(second.start)
    assert second.ports == first.ports
    return outage


async def queues_empty(hub: TaskHub) -> bool:
    names = [*hub.names.control_queues, hub.names.work_item_queue]
    return not any(await asyncio.gather(*(hub.account.queues.count(q) for q in names)))


async def test_a_worker_backs_off_while_azurite_restarts_then_finishes_everything_exactly_once(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.txt"
    async with on_disk_storage(tmp_path / "azurite-data") as storage:
        hub, client = storage.hub, storage.client
        worker = start_worker_process(
            storage.proxies.connection_string, hub, tmp_path / "worker.log", {apps.LEDGER_VARIABLE: str(ledger)}
        )
        try:
            await worker.running()
            ids = await start_chains(client, "order", CHAINS)

            async def under_way() -> bool:
                return sum(ledger_counts(ledger).values()) >= CHAINS

            await wait_until(under_way, timeout=30, interval=0.1, what="the chains to be under way")
            outage = await restart_azurite(storage)
            ran_before, back_at = sum(ledger_counts(ledger).values()), time.monotonic()
            await wait_until(lambda: all_completed(hub, ids), timeout=45, interval=0.25, what="every chain")
            recovered = time.monotonic() - back_at
            await wait_until(lambda: queues_empty(hub), timeout=20, interval=0.25, what="the queues to drain")
            assert worker.process.poll() is None, f"the worker died:\n{worker.output[-3000:]}"
            worker.process.send_signal(signal.SIGTERM)
            assert await worker.exited(timeout=40) == 0, worker.output[-3000:]
        finally:
            stop_for_good(worker)

        print(
            f"T08: Azurite down {outage.seconds:.1f} s: the worker opened {outage.refused} connections "
            f"({outage.rate:.0f}/s); all {CHAINS} chains done {recovered:.1f} s after the restart"
        )
        assert outage.refused > 0, "the worker never tried to reach storage while Azurite was down"
        assert outage.rate <= MAX_ATTEMPTS_PER_SECOND, f"{outage.rate:.0f} connection attempts a second: a tight loop"
        # Clear errors while down, naming what failed.
        assert re.search(r"partition lease round failed|receiving from \S+ failed", worker.output), worker.output
        assert sum(ledger_counts(ledger).values()) > ran_before, "no activity ran after the restart"
        duplicates = await check_completed_once(client, ids, ledger)
        print(f"T08: {duplicates} duplicate activity executions of {CHAINS * STEPS}")
