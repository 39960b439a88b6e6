"""Failures end to end: what an unhandled error leaves in the status, and how rewind runs a Failed instance again."""

from __future__ import annotations

import uuid

import pytest

from durable_storage import DurableOrchestrationClient, InstanceStateError, OrchestrationRuntimeStatus
from tests.e2e import apps
from tests.e2e.support import events, names, reaches

pytestmark = pytest.mark.usefixtures("worker")

Completed = OrchestrationRuntimeStatus.Completed
Failed = OrchestrationRuntimeStatus.Failed


async def test_an_unhandled_exception_fails_the_instance_and_names_the_error(
    client: DurableOrchestrationClient,
) -> None:
    instance_id = await client.start_new("unhandled")

    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Failed
    assert status.output == "KeyError: 'the order has no customer'"
    [completed] = events(await client.get_history(instance_id), "ExecutionCompleted")
    assert completed["OrchestrationStatus"] == "Failed"
    assert completed["FailureDetails"]["ErrorType"] == "KeyError"


async def test_an_orchestrator_no_worker_registered_fails_with_a_message_naming_it(
    client: DurableOrchestrationClient,
) -> None:
    instance_id = await client.start_new("nobody_registered_this")

    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Failed
    assert status.output.startswith("LookupError: orchestrator 'nobody_registered_this' is not registered")


async def test_an_unhandled_activity_failure_fails_the_instance_with_the_activity_error(
    client: DurableOrchestrationClient,
) -> None:
    key = uuid.uuid4().hex

    instance_id = await client.start_new("flaky_then_done", client_input={"key": key, "failures": 1})
    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Failed
    assert status.output.startswith(f"TaskFailedError: Activity function 'flaky' failed: flaky failure 1 of {key}")
    [failed] = events(await client.get_history(instance_id), "TaskFailed")
    assert failed["Reason"] == f"Activity function 'flaky' failed: flaky failure 1 of {key}"


async def test_rewind_runs_a_failed_instance_again_from_its_failed_activity(
    client: DurableOrchestrationClient,
) -> None:
    key = uuid.uuid4().hex
    instance_id = await client.start_new("flaky_then_done", client_input={"key": key, "failures": 1})
    assert (await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)).runtime_status is Failed

    await client.rewind(instance_id, "the flag is fixed")
    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Completed
    assert status.output == ["first step", f"{key} succeeded on attempt 2"]
    assert apps.attempts[key] == 2
    history = await client.get_history(instance_id)
    # The step that had succeeded is not run again; only the failed activity is scheduled anew.
    assert names(history) == ["echo", "flaky"]
    assert events(history, "TaskFailed") == []


async def test_rewind_refuses_an_instance_that_did_not_fail(client: DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("echo_orchestrator", client_input="fine")
    assert (await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)).runtime_status is Completed

    with pytest.raises(InstanceStateError, match="only a Failed instance can be rewound"):
        await client.rewind(instance_id, "nothing to fix")


async def test_a_lost_instances_row_is_written_whole_again_at_the_next_visible_change(
    client: DurableOrchestrationClient,
) -> None:
    hub = client.task_hub
    instance_id = await client.start_new("slow_chain", "lost-row", 0.5)  # two seconds of activities, 5 episodes
    await reaches(client, instance_id, OrchestrationRuntimeStatus.Running)

    await hub.instances.delete(instance_id)  # as a crash or an operator might leave it
    assert not await client.get_status(instance_id)

    # The next checkpoint that changes what a reader sees (here the completion: episodes that change nothing
    # visible skip the Instances write) brings it back, whole.
    status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    assert (status.runtime_status, status.output) == (Completed, [1.0, 2.0, ["item 0", "item 1", "item 2"]])
    finished = await client.get_status(instance_id, show_input=True)
    assert (finished.name, finished.input_) == ("slow_chain", 0.5)
