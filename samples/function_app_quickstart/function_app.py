"""The Durable Functions quickstart as a Functions app: run it with ``durable-storage host`` in this folder.

Written on the published ``azure.functions`` and ``azure.durable_functions`` packages, exactly as it would be for
``func start``; nothing in it names durable_storage. An HTTP starter, an orchestrator chaining two activities, and
the activity.
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starts the orchestrator named in the route; answers 202 with the URLs to follow it."""
    instance_id = await client.start_new(req.route_params["functionName"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def hello_orchestrator(context: df.DurableOrchestrationContext):
    result1 = yield context.call_activity("say_hello", "Tokyo")
    result2 = yield context.call_activity("say_hello", "Seattle")
    return [result1, result2]


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"
