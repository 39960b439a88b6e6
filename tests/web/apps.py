"""The App the web tests' worker runs: the end-to-end App, plus an order workflow with a timeline worth a look."""

from __future__ import annotations

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
