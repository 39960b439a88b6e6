"""The order functions, on a Blueprint registered by function_app.py (Microsoft's quickstart shape)."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from shared import Money, total_of

bp = df.Blueprint()
_ATTEMPTS: dict[str, int] = {}  # per flaky key: the first attempt fails, so that the order can be rewound


@bp.route(route="orchestrators/{functionName}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], None, req.get_json() if body else None)
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context")
def price_order(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    order = context.get_input()
    prices = []
    for item in order["items"]:
        price = yield context.call_activity("price_of", item)
        prices.append(price)
    total: Money = yield context.call_activity("add_up", prices)
    return {"total": Money.to_json(total), "greeting": os.environ.get("SHOP_GREETING")}


@bp.activity_trigger(input_name="item")
def price_of(item: str) -> Money:
    return Money(len(item) * 100, "EUR")


@bp.function_name("add_up")
@bp.activity_trigger(input_name="prices")
def total_activity(prices: list[Money]) -> Money:
    return total_of(prices)


@bp.orchestration_trigger(context_name="context", orchestration="flaky_order")
def flaky(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    result = yield context.call_activity("fail_first_time", context.get_input())
    return result


@bp.activity_trigger(input_name="key")
def fail_first_time(key: str) -> str:
    _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
    if _ATTEMPTS[key] == 1:
        raise RuntimeError(f"first attempt of {key} fails")
    return f"{key} done after {_ATTEMPTS[key]} attempts"


@bp.orchestration_trigger(context_name="context")
def wait_for_approval(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    context.set_custom_status("waiting")
    approval = yield context.wait_for_external_event("approval")
    return {"approved": approval}


@bp.entity_trigger(context_name="context")
def cart(context: df.DurableEntityContext) -> None:
    items: list[str] = context.get_state(lambda: [])
    if context.operation_name == "add":
        items.append(context.get_input())
    elif context.operation_name == "clear":
        items = []
    context.set_state(items)
    context.set_result(len(items))
