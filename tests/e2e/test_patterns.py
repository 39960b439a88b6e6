"""The Durable Functions application patterns, end to end on Azurite: each runs to the output its code promises.

Fan-out/fan-in, human interaction, monitor, sub-orchestrations and retries, each on a fresh task hub served by an
in-process worker of ``tests.e2e.apps`` (chaining is the quickstart's, in test_samples.py).
"""

from __future__ import annotations

import uuid

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from tests.e2e import apps
from tests.e2e.support import events, names

pytestmark = pytest.mark.usefixtures("worker")

Completed = OrchestrationRuntimeStatus.Completed
Failed = OrchestrationRuntimeStatus.Failed


async def test_a_fan_out_of_200_activities_fans_in_to_their_sum(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("fan_out_fan_in", client_input=200)

    status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.2)

    assert status.runtime_status is Completed
    assert status.output == sum(n * n for n in range(200))
    history = await client.get_history(instance_id)
    assert len(names(history)) == 200
    assert len(events(history, "TaskCompleted")) == 200


async def test_human_interaction_an_event_before_the_deadline_wins(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("approval", client_input=60)

    await client.raise_event(instance_id, "Approval", "Alice")

    # Well before the 60-second timer could fire.
    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert status.runtime_status is Completed
    assert status.output == "approved by Alice"
    history = await client.get_history(instance_id)
    assert events(history, "TimerFired") == []


async def test_human_interaction_the_timer_wins_when_nobody_answers(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("approval", client_input=1)

    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Completed
    assert status.output == "escalated: nobody approved in time"
    history = await client.get_history(instance_id)
    [created] = events(history, "TimerCreated")
    [fired] = events(history, "TimerFired")
    assert fired["FireAt"] == created["FireAt"]
    # A durable timer never fires early: the episode that saw it ran at or after its due time.
    assert history[-1]["Timestamp"] >= created["FireAt"]


async def test_a_monitor_loops_through_generations_with_continue_as_new(client: DurableOrchestrationClient) -> None:
    first = {"generation": 0, "last": 2, "interval": 0.3}

    instance_id = await client.start_new("monitor", client_input=first)
    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Completed
    assert status.output == "monitored 3 generations"
    assert status.custom_status == "checked generation 2"
    latest = await client.get_status(instance_id, show_input=True)
    assert latest.input_ == {**first, "generation": 2}
    # The stored history is the last generation's alone: one timer, one check.
    history = await client.get_history(instance_id)
    assert names(history) == ["echo"]
    assert len(events(history, "TimerFired")) == 1


async def test_sub_orchestrations_run_with_and_without_explicit_ids(client: DurableOrchestrationClient) -> None:
    parent_id = f"order-{uuid.uuid4().hex[:8]}"

    await client.start_new("parent", parent_id)
    status = await client.wait_for_completion(parent_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Completed
    named, unnamed = status.output["children"]
    assert named == {"instance_id": f"{parent_id}-named-child", "parent": parent_id, "square": 9}
    assert unnamed["parent"] == parent_id
    assert unnamed["square"] == 16
    assert unnamed["instance_id"] not in (parent_id, named["instance_id"])
    for result in (named, unnamed):
        child = await client.get_status(result["instance_id"])
        assert (child.name, child.runtime_status, child.output) == ("child", Completed, result)


async def test_a_failing_sub_orchestration_is_a_task_failed_error_in_its_parent(
    client: DurableOrchestrationClient,
) -> None:
    parent_id = f"order-{uuid.uuid4().hex[:8]}"

    await client.start_new("parent", parent_id)
    status = await client.wait_for_completion(parent_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Completed
    assert "gave up" in status.output["caught"]
    failed_children = await client.get_status_by(runtime_status=[Failed])
    [failed] = failed_children
    assert failed.name == "failing_child"
    assert failed.output == f"ValueError: child {failed.instance_id} gave up"
    assert failed.instance_id in status.output["caught"]


async def test_an_activity_retried_with_options_succeeds_on_its_third_attempt(
    client: DurableOrchestrationClient,
) -> None:
    key = uuid.uuid4().hex

    instance_id = await client.start_new("retrying", client_input={"key": key, "failures": 2, "max_attempts": 3})
    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Completed
    assert status.output == f"{key} succeeded on attempt 3"
    assert apps.attempts[key] == 3
    history = await client.get_history(instance_id)
    assert len(events(history, "TaskFailed")) == 2
    assert len(events(history, "TimerFired")) == 2  # the waits between attempts are durable


async def test_an_activity_that_keeps_failing_gives_up_after_max_attempts(client: DurableOrchestrationClient) -> None:
    key = uuid.uuid4().hex

    instance_id = await client.start_new("retrying", client_input={"key": key, "failures": 5, "max_attempts": 3})
    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is Failed
    assert status.output.startswith(f"TaskFailedError: Activity function 'flaky' failed: flaky failure 3 of {key}")
    assert apps.attempts[key] == 3
