"""A shop written as Durable Functions users write it: func.FunctionApp, a df.Blueprint, HTTP helpers."""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from client_calls import CALLS
from orders_blueprint import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@app.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or req.params.get("name") or "world"
    return func.HttpResponse(f"Hello, {name}!", headers={"X-Shop": "v2"})


@app.route(route="items/{id:int}", methods=["GET", "PUT"], binding_arg_name="outcome")
def item(req: func.HttpRequest, outcome: func.Out[func.HttpResponse]) -> None:
    described = {"id": req.route_params["id"], "method": req.method, "tags": req.params.get("tag")}
    if req.method == "PUT":
        described["body"] = req.get_json()
    outcome.set(func.HttpResponse(json.dumps(described), mimetype="application/json", status_code=201))


@app.route(route="files/{*path}")
async def files(req: func.HttpRequest, context: func.Context) -> str:
    return f"path={req.route_params.get('path', '')} function={context.function_name}"


@app.route(route="nothing")
def nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise ValueError("boom")


@app.route(route="client/{operation}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def client_call(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Runs one operation of the SDK's client, so that the tests can check what it got from our webhooks."""
    call = CALLS[req.route_params["operation"]]
    arguments: dict[str, Any] = req.get_json() if req.get_body() else {}
    result = await call(client, req, req.route_params.get("instance_id"), arguments)
    if isinstance(result, func.HttpResponse):
        return result
    return func.HttpResponse(json.dumps(result, default=str), mimetype="application/json")
