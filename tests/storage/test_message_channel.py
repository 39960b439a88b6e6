"""The message channel against a real Azurite: envelopes in and out, large messages behind blobs, poison bodies.

A message over 45 KiB of UTF-8 goes to ``{instanceId}/message-{ActivityId:N}-{EventType}.json.gz`` behind a small
wrapper (storage-layout.md §3.4). A body we must not decode comes back as ``Received(error=...)`` and never spoils
the rest of its batch (reliability.md §4.3).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest

from durable_storage._envelope import MessageData, TaskMessage, encode_message, large_message_wrapper
from durable_storage._storage.message_channel import Received
from durable_storage.errors import MessageFormatError
from durable_storage.history import ExecutionStartedEvent, OrchestrationInstance, TaskScheduledEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until

T0 = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)
CLIENT = OrchestrationInstance("", "")


@pytest.fixture
def queue(hub: TaskHub) -> str:
    return hub.names.control_queue(0)


def start_message(instance_id: str, *, input: str = '{"city":"Zürich"}') -> MessageData:
    """What a client sends to start an instance."""
    event = ExecutionStartedEvent(
        timestamp=T0,
        orchestration_instance=OrchestrationInstance(instance_id, "e1"),
        name="hello",
        version="",
        input=input,
        tags={"team": "a"},
        generation=0,
    )
    return MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(event=event, orchestration_instance=OrchestrationInstance(instance_id, "e1")),
        sender=CLIENT,
    )


def scheduled_message(instance_id: str, *, input: str = '"London"') -> MessageData:
    """What an orchestration sends when it schedules an activity."""
    event = TaskScheduledEvent(event_id=2, timestamp=T0, name="say_hello", version="", input=input)
    instance = OrchestrationInstance(instance_id, "e1")
    return MessageData(
        activity_id=uuid.uuid4(),
        task_message=TaskMessage(event=event, orchestration_instance=instance),
        episode=3,
        sender=instance,
    )


async def receive_all(hub: TaskHub, queue: str, count: int) -> list[Received]:
    """Wait until ``count`` messages were received (hidden for 30 s), whatever batches they came in."""
    received: list[Received] = []

    async def more() -> bool:
        received.extend(await hub.messages.receive(queue, visibility=30))
        return len(received) >= count

    await wait_until(more, what=f"{count} messages in {queue}")
    return received


async def test_sent_messages_come_back_equal_with_increasing_sequence_numbers(hub: TaskHub, queue: str) -> None:
    first = await hub.messages.send(queue, start_message("abc"))
    second = await hub.messages.send(queue, scheduled_message("abc"))

    received = await receive_all(hub, queue, 2)

    assert first.sequence_number < second.sequence_number
    assert [r.error for r in received] == [None, None]
    assert sorted((r.data for r in received if r.data), key=lambda d: d.sequence_number) == [first, second]


async def test_the_queue_body_is_the_dotnet_envelope(hub: TaskHub, queue: str) -> None:
    sent = await hub.messages.send(queue, scheduled_message("abc"))

    [peeked] = await hub.account.queues.peek(queue)

    body = json.loads(peeked.body)
    assert body["$type"] == "DurableTask.AzureStorage.MessageData"
    assert body["ActivityId"] == str(sent.activity_id)
    assert body["SequenceNumber"] == sent.sequence_number and body["Episode"] == 3
    assert body["TaskMessage"]["Event"]["$type"] == "DurableTask.Core.History.TaskScheduledEvent"
    assert body["TaskMessage"]["Event"]["EventType"] == 4
    assert body["CompressedBlobName"] is None


async def test_a_message_over_45_kib_of_utf8_travels_in_a_blob_behind_a_small_wrapper(hub: TaskHub, queue: str) -> None:
    # 24,000 "é" are 48,000 UTF-8 bytes: over the limit although the JSON has fewer than 45 Ki characters.
    instance_id = "order#7"
    sent = await hub.messages.send(queue, scheduled_message(instance_id, input='"' + "é" * 24_000 + '"'))

    [peeked] = await hub.account.queues.peek(queue)
    wrapper = json.loads(peeked.body)
    blob_name = f"order#7/message-{sent.activity_id.hex}-TaskScheduled.json.gz"  # the raw id, not escaped
    assert len(peeked.body) < 1024
    assert wrapper["CompressedBlobName"] == blob_name
    assert wrapper["TaskMessage"] is None
    assert wrapper["ActivityId"] == str(uuid.UUID(int=0))
    assert "Episode" not in wrapper and "Sender" not in wrapper  # errata 5: the wrapper omits both
    container = hub.names.large_messages_container
    assert await hub.account.blobs.list_names(container, prefix=f"{instance_id}/") == [blob_name]

    [received] = await receive_all(hub, queue, 1)
    assert received.error is None and received.data == sent

    # As in .NET, deleting the message keeps its blob: it goes when the instance is purged.
    assert await hub.messages.delete(received.message) is True
    assert await hub.account.blobs.list_names(container, prefix=f"{instance_id}/") == [blob_name]


async def test_a_message_just_under_45_kib_stays_in_the_queue(hub: TaskHub, queue: str) -> None:
    message = scheduled_message("abc", input="")
    room = 45 * 1024 - len(encode_message(message).encode("utf-8"))
    sent = await hub.messages.send(queue, scheduled_message("abc", input="x" * room))

    [peeked] = await hub.account.queues.peek(queue)
    assert len(peeked.body.encode("utf-8")) == 45 * 1024
    assert json.loads(peeked.body)["CompressedBlobName"] is None
    [received] = await receive_all(hub, queue, 1)
    assert received.data == sent


async def test_a_base64_body_from_a_dotnet_hub_set_to_base64_decodes_too(hub: TaskHub, queue: str) -> None:
    message = scheduled_message("abc")
    await hub.account.queues.put(queue, encode_message(message, base64_body=True))

    [received] = await receive_all(hub, queue, 1)

    assert received.error is None and received.data == message


def with_event_type(message: MessageData, type_name: str) -> str:
    return encode_message(message).replace("DurableTask.Core.History.TaskScheduledEvent", type_name)


POISON = {
    "garbage": "this is not a message",
    "JSON of something else": '{"hello": "world"}',
    "unknown $type": with_event_type(scheduled_message("abc"), "System.Diagnostics.Process, System"),
    "blob outside the container": encode_message(large_message_wrapper("../x")),
    "blob at another host": encode_message(large_message_wrapper("https://evil.example/x")),
    "missing blob": encode_message(large_message_wrapper("abc/message-0123-TaskScheduled.json.gz")),
}


async def test_undecodable_messages_come_back_as_errors_and_the_rest_of_the_batch_decodes(
    hub: TaskHub, queue: str
) -> None:
    good = await hub.messages.send(queue, scheduled_message("abc"))
    large = await hub.messages.send(queue, scheduled_message("big", input='"' + "x" * 50_000 + '"'))
    for body in POISON.values():
        await hub.account.queues.put(queue, body)

    received = await receive_all(hub, queue, 2 + len(POISON))

    assert sorted((r.data for r in received if r.data), key=lambda d: d.sequence_number) == [good, large]
    errors = {r.message.body: r.error for r in received if r.data is None}
    assert set(errors) == set(POISON.values())
    for case, body in POISON.items():
        assert isinstance(errors[body], MessageFormatError), case
    assert "does not exist" in str(errors[POISON["missing blob"]])
    assert "System.Diagnostics.Process" in str(errors[POISON["unknown $type"]])


async def test_a_blob_that_holds_another_wrapper_is_refused(hub: TaskHub, queue: str) -> None:
    # A wrapper pointing at a wrapper could chain requests for ever; only one hop is followed.
    container = hub.names.large_messages_container
    await hub.account.blobs.upload_text(
        container, "loop.json.gz", encode_message(large_message_wrapper("loop.json.gz"))
    )
    await hub.account.queues.put(queue, encode_message(large_message_wrapper("loop.json.gz")))

    [received] = await receive_all(hub, queue, 1)

    assert isinstance(received.error, MessageFormatError)
    assert "holds another wrapper" in str(received.error)


async def test_visible_in_delays_delivery(hub: TaskHub, queue: str) -> None:
    sent_at = time.monotonic()
    sent = await hub.messages.send(queue, start_message("later"), visible_in=1)

    assert await hub.messages.receive(queue, visibility=30) == []
    [received] = await receive_all(hub, queue, 1)

    assert received.data == sent
    assert time.monotonic() - sent_at >= 0.9
