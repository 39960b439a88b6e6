from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from ..shared_code.greeting import Greeting


def orchestrator_function(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    names = context.get_input() or ["Tokyo", "Seattle"]
    greetings = []
    for name in names:
        greetings.append((yield context.call_activity("SayHello", Greeting(name, "!"))))
    return greetings


main = df.Orchestrator.create(orchestrator_function)
