"""Local activities (``activity_trigger(local=True)``): run inside the calling orchestration's episode.

An orchestration whose activities are local reaches its end in one episode and one checkpoint, with the history a
worker would have written had they gone through the work-item queue (so replay, the replay gate and .NET tools read
it as usual): OrchestratorStarted, the results, the next scheduling, OrchestratorCompleted, round after round.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage.calls import counting
from durable_storage.errors import ConfigurationError
from durable_storage.history import TaskCompletedEvent, TaskScheduledEvent
from durable_storage.testing.history import HistoryBuilder
from durable_storage.worker._episode import resume_episode, run_episode
from tests.e2e.support import events, fast_options

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
CITIES = ("Tokyo", "Seattle", "London", "Paris", "Cairo")

app = df.App()
runs: list[str] = []


@app.activity_trigger(input_name="city", local=True)
def say_hello(city: str) -> str:
    runs.append(city)
    return f"Hello {city}!"


@app.activity_trigger(input_name="city", local=True)
async def shout(city: str) -> str:
    return city.upper()


@app.activity_trigger(input_name="amount", local=True)
def charge(amount: int) -> int:
    if amount > 100:
        raise ValueError(f"amount {amount} is over the limit")
    return amount


@app.activity_trigger(input_name="value")
def queued_echo(value: Any) -> Any:
    return value


@app.orchestration_trigger(context_name="context")
def hello_cities5(context: df.DurableOrchestrationContext) -> Any:
    greetings = []
    for city in CITIES:
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.orchestration_trigger(context_name="context")
def mixed(context: df.DurableOrchestrationContext) -> Any:
    """Local and queued activities, a fan-out of locals, an async local, a timer, a failure that is caught."""
    first = yield context.call_activity("say_hello", "Tokyo")
    echoed = yield context.call_activity("queued_echo", first)
    loud = yield context.task_all([context.call_activity("shout", c) for c in ("a", "b", "c")])
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=200))
    try:
        yield context.call_activity("charge", 500)
        refused = None
    except df.TaskFailedError as error:
        refused = str(error).split("\n")[0].strip()  # the reason, then the traceback (as Durable Functions)
    charged = yield context.call_activity("charge", 50)
    return {"echoed": echoed, "loud": loud, "refused": refused, "charged": charged}


def test_an_episode_stops_at_local_work_and_resumes_with_its_results() -> None:
    builder = HistoryBuilder("i").started("hello_cities5")
    episode = run_episode(
        hello_cities5,
        instance_id="i",
        history=[],
        messages=builder.events[1:],
        now=NOW,
        is_local=app.is_local_activity,
    )
    for step, city in enumerate(CITIES):
        assert [(e.name, e.input) for e in episode.pending_local] == [("say_hello", f'"{city}"')], step
        assert episode.outbound == []  # nothing goes to the work-item queue
        (scheduled,) = episode.pending_local
        result = TaskCompletedEvent(timestamp=NOW, task_scheduled_id=scheduled.event_id, result=f'"Hello {city}!"')
        episode = resume_episode(
            hello_cities5, episode, [result], instance_id="i", now=NOW, is_local=app.is_local_activity
        )
    assert episode.pending_local == []
    assert episode.state is not None and episode.state.status is OrchestrationRuntimeStatus.Completed
    assert episode.first_index == 0
    kinds = [e.event_type.name for e in episode.appended]
    assert kinds.count("OrchestratorStarted") == kinds.count("OrchestratorCompleted") == 6
    assert kinds.count("TaskScheduled") == kinds.count("TaskCompleted") == 5


def test_without_the_runner_local_activities_go_out_as_work_items() -> None:
    builder = HistoryBuilder("i").started("hello_cities5")
    episode = run_episode(hello_cities5, instance_id="i", history=[], messages=builder.events[1:], now=NOW)
    assert episode.pending_local == []
    (work,) = episode.outbound
    assert work.to_work_items and isinstance(work.message.task_message.event, TaskScheduledEvent)  # type: ignore[union-attr]


def test_local_must_be_a_bool() -> None:
    with pytest.raises(ConfigurationError, match="local 'yes' is invalid"):
        df.App().activity_trigger(input_name="x", local="yes")  # type: ignore[arg-type]


async def test_hello_cities5_with_local_activities_completes_in_one_checkpoint(
    client: DurableOrchestrationClient,
) -> None:
    runs.clear()
    with counting() as calls:
        async with Worker(client, app, options=fast_options()):
            instance_id = await client.start_new("hello_cities5")
            status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.2)
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    assert status.output == [f"Hello {city}!" for city in CITIES]
    assert runs == list(CITIES)  # each ran once, in order
    counts = calls.snapshot()
    assert counts[("queue", "put_message")] == 1  # the start; no work item, no result message
    assert counts[("table", "batch")] == 1  # one History write for the whole orchestration
    history = await client.get_history(instance_id)
    assert [e["Result"] for e in events(history, "TaskCompleted")] == [f'"Hello {c}!"' for c in CITIES]
    assert len(events(history, "ExecutionCompleted")) == 1


async def test_local_and_queued_activities_timers_fan_out_and_failures_mix(client: DurableOrchestrationClient) -> None:
    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("mixed")
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.2)
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    assert status.output == {
        "echoed": "Hello Tokyo!",
        "loud": ["A", "B", "C"],
        "refused": "Activity function 'charge' failed: amount 500 is over the limit",
        "charged": 50,
    }
    history = await client.get_history(instance_id)
    assert len(events(history, "TaskFailed")) == 1
    assert len(events(history, "TimerFired")) == 1
    assert [e["Name"] for e in events(history, "TaskScheduled")] == [
        "say_hello",
        "queued_echo",
        "shout",
        "shout",
        "shout",
        "charge",
        "charge",
    ]
