"""The Durable Functions quickstart, unchanged but for its imports and its HTTP trigger.

Function chaining: three activities, each started once the previous one's result is in.

Run it end to end with ``python -m samples.quickstart`` (a worker in the same process, on the storage account of
``AzureWebJobsStorage``, by default a local Azurite), or run a worker for it with
``python -m durable_storage worker samples.quickstart:app`` and start ``hello_orchestrator`` from elsewhere.
"""

from __future__ import annotations

import sys

import durable_storage as df
from samples import _run

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


EXPECTED = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


async def workload(client: df.DurableOrchestrationClient, *, instance_id: str | None = None) -> bool:
    """Start ``hello_orchestrator``, wait for it and print its output; True when it chained all three greetings."""
    instance_id = await client.start_new("hello_orchestrator", instance_id)
    status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.2)
    print(f"function chaining: hello_orchestrator {_run.describe(status)}")
    return status.runtime_status is df.OrchestrationRuntimeStatus.Completed and status.output == EXPECTED


def main() -> int:
    """Run the quickstart on a local worker; the exit code is 0 when it completed as expected."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
