"""The App the web tests' worker runs: the end-to-end App, plus an order workflow with a timeline worth a look."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import durable_storage as df
from tests.e2e import apps as e2e

app = df.App()
app.register_functions(e2e.app)


@app.orchestration_trigger(context_name="context")
def order(context: df.DurableOrchestrationContext) -> Any:
    """Checks the stock, prices three lines at once, waits for the courier, then ships through a sub-orchestration."""
    context.set_custom_status("checking stock")
    stock = yield context.call_activity("square", context.get_input())
    prices = yield context.task_all([context.call_activity("slow_double", seconds) for seconds in (0.05, 0.1, 0.15)])
    context.set_custom_status("waiting for the courier")
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=0.3))
    shipment = yield context.call_sub_orchestrator("child", 2)
    context.set_custom_status("shipped")
    return {"stock": stock, "prices": prices, "shipment": shipment["square"]}


RELEASED: set[str] = set()
"""The keys of ``pack`` calls the test has let finish."""


@app.activity_trigger(input_name="key")
async def pack(key: str) -> str:
    """Holds until the test adds ``key`` to ``RELEASED`` (a minute at most), so that it is outstanding meanwhile."""
    for _ in range(1200):
        if key in RELEASED:
            break
        await asyncio.sleep(0.05)
    return f"packed {key}"


@app.activity_trigger(input_name="order")
def charge(order: dict[str, Any]) -> None:
    """Always declines, with a message of several lines."""
    lines = [
        f"card declined for order {order['id']}",
        f"  amount: {order['amount']} EUR",
        "  reason: insufficient funds",
    ]
    raise ValueError("\n".join(lines))


@app.orchestration_trigger(context_name="context")
def checkout(context: df.DurableOrchestrationContext) -> Any:
    """Reserves the stock, then charges the card, which declines: the instance fails."""
    order = context.get_input()
    yield context.call_activity("echo", f"reserved {order['id']}")
    yield context.call_activity("charge", order)
    return "paid"


@app.orchestration_trigger(context_name="context")
def fulfil(context: df.DurableOrchestrationContext) -> Any:
    """At once: an approval (or an hour's timeout), packing (``pack``), the items (``collect``, a sub-orchestration)."""
    context.set_custom_status("waiting for the Approval event")
    deadline = context.current_utc_datetime + timedelta(hours=1)
    approval = context.task_any([context.wait_for_external_event("Approval"), context.create_timer(deadline)])
    packing = context.call_activity("pack", context.instance_id)
    items = context.call_sub_orchestrator("collect", 1, instance_id=f"{context.instance_id}-items")
    yield context.task_all([approval, packing, items])
    return "fulfilled"


@app.orchestration_trigger(context_name="context")
def checkout_later(context: df.DurableOrchestrationContext) -> Any:
    """Charges the card; when it declines, the order is left to be paid on delivery: the instance completes."""
    try:
        yield context.call_activity("charge", context.get_input())
    except df.TaskFailedError:
        return (yield context.call_activity("echo", "pay on delivery"))
    return "paid"
