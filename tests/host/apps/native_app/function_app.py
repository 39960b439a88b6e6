"""An app on durable_storage's own API: the same decorators, our client in the HTTP starter."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.functions as func

import durable_storage as ds

app = ds.App()


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: ds.DurableOrchestrationClient) -> Any:
    instance_id = await client.start_new("double", None, int(req.route_params["name"]))
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def double(context: ds.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    value = yield context.call_activity("times_two", context.get_input())
    return value


@app.activity_trigger(input_name="n", local=True)
def times_two(n: int) -> int:
    return n * 2
