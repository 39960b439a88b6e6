"""User values that cannot be written fail their orchestration at once, naming the value (issue 17 item 6).

An output, custom status or activity input nested 10,000 deep, or an exception message with a lone surrogate, used
to fail the episode's serialization or checkpoint as if storage were at fault: the worker retried it for minutes and
the status never moved. They are the user's errors, as a NaN output is: the instance ends Failed on its first
episode, with a message that says what could not be written.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from tests.e2e.support import fast_options

app = df.App()
TOO_DEEP = "cannot be written as JSON: it is nested too deeply (over Python's recursion limit"


def nested(depth: int = 10_000) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="value")
def fail_with_surrogate(value: Any) -> Any:
    raise ValueError("bad \ud800 value")


@app.orchestration_trigger(context_name="context")
def deep_output(context: df.DurableOrchestrationContext) -> Any:
    return nested()


@app.orchestration_trigger(context_name="context")
def deep_custom_status(context: df.DurableOrchestrationContext) -> Any:
    context.set_custom_status(nested())
    return "done"


@app.orchestration_trigger(context_name="context")
def deep_activity_input(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("echo", nested()))


@app.orchestration_trigger(context_name="context")
def nan_output(context: df.DurableOrchestrationContext) -> Any:
    return math.nan


@app.orchestration_trigger(context_name="context")
def surrogate_failure(context: df.DurableOrchestrationContext) -> Any:
    raise ValueError("bad \ud800 value")


@app.orchestration_trigger(context_name="context")
def surrogate_activity_failure(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("fail_with_surrogate", 1))


@pytest.mark.parametrize(
    ("orchestrator", "message"),
    [
        ("deep_output", f"ValueError: the orchestrator's output {TOO_DEEP}"),
        ("deep_custom_status", f"ValueError: the custom status {TOO_DEEP}"),
        ("deep_activity_input", f"ValueError: the input of activity 'echo' {TOO_DEEP}"),
        ("nan_output", "ValueError: the orchestrator's output cannot be written as JSON: Out of range float"),
        ("surrogate_failure", "ValueError: bad \ufffd value"),
        ("surrogate_activity_failure", "Activity function 'fail_with_surrogate' failed: bad \ufffd value"),
    ],
)
async def test_a_value_that_cannot_be_written_fails_the_instance_on_its_first_episode(
    client: DurableOrchestrationClient, orchestrator: str, message: str
) -> None:
    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new(orchestrator, orchestrator)
        # Retried as a storage fault, it would stay Pending or Running for minutes: 15 s is ample for one episode.
        status = await client.wait_for_completion(instance_id, timeout=15, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Failed
    assert message in str(status.output), ascii(status.output)
