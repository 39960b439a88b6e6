"""The Durable Functions quickstart, unchanged but for its imports and its HTTP trigger.

Run a worker for it with ``python -m durable_storage worker samples.quickstart:app``.
"""

import durable_storage as df

app = df.App()


@app.orchestration_trigger(context_name="context")
def hello_orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    result1 = yield context.call_activity("say_hello", "Tokyo")
    result2 = yield context.call_activity("say_hello", "Seattle")
    result3 = yield context.call_activity("say_hello", "London")
    return [result1, result2, result3]


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"
