"""Queue verbs against a real Azurite: delays, batches, visibility, pop receipts."""

from __future__ import annotations

import asyncio
import time

import pytest
from azure.storage.queue.aio import QueueClient

from durable_storage.errors import ConfigurationError, ConflictError
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until


@pytest.fixture
def queue(hub: TaskHub) -> str:
    return hub.names.control_queue(0)


async def test_a_batch_receive_takes_up_to_32_messages_in_one_call(hub: TaskHub, queue: str) -> None:
    queues = hub.account.queues
    await asyncio.gather(*(queues.put(queue, f"m{i}") for i in range(40)))

    first = await queues.receive(queue, visibility=30)
    second = await queues.receive(queue, visibility=30)

    assert len(first) == 32
    assert len(second) == 8
    assert {m.body for m in first + second} == {f"m{i}" for i in range(40)}
    assert all(m.dequeue_count == 1 and m.pop_receipt for m in first)


async def test_a_delayed_message_stays_hidden_until_its_delay_passes(hub: TaskHub, queue: str) -> None:
    queues = hub.account.queues
    await queues.put(queue, "later", visible_in=2)
    sent = time.monotonic()

    assert await queues.receive(queue, visibility=30) == []
    [message] = await wait_until(lambda: queues.receive(queue, visibility=30))
    assert message.body == "later"
    assert time.monotonic() - sent >= 1.5


async def test_messages_never_expire(hub: TaskHub, queue: str, connection_string: str) -> None:
    await hub.account.queues.put(queue, "forever")
    async with QueueClient.from_connection_string(connection_string, queue) as raw:
        [peeked] = await raw.peek_messages()
    assert peeked.expires_on is not None and peeked.expires_on.year == 9999


async def test_update_visibility_returns_the_receipt_that_deletes(hub: TaskHub, queue: str) -> None:
    queues = hub.account.queues
    await queues.put(queue, "x")
    [message] = await queues.receive(queue, visibility=30)

    renewed = await queues.update_visibility(message, visible_in=30)
    assert renewed.pop_receipt != message.pop_receipt

    with pytest.raises(ConflictError, match="newer pop receipt"):
        await queues.delete_message(message)
    assert await queues.delete_message(renewed) is True
    assert await queues.count(queue) == 0


async def test_abandoning_makes_a_message_visible_again_with_a_higher_dequeue_count(hub: TaskHub, queue: str) -> None:
    queues = hub.account.queues
    await queues.put(queue, "retry me")
    [message] = await queues.receive(queue, visibility=30)

    await queues.update_visibility(message, visible_in=0)
    [again] = await wait_until(lambda: queues.receive(queue, visibility=30))

    assert again.id == message.id
    assert again.dequeue_count == 2


async def test_deleting_a_message_twice_is_not_an_error(hub: TaskHub, queue: str) -> None:
    queues = hub.account.queues
    await queues.put(queue, "once")
    [message] = await queues.receive(queue, visibility=30)

    assert await queues.delete_message(message) is True
    assert await queues.delete_message(message) is False


async def test_peek_leaves_messages_visible(hub: TaskHub, queue: str) -> None:
    queues = hub.account.queues
    await queues.put(queue, "look")
    [peeked] = await queues.peek(queue)
    [received] = await queues.receive(queue, visibility=30)
    assert peeked.id == received.id and peeked.pop_receipt is None


@pytest.mark.parametrize("delay", [-1, 7 * 24 * 3600 + 1, float("nan")])
async def test_a_delay_outside_0_to_7_days_is_refused_before_sending(hub: TaskHub, queue: str, delay: float) -> None:
    with pytest.raises(ConfigurationError, match="must be 0 to 604800 s"):
        await hub.account.queues.put(queue, "never", visible_in=delay)
    assert await hub.account.queues.count(queue) == 0
