"""Aggregator: a durable entity collects values sent from many places into one state.

The Durable Functions aggregator pattern, with a function-based entity as azure-functions-durable writes them: each
``add`` signal counts one reading and adds it to the sum; ``get`` returns the totals and ``reset`` clears them.
Signals are fire-and-forget and the entity runs its operations one at a time, so concurrent senders never lose an
update. The client sends the readings (as event sources would) and reads the entity's state; an orchestration
then asks the entity for its totals with ``call_entity``, which waits for the answer.

Run it with ``python -m samples.aggregator``: ten readings, 1 to 10, sent at once.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import durable_storage as df
from durable_storage.testing import wait_until
from samples import _run

app = df.App()


@app.entity_trigger(context_name="context")
def aggregator(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: {"count": 0, "sum": 0})
    operation = context.operation_name
    if operation == "add":
        state = {"count": state["count"] + 1, "sum": state["sum"] + context.get_input()}
    elif operation == "reset":
        state = {"count": 0, "sum": 0}
    elif operation != "get":
        raise ValueError(f"aggregator has no operation {operation!r}")
    context.set_state(state)
    context.set_result(state)


@app.orchestration_trigger(context_name="context")
def report(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    entity_id = df.EntityId("aggregator", context.get_input())
    totals = yield context.call_entity(entity_id, "get")
    mean = totals["sum"] / totals["count"] if totals["count"] else None
    return {**totals, "mean": mean}


async def workload(
    client: df.DurableOrchestrationClient, *, readings: Sequence[float] = range(1, 11), key: str | None = None
) -> bool:
    """Signal one ``add`` per reading to the aggregator ``key`` (default: a new one); True when all were counted."""
    entity_id = df.EntityId("aggregator", key or uuid.uuid4().hex[:8])
    await asyncio.gather(*(client.signal_entity(entity_id, "add", value) for value in readings))

    async def all_counted() -> Any:
        state = (await client.read_entity_state(entity_id)).entity_state
        return state if state is not None and state["count"] >= len(readings) else None

    state = await wait_until(all_counted, timeout=60, interval=0.1, what=f"{entity_id} to count every reading")
    print(f"aggregator: {entity_id} counted {state['count']} signals, sum {state['sum']:g}")

    instance_id = await client.start_new("report", client_input=entity_id.key)
    status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.2)
    print(f"aggregator: report {_run.describe(status)} (read with call_entity)")
    return (
        status.runtime_status is df.OrchestrationRuntimeStatus.Completed
        and state == {"count": len(readings), "sum": sum(readings)}
        and status.output["count"] == len(readings)
    )


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when every reading was counted once."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
