"""The replay gate's test hub: orders of ``tests.gate.apps.v1`` that a worker ran two hours ago and left waiting.

One hub per test module: a worker of ``v1`` starts three orders that stop at ``wait_for_external_event("approved")``
(in flight) and one that is approved and completes; then the worker stops, and every test only reads. The client's
and the worker's hub reads a clock two hours behind (``durable_storage._clock.SkewedClock``), so the recorded
episodes happened two hours before any test replays them, as in a deployment that comes after the orders were
placed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._clock import SkewedClock
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import events, fast_options
from tests.gate import apps
from tests.hubs import fresh_hub

RECORDED_HOURS_AGO = 2


@dataclass(frozen=True)
class Deployed:
    """The hub and what is in it: the waiting orders, the completed one, and each one's stored history."""

    connection_string: str
    hub: TaskHub
    in_flight: list[str]
    completed: str
    histories: dict[str, list[dict[str, Any]]]

    def cli_args(self, *args: str) -> list[str]:
        """``durable-storage`` arguments on this hub."""
        return ["--connection", self.connection_string, "--task-hub", self.hub.name, *args]

    def index_of(self, instance_id: str, event_type: str, name: str) -> int:
        """The position in ``instance_id``'s history of its ``event_type`` event named ``name``."""
        history = self.histories[instance_id]
        return next(i for i, e in enumerate(history) if e["EventType"] == event_type and e.get("Name") == name)


async def _waiting(client: DurableOrchestrationClient, instance_ids: list[str]) -> bool:
    for instance_id in instance_ids:
        if len(events(await client.get_history(instance_id), "TaskCompleted")) < 2:
            return False
    return True


@pytest.fixture(scope="module")
async def deployed(connection_string: str) -> AsyncIterator[Deployed]:
    """Three orders waiting for approval and one completed, recorded two hours ago by a worker that has stopped."""
    async with fresh_hub(connection_string, prefix="gate") as hub:
        earlier = SkewedClock(-RECORDED_HOURS_AGO * 3600)
        past = DurableOrchestrationClient.from_connection_string(
            connection_string, task_hub=hub.name, retry=FAST_RETRY, clock=earlier
        )
        async with past as client:
            in_flight = [f"order-{n}" for n in range(3)]
            async with Worker(client, apps.v1, options=fast_options()):
                for number, instance_id in enumerate([*in_flight, "order-done"]):
                    await client.start_new("process_order", instance_id, {"sku": f"A{number}"})
                await wait_until(
                    lambda: _waiting(client, [*in_flight, "order-done"]), timeout=30, what="orders to wait"
                )
                await client.raise_event("order-done", "approved", True)
                done = await client.wait_for_completion("order-done", timeout=30, poll_interval=0.1)
                assert done.runtime_status is OrchestrationRuntimeStatus.Completed, done
            histories = {i: await client.get_history(i) for i in [*in_flight, "order-done"]}
        yield Deployed(connection_string, hub, in_flight, "order-done", histories)
