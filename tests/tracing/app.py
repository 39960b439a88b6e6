"""The orchestrations of the tracing tests: two activities in turn, a failing activity, a sub-orchestration.

Served by the tests' in-process workers and by the worker of the no-extra subprocess test, so nothing here imports
OpenTelemetry at module level.
"""

from __future__ import annotations

from typing import Any

import durable_storage as df

app = df.App()


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="ignored")
def current_span(ignored: Any) -> str:
    """The span id current while this (thread-pool) activity runs, in hex."""
    from opentelemetry import trace  # noqa: PLC0415  (only the tracing tests call it)

    return f"{trace.get_current_span().get_span_context().span_id:016x}"


@app.activity_trigger(input_name="reason")
def broken(reason: str) -> str:
    raise ValueError(reason)


@app.orchestration_trigger(context_name="context")
def two_greetings(context: df.DurableOrchestrationContext) -> Any:
    """Two activities, one episode after the other: three episodes in all."""
    first = yield context.call_activity("greet", "Tokyo")
    second = yield context.call_activity("greet", "Seattle")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def span_of_activity(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("current_span", None))


@app.orchestration_trigger(context_name="context")
def survives_a_failure(context: df.DurableOrchestrationContext) -> Any:
    try:
        yield context.call_activity("broken", "no such city")
    except df.TaskFailedError:
        return "caught"
    return "not failed"


@app.orchestration_trigger(context_name="context")
def greets_through_a_child(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_sub_orchestrator("two_greetings", instance_id=f"{context.instance_id}-child"))


@app.orchestration_trigger(context_name="context")
def gives_up(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("greet", "Lima")
    raise ValueError("the orchestration gave up")
