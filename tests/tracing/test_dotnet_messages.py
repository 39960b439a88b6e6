"""The trace context as .NET writes it: ``ParentTraceContext`` (a ``DurableTask.Core.Tracing.DistributedTraceContext``)
on ExecutionStarted and TaskScheduled, read from .NET's messages and written the same way in ours.

The .NET messages are the real examples of tests/data/dotnet with the member a current writer adds
(``ISupportsDurableTraceContext.SetParentTraceContext``), where DurableTask.Core's member order puts it
(history-event-fields.md §3).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, TraceFlags, TraceState

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, TaskHub, Worker
from durable_storage._clock import utcnow
from durable_storage._envelope import (
    MessageData,
    TaskMessage,
    decode_message,
    encode_message,
    with_parent_trace_context,
)
from durable_storage.history import (
    DistributedTraceContext,
    ExecutionStartedEvent,
    OrchestrationInstance,
    TaskScheduledEvent,
)
from durable_storage.telemetry._spans import carried_context, parent_context
from tests.e2e.support import reaches
from tests.tracing.support import by_episode, ended, parent_id, span_id, trace_id, traceparent

DATA = Path(__file__).resolve().parents[1] / "data" / "dotnet"
TRACE_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_STATE = "congo=t61rcWkgMzE"


def dotnet_trace_context(trace_parent: str = TRACE_PARENT, trace_state: str | None = TRACE_STATE) -> dict[str, Any]:
    """A ParentTraceContext as Newtonsoft writes it in a queue message (every member, nulls included)."""
    return {
        "$type": "DurableTask.Core.Tracing.DistributedTraceContext",
        "TraceParent": trace_parent,
        "TraceState": trace_state,
        "Id": None,
        "SpanId": None,
        "ActivityStartTime": None,
    }


def insert_after(obj: dict[str, Any], after: str, key: str, value: object) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, item in obj.items():
        result[name] = item
        if name == after:
            result[key] = value
    return result


def dotnet_start(instance_id: str, name: str, trace_parent: str) -> str:
    """The real .NET client start message, for ``instance_id`` and orchestration ``name``, with a trace context."""
    message = json.loads((DATA / "messagedata-executionstarted-client-corelib.json").read_text().strip())
    event = message["TaskMessage"]["Event"]
    execution_id = uuid.uuid4().hex
    for instance in (event["OrchestrationInstance"], message["TaskMessage"]["OrchestrationInstance"]):
        instance.update(InstanceId=instance_id, ExecutionId=execution_id)
    event.update(Name=name, Version="", Input=None, Tags=None)
    message["TaskMessage"]["Event"] = insert_after(
        event, "Correlation", "ParentTraceContext", dotnet_trace_context(trace_parent)
    )
    return json.dumps(message)


def dotnet_work_item(name: str, input_json: str, trace_parent: str = TRACE_PARENT) -> str:
    """The real Durable Functions 2.9.3 work item, asking for activity ``name``, with a trace context."""
    message = json.loads((DATA / "messagedata-taskscheduled-workitem-df2.9.3.json").read_text())
    event = message["TaskMessage"]["Event"]
    event.update(Name=name, Input=input_json)
    message["TaskMessage"]["Event"] = insert_after(
        event, "Input", "ParentTraceContext", dotnet_trace_context(trace_parent)
    )
    message["TaskMessage"]["OrchestrationInstance"]["InstanceId"] = f"dotnet-{uuid.uuid4().hex}"
    return json.dumps(message, separators=(",", ":"))


# --- the wire format -------------------------------------------------------------------------------------------


def test_a_dotnet_work_item_with_a_trace_context_is_read_and_written_back_unchanged() -> None:
    body = dotnet_work_item("greet", '"London"')

    message = decode_message(body)

    assert message.task_message is not None
    event = message.task_message.event
    assert isinstance(event, TaskScheduledEvent)
    assert event.parent_trace_context == DistributedTraceContext(trace_parent=TRACE_PARENT, trace_state=TRACE_STATE)
    assert json.loads(encode_message(message)) == json.loads(body)


def test_a_dotnet_start_with_a_trace_context_is_read() -> None:
    message = decode_message(dotnet_start("i", "two_greetings", TRACE_PARENT))

    assert message.task_message is not None
    event = message.task_message.event
    assert isinstance(event, ExecutionStartedEvent)
    assert event.parent_trace_context is not None
    assert (event.parent_trace_context.trace_parent, event.parent_trace_context.trace_state) == (
        TRACE_PARENT,
        TRACE_STATE,
    )


def test_our_trace_context_is_written_where_and_as_dotnet_writes_it() -> None:
    event = TaskScheduledEvent(event_id=2, timestamp=utcnow(), name="greet", version="", input='"London"')
    instance = OrchestrationInstance("i", "e")
    message = MessageData(
        activity_id=uuid.uuid4(), task_message=TaskMessage(event=event, orchestration_instance=instance)
    )

    stamped = with_parent_trace_context(
        message, DistributedTraceContext(trace_parent=TRACE_PARENT, trace_state=TRACE_STATE)
    )

    written = json.loads(encode_message(stamped))["TaskMessage"]["Event"]
    dotnet = json.loads(dotnet_work_item("greet", '"London"'))["TaskMessage"]["Event"]
    assert written["ParentTraceContext"] == dotnet["ParentTraceContext"]
    # In DurableTask.Core's member order: after Input, before Tags (which the 2023 writer did not have yet).
    assert [k for k in written if k in dotnet] == list(dotnet)
    assert list(written)[list(written).index("ParentTraceContext") + 1] == "Tags"


@pytest.mark.parametrize(
    ("trace_parent", "valid"),
    [
        (TRACE_PARENT, True),
        (TRACE_PARENT.upper(), True),  # .NET never writes it so, but a reader can be lenient
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", True),  # not sampled
        ("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", True),  # a future version
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", False),
        ("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", False),
        ("00-00000000000000000000000000000000-b7ad6b7169203331-01", False),
        ("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", False),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01", False),
        ("|a422532de19d3e4f8f67af06f8f880c7.81354b086ec6fb41.", False),  # the legacy hierarchical Id
        ("", False),
    ],
)
def test_a_traceparent_is_read_as_w3c_defines_it(trace_parent: str, valid: bool) -> None:
    context = trace.get_current_span(
        parent_context(DistributedTraceContext(trace_parent=trace_parent))
    ).get_span_context()

    assert context.is_valid is valid
    if valid:
        assert (context.trace_id, context.span_id) == (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331)
        assert context.is_remote


def test_a_span_is_carried_as_dotnet_writes_it() -> None:
    span_context = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("congo", "t61rcWkgMzE")]),
    )

    carried = carried_context(trace.NonRecordingSpan(span_context))

    assert carried == DistributedTraceContext(trace_parent=TRACE_PARENT, trace_state=TRACE_STATE)
    # The round trip: the parent read back is the span.
    parent = trace.get_current_span(parent_context(carried)).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.trace_flags, parent.trace_state) == (
        span_context.trace_id,
        span_context.span_id,
        span_context.trace_flags,
        span_context.trace_state,
    )


# --- end to end ------------------------------------------------------------------------------------------------


async def test_an_orchestration_started_by_dotnet_continues_its_trace(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker: Worker,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    with provider.get_tracer("test").start_as_current_span("a .NET client's create_orchestration") as dotnet_client:
        pass
    instance_id = f"from-dotnet-{uuid.uuid4().hex}"
    [dotnet] = [s for s in exporter.get_finished_spans() if s.name.startswith("a .NET client")]

    await hub.account.queues.put(
        hub.control_queue_of(instance_id), dotnet_start(instance_id, "two_greetings", traceparent(dotnet))
    )
    await reaches(client, instance_id, OrchestrationRuntimeStatus.Completed)

    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 3))
    activities = await ended(exporter, instance_id, "activity:", 2)
    assert [parent_id(e) for e in episodes] == [dotnet_client.get_span_context().span_id] * 3
    assert {trace_id(s) for s in [*episodes, *activities]} == {dotnet_client.get_span_context().trace_id}
    assert {parent_id(a) for a in activities} <= {span_id(e) for e in episodes}


async def test_a_dotnet_work_item_runs_under_its_trace_context(
    hub: TaskHub, worker: Worker, exporter: InMemorySpanExporter
) -> None:
    body = dotnet_work_item("greet", '"London"')
    instance_id = json.loads(body)["TaskMessage"]["OrchestrationInstance"]["InstanceId"]

    await hub.account.queues.put(hub.names.work_item_queue, body)

    [activity] = await ended(exporter, instance_id, "activity:greet", 1)
    assert activity.context is not None and activity.parent is not None
    assert f"{activity.context.trace_id:032x}" == TRACE_PARENT.split("-")[1]
    assert f"{activity.parent.span_id:016x}" == TRACE_PARENT.split("-")[2]
    assert activity.context.trace_state.to_header() == TRACE_STATE
    assert activity.attributes is not None and activity.attributes["durabletask.task.task_id"] == 2
