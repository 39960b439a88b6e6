"""OpenTelemetry spans of a worker, end to end on Azurite: one trace from the caller's span through every episode
and activity, linked across the queue hops by the ParentTraceContext the messages and History rows carry."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, TaskHub
from durable_storage._clock import utcnow
from durable_storage.client._outgoing import start_message
from durable_storage.history import ExecutionStartedEvent, TaskScheduledEvent
from tests.e2e.support import reaches
from tests.tracing.support import attribute, by_episode, ended, parent_id, span_id, spans_of, trace_id, traceparent

pytestmark = pytest.mark.usefixtures("worker")

Completed = OrchestrationRuntimeStatus.Completed


async def test_an_orchestration_of_two_activities_is_one_trace_under_the_callers_span(
    client: DurableOrchestrationClient, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with provider.get_tracer("test").start_as_current_span("POST /greetings") as request:
        instance_id = await client.start_new("two_greetings")

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Completed
    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 3))
    activities = await ended(exporter, instance_id, "activity:", 2)
    [start] = spans_of(exporter, instance_id, "create_orchestration:")
    # One trace: the caller's span → the client's start → every episode → each activity.
    request_context = request.get_span_context()
    assert {trace_id(s) for s in [start, *episodes, *activities]} == {request_context.trace_id}
    assert (start.name, start.kind, parent_id(start)) == (
        "create_orchestration:two_greetings",
        SpanKind.PRODUCER,
        request_context.span_id,
    )
    assert [parent_id(e) for e in episodes] == [span_id(start)] * 3
    # Each activity is a child of the episode that scheduled it (the first activity of episode 1, the second of 2).
    number = {span_id(e): attribute(e, "durable_storage.episode") for e in episodes}
    scheduled_by = sorted((attribute(a, "durabletask.task.task_id"), number[parent_id(a)]) for a in activities)
    assert [episode for _, episode in scheduled_by] == [1, 2]
    # Replays emit nothing for old events: exactly one span per episode and per activity execution.
    assert len(spans_of(exporter, instance_id)) == 1 + 3 + 2


async def test_episode_and_activity_spans_carry_names_kinds_and_attributes(
    client: DurableOrchestrationClient, exporter: InMemorySpanExporter
) -> None:
    instance_id = await client.start_new("two_greetings")
    await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 3))
    activities = await ended(exporter, instance_id, "activity:", 2)

    [start] = spans_of(exporter, instance_id, "create_orchestration:")
    execution_id = attribute(start, "durabletask.task.execution_id")
    assert execution_id
    for number, episode in enumerate(episodes, start=1):
        assert (episode.name, episode.kind) == ("orchestration:two_greetings", SpanKind.CONSUMER)
        assert episode.attributes is not None
        assert episode.attributes["durabletask.type"] == "orchestration"
        assert episode.attributes["durabletask.task.name"] == "two_greetings"
        assert episode.attributes["durabletask.task.execution_id"] == execution_id
        assert episode.attributes["durable_storage.episode"] == number
        assert episode.attributes["durable_storage.new_events"] >= 1  # type: ignore[operator]
        # The episode's own storage requests: at least the History batch and the Instances write.
        calls = {k: v for k, v in episode.attributes.items() if k.startswith("durable_storage.storage_calls.")}
        assert calls["durable_storage.storage_calls.total"] > 0  # type: ignore[operator]
        assert calls["durable_storage.storage_calls.table.batch"] >= 1  # type: ignore[operator]
        assert calls["durable_storage.storage_calls.total"] == sum(
            v  # type: ignore[misc]
            for k, v in calls.items()
            if k != "durable_storage.storage_calls.total"
        )
    assert [e.attributes["durabletask.task.status"] for e in episodes] == ["Running", "Running", "Completed"]  # type: ignore[index]
    for activity in activities:
        assert (activity.name, activity.kind, activity.status.status_code) == (
            "activity:greet",
            SpanKind.CONSUMER,
            StatusCode.UNSET,
        )
        assert activity.attributes is not None
        assert activity.attributes["durabletask.type"] == "activity"
        assert activity.attributes["durabletask.task.name"] == "greet"
        assert activity.attributes["durable_storage.dequeue_count"] == 1
        # The reply to the control queue and the work item's delete.
        assert activity.attributes["durable_storage.storage_calls.queue.put_message"] == 1
        assert activity.attributes["durable_storage.storage_calls.queue.delete_message"] == 1


async def test_a_failing_activity_has_an_error_span_and_the_orchestration_goes_on(
    client: DurableOrchestrationClient, exporter: InMemorySpanExporter
) -> None:
    instance_id = await client.start_new("survives_a_failure")

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert (status.runtime_status, status.output) == (Completed, "caught")
    [activity] = await ended(exporter, instance_id, "activity:broken", 1)
    assert activity.status.status_code is StatusCode.ERROR
    assert "no such city" in (activity.status.description or "")
    [exception] = [event for event in activity.events if event.name == "exception"]
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "ValueError"
    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 2))
    # A caught activity failure is no failure of the episode; the last one ends the execution Completed: OK.
    assert [e.status.status_code for e in episodes] == [StatusCode.UNSET, StatusCode.OK]


async def test_the_episode_that_fails_its_orchestration_has_an_error_span(
    client: DurableOrchestrationClient, exporter: InMemorySpanExporter
) -> None:
    instance_id = await client.start_new("gives_up")

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Failed
    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 2))
    assert [e.status.status_code for e in episodes] == [StatusCode.UNSET, StatusCode.ERROR]
    assert "the orchestration gave up" in (episodes[-1].status.description or "")
    assert attribute(episodes[-1], "durabletask.task.status") == "Failed"


async def test_a_sync_activity_runs_with_its_span_current(
    client: DurableOrchestrationClient, exporter: InMemorySpanExporter
) -> None:
    instance_id = await client.start_new("span_of_activity")

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    [activity] = await ended(exporter, instance_id, "activity:current_span", 1)
    assert status.output == f"{span_id(activity):016x}"  # spans the activity starts are its children


async def test_the_history_and_the_messages_carry_the_episode_trace_context(
    client: DurableOrchestrationClient, hub: TaskHub, exporter: InMemorySpanExporter
) -> None:
    instance_id = await client.start_new("two_greetings")
    await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 3))
    [start] = spans_of(exporter, instance_id, "create_orchestration:")

    history = (await hub.history.load(instance_id)).events

    [started] = [e for e in history if isinstance(e, ExecutionStartedEvent)]
    assert started.parent_trace_context is not None
    assert started.parent_trace_context.trace_parent == traceparent(start)
    scheduled = [e for e in history if isinstance(e, TaskScheduledEvent)]
    assert [e.parent_trace_context.trace_parent for e in scheduled if e.parent_trace_context] == [
        traceparent(episodes[0]),
        traceparent(episodes[1]),
    ]


async def test_a_sub_orchestration_continues_the_trace_of_the_episode_that_started_it(
    client: DurableOrchestrationClient, exporter: InMemorySpanExporter
) -> None:
    instance_id = await client.start_new("greets_through_a_child")

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Completed
    parent_episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 2))
    child_episodes = await ended(exporter, f"{instance_id}-child", "orchestration:two_greetings", 3)
    child_activities = await ended(exporter, f"{instance_id}-child", "activity:", 2)
    assert {parent_id(e) for e in child_episodes} == {span_id(parent_episodes[0])}
    assert {trace_id(s) for s in [*parent_episodes, *child_episodes, *child_activities]} == {
        trace_id(parent_episodes[0])
    }


async def test_without_a_traced_client_the_first_episode_roots_the_trace_of_the_next_ones(
    client: DurableOrchestrationClient, hub: TaskHub, exporter: InMemorySpanExporter
) -> None:
    # A start as an untraced client sends it: no ParentTraceContext.
    instance_id = f"untraced-{uuid.uuid4().hex}"
    message = start_message(
        instance_id=instance_id,
        execution_id=uuid.uuid4().hex,
        name="two_greetings",
        version=None,
        input=None,
        now=utcnow(),
        scheduled_start_time=None,
        generation=0,
    )
    await hub.messages.send(hub.control_queue_of(instance_id), message)

    await reaches(client, instance_id, Completed)

    episodes = by_episode(await ended(exporter, instance_id, "orchestration:", 3))
    assert episodes[0].parent is None
    assert [parent_id(e) for e in episodes[1:]] == [span_id(episodes[0])] * 2
    assert {trace_id(e) for e in episodes} == {trace_id(episodes[0])}
