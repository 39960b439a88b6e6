"""raise_event, terminate, suspend, resume and rewind: the messages they send (storage-layout.md §9.2, §9.6).

Each goes to the instance's control queue with ExecutionId null ("the current execution") and the client sender
``{"", ""}``. Like Durable Functions, the client checks the instance first: unknown IDs raise; events to an
instance that ended raise; terminate, suspend and resume of an ended instance do nothing.
"""

from __future__ import annotations

import pytest

from durable_storage import DurableOrchestrationClient, InstanceNotFoundError, InstanceStateError
from durable_storage._envelope import MessageData
from durable_storage.history import (
    EventRaisedEvent,
    ExecutionResumedEvent,
    ExecutionSuspendedEvent,
    ExecutionTerminatedEvent,
    FailureDetails,
    GenericEvent,
    OrchestrationInstance,
)
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import EXECUTION, ended, history, queue_depths, sent_to, write_history, write_row

ENDED = [Status.Completed, Status.Failed, Status.Terminated, Status.Canceled]
EPISODE = ["OrchestratorCompleted", "OrchestratorStarted"]


def assert_client_message(message: MessageData, instance_id: str) -> None:
    assert message.task_message is not None
    assert message.task_message.orchestration_instance == OrchestrationInstance(instance_id, None)
    assert message.sender == OrchestrationInstance("", "") and message.episode is None


@pytest.mark.parametrize("status", [Status.Pending, Status.Running, Status.Suspended])
async def test_raise_event_sends_event_raised_to_the_current_execution(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "approval", status)

    await client.raise_event("approval", "Approved", {"by": "Ana", "ok": True})

    (message,) = await sent_to(hub, "approval")
    assert_client_message(message, "approval")
    assert message.task_message is not None
    event = message.task_message.event
    assert isinstance(event, EventRaisedEvent)
    assert (event.name, event.input) == ("Approved", '{"by": "Ana", "ok": true}')


async def test_raise_event_without_data_sends_json_null(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    await write_row(hub, "ping", Status.Running)

    await client.raise_event("ping", "Ping")

    (message,) = await sent_to(hub, "ping")
    assert message.task_message is not None
    assert isinstance(message.task_message.event, EventRaisedEvent) and message.task_message.event.input == "null"


async def test_raise_event_to_an_unknown_instance_raises_not_found(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    with pytest.raises(InstanceNotFoundError, match=f"'ghost' was not found in task hub '{hub.name}'") as caught:
        await client.raise_event("ghost", "Approved")

    assert caught.value.instance_id == "ghost" and isinstance(caught.value, LookupError)
    assert set(await queue_depths(hub)) == {0}


@pytest.mark.parametrize("status", ENDED)
async def test_raise_event_to_an_instance_that_ended_raises(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "over", status)

    with pytest.raises(InstanceStateError, match=rf"'over' is {status.name}: events can only be raised") as caught:
        await client.raise_event("over", "Approved")

    assert caught.value.runtime_status is status
    assert set(await queue_depths(hub)) == {0}


@pytest.mark.parametrize("status", [Status.Pending, Status.Running, Status.Suspended])
async def test_terminate_sends_execution_terminated_with_the_reason(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "doomed", status)

    await client.terminate("doomed", "cancelled by Ana")

    (message,) = await sent_to(hub, "doomed")
    assert_client_message(message, "doomed")
    assert message.task_message is not None
    event = message.task_message.event
    # The reason travels as plain text: the worker writes it to the row's Output, where status.output reads it.
    assert isinstance(event, ExecutionTerminatedEvent) and event.input == "cancelled by Ana"


async def test_suspend_and_resume_send_their_events_with_the_reason(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "paused", Status.Running)

    await client.suspend("paused", "maintenance")
    await client.resume("paused", "done")

    first, second = await sent_to(hub, "paused", 2)
    assert first.task_message is not None and second.task_message is not None
    events = sorted([first, second], key=lambda m: m.sequence_number)
    kinds = [type(m.task_message.event) for m in events if m.task_message is not None]
    reasons = [getattr(m.task_message.event, "reason", None) for m in events if m.task_message is not None]
    assert kinds == [ExecutionSuspendedEvent, ExecutionResumedEvent]
    assert reasons == ["maintenance", "done"]
    for message in events:
        assert_client_message(message, "paused")


@pytest.mark.parametrize("status", ENDED)
async def test_terminate_suspend_and_resume_of_an_instance_that_ended_do_nothing(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "over", status)

    await client.terminate("over", "late")
    await client.suspend("over", "late")
    await client.resume("over", "late")

    assert set(await queue_depths(hub)) == {0}


async def test_terminate_suspend_and_resume_of_an_unknown_instance_raise(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    for operation in (client.terminate, client.suspend, client.resume):
        with pytest.raises(InstanceNotFoundError, match="'ghost'"):
            await operation("ghost", "why")

    assert set(await queue_depths(hub)) == {0}


# --- rewind ----------------------------------------------------------------------------------------------------


async def failed_instance(hub: TaskHub, instance_id: str, *, child: str | None = None) -> None:
    """An instance whose activity 0 failed (or, with ``child``, whose sub-orchestration 0 failed), then itself."""
    builder = history(instance_id).started("approve", input=3).episode()
    if child is None:
        builder.scheduled("charge").episode().failed(0, "card declined", error_type="ValueError")
    else:
        builder.sub_orchestration_created("pay", child).episode().sub_orchestration_failed(0, "child failed")
    failure = FailureDetails(error_type="TaskFailedError", error_message="card declined")
    await write_history(hub, instance_id, ended(builder, Status.Failed, failure=failure))
    await write_row(hub, instance_id, Status.Failed, output="TaskFailedError: card declined")


async def history_kinds(client: DurableOrchestrationClient, instance_id: str) -> list[str]:
    return [event["EventType"] for event in await client.get_history(instance_id)]


async def test_rewind_clears_the_failures_sets_pending_and_wakes_the_instance(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await failed_instance(hub, "order")
    before = await history_kinds(client, "order")

    await client.rewind("order", "card replaced")

    after = await history_kinds(client, "order")
    (message,) = await sent_to(hub, "order")
    status = await client.get_status("order")
    frame = ["OrchestratorStarted", "ExecutionStarted", "OrchestratorCompleted", "OrchestratorStarted"]
    assert before == [*frame, "TaskScheduled", *EPISODE, "TaskFailed", "ExecutionCompleted", "OrchestratorCompleted"]
    # The same rows under the same keys: the failure, its TaskScheduled and the failed end are GenericEvents now.
    assert after == [*frame, "GenericEvent", *EPISODE, "GenericEvent", "GenericEvent", "OrchestratorCompleted"]
    assert status.runtime_status is Status.Pending
    assert_client_message(message, "order")
    assert message.task_message is not None
    assert isinstance(message.task_message.event, GenericEvent) and message.task_message.event.data == "card replaced"


async def test_rewind_of_a_failed_sub_orchestration_rewinds_and_wakes_the_child(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await failed_instance(hub, "parent", child="parent:0")
    await failed_instance(hub, "parent:0")

    await client.rewind("parent", "retry payment")

    (message,) = await sent_to(hub, "parent:0")
    parent = await client.get_history("parent")
    created = next(e for e in parent if e["EventType"] == "SubOrchestrationInstanceCreated")
    assert message.task_message is not None and isinstance(message.task_message.event, GenericEvent)
    # The parent keeps waiting for its (rewound) child; only the child is woken.
    assert created["InstanceId"] == "parent:0"
    assert "SubOrchestrationInstanceFailed" not in [e["EventType"] for e in parent]
    assert (await client.get_status("parent")).runtime_status is Status.Pending
    assert (await client.get_status("parent:0")).runtime_status is Status.Pending
    assert sum(depth or 0 for depth in await queue_depths(hub)) == 1


@pytest.mark.parametrize("status", [Status.Running, Status.Completed, Status.Terminated, Status.Pending])
async def test_rewind_of_an_instance_that_did_not_fail_is_refused(
    client: DurableOrchestrationClient, hub: TaskHub, status: Status
) -> None:
    await write_row(hub, "fine", status)

    with pytest.raises(InstanceStateError, match=rf"'fine' is {status.name}: only a Failed instance can be rewound"):
        await client.rewind("fine", "why")
    with pytest.raises(InstanceNotFoundError):
        await client.rewind("ghost", "why")

    assert set(await queue_depths(hub)) == {0}


async def test_rewind_of_a_failed_row_without_history_is_refused(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "hollow", Status.Failed, execution_id=EXECUTION)

    with pytest.raises(InstanceStateError, match="'hollow' has no history to rewind"):
        await client.rewind("hollow", "why")
