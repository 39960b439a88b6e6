"""Payloads at the storage limits, end to end (reliability.md T12).

A queue message over 45 KiB of UTF-8 travels in a blob (storage-layout.md §3.4); a table column over 60 KiB of
UTF-16 moves to a blob (storage-layout.md §2.3); a custom status is never offloaded, so it must stay within the Table
service's 64 KiB per property. Each payload must come back exactly as given, purge must leave no blob behind, and a
fan-out wider than one 100-row table transaction must complete. ``tests/storage`` covers the storage layer alone; these
tests go through the client and a worker.

A custom status over 64 KiB fails its orchestration with a message naming the custom status and the limit (it
used to fail every Instances write with PropertyValueTooLarge, and the status never showed).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

import durable_storage as df
import durable_storage.client._instance_operations
import durable_storage.client._start
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._envelope import (
    MAX_MESSAGE_BYTES,
    MessageData,
    decode_message,
    encode_message,
)
from durable_storage._storage.large import MAX_PROPERTY_BYTES
from durable_storage.client._outgoing import instance_message, start_message
from durable_storage.history import EventRaisedEvent, ExecutionStartedEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import events, fast_options

Status = OrchestrationRuntimeStatus
MIB = 1024 * 1024
MAX_TABLE_PROPERTY_UNITS = 32_768
"""The Table service's limit on a string property: 64 KiB of UTF-16, 32,768 code units."""
MIXED = '日本語のテキスト😀🎉 and ASCII, "quoted" \\ '
"""Text that every encoding treats differently: CJK (3 UTF-8 bytes, one UTF-16 unit), emoji (a surrogate pair)."""

app = df.App()


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="n")
def square(n: int) -> int:
    return n * n


@app.orchestration_trigger(context_name="context")
def input_and_event(context: df.DurableOrchestrationContext) -> Any:
    """Waits for a "data" event; returns its input and the event's data."""
    data = yield context.wait_for_external_event("data")
    return [context.get_input(), data]


@app.orchestration_trigger(context_name="context")
def everywhere(context: df.DurableOrchestrationContext) -> Any:
    """Carries its input through an activity and waits for a "data" event; returns both."""
    echoed = yield context.call_activity("echo", context.get_input())
    data = yield context.wait_for_external_event("data")
    return [echoed, data]


@app.orchestration_trigger(context_name="context")
def echo_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """Returns its input after a round trip through an activity (the payload is in four messages and rows)."""
    return (yield context.call_activity("echo", context.get_input()))


@app.orchestration_trigger(context_name="context")
def passthrough(context: df.DurableOrchestrationContext) -> Any:
    """Returns its input at once: the payload is in the start message, two History rows and the Instances row."""
    return context.get_input()


@app.orchestration_trigger(context_name="context")
def spell(context: df.DurableOrchestrationContext) -> Any:
    """Returns the text its small input describes (see ``spelled``): a large output from a small input."""
    return spelled(context.get_input())


@app.orchestration_trigger(context_name="context")
def status_then_wait(context: df.DurableOrchestrationContext) -> Any:
    """Publishes its input as custom status, then waits for a "done" event."""
    context.set_custom_status(context.get_input())
    yield context.wait_for_external_event("done")
    return "finished"


@app.orchestration_trigger(context_name="context")
def status_then_finish(context: df.DurableOrchestrationContext) -> Any:
    """Publishes its input as custom status and completes in the same episode."""
    context.set_custom_status(context.get_input())
    return "finished"


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext) -> Any:
    squares = yield context.task_all([context.call_activity("square", n) for n in range(context.get_input())])
    return sum(squares)


# --- helpers ------------------------------------------------------------------------------------------------------


def utf16_units(text: str) -> int:
    """The length .NET sees: UTF-16 code units, two for each character outside the BMP."""
    return len(text.encode("utf-16-le")) // 2


def text_of_units(units: int) -> str:
    """Text of exactly ``units`` UTF-16 code units: CJK, emoji and ASCII, ending with a surrogate pair."""
    body = MIXED * (units // utf16_units(MIXED))
    while utf16_units(body) > units - 2:
        body = body[:-1]
    text = body + "a" * (units - 2 - utf16_units(body)) + "🎉"
    assert utf16_units(text) == units
    return text


def spec_of_json_length(length: int) -> dict[str, int]:
    """A description of text (CJK, emoji, ASCII) whose JSON encoding, as payloads are stored, has ``length``
    characters: payloads are JSON with non-ASCII escaped, so that is also their length in UTF-16 units."""
    repeat = (length - 2) // (len(json.dumps(MIXED)) - 2)
    return {"repeat": repeat, "pad": length - len(json.dumps(MIXED * repeat))}


def spelled(spec: dict[str, int]) -> str:
    return MIXED * spec["repeat"] + "a" * spec["pad"]


def blob_kinds(names: list[str]) -> Counter[str]:
    """What each large-message blob holds, from its name (storage-layout.md §2.3, §3.4)."""
    kinds: Counter[str] = Counter()
    for blob_name in names:
        name = blob_name.rsplit("/", 1)[1].removesuffix(".json.gz")
        if name.startswith("message-"):
            kinds["message " + name.rsplit("-", 1)[1]] += 1  # message-{ActivityId}-{EventType}
            continue
        _, row_key, event_type, _, column = name.split("-")  # history-{RowKey}-{EventType}-{random}-{Column}
        kinds[f"Instances {column}" if row_key == "" else f"History {event_type} {column}"] += 1
    return kinds


async def all_blobs(hub: TaskHub) -> list[str]:
    return await hub.account.blobs.list_names(hub.names.large_messages_container, prefix="")


async def history_rows(hub: TaskHub, instance_id: str) -> list[dict[str, Any]]:
    """The raw History rows of an instance (sentinel left out), as the table holds them."""
    rows = hub.account.tables.query(
        hub.names.history_table, "PartitionKey eq @p", parameters={"p": hub.escape(instance_id)}
    )
    return [{"RowKey": row.row_key, **row.values} async for row in rows if row.row_key != "sentinel"]


async def instances_row(hub: TaskHub, instance_id: str) -> dict[str, Any]:
    row = await hub.account.tables.get(hub.names.instances_table, hub.escape(instance_id), "")
    assert row is not None
    return dict(row.values)


def control_queue(hub: TaskHub, instance_id: str) -> str:
    return hub.control_queue_of(instance_id)


# --- 45 KiB of queue message ----------------------------------------------------------------------------------

FROZEN = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=timezone.utc)
"""The client's clock in the boundary test: message sizes depend on how many fraction digits a time has."""


@pytest.fixture
def frozen_client_clock(monkeypatch: pytest.MonkeyPatch, client: DurableOrchestrationClient) -> Iterator[None]:
    """Stop the client's clock (its hub's, the seam every client time comes from), so that the size of the
    messages it sends is known to the byte."""
    monkeypatch.setattr(client.task_hub, "clock", lambda: FROZEN)
    yield


def padded(size_of: Callable[[str], int], target: int) -> str:
    """Text (CJK, emoji, ASCII) for which ``size_of(text)`` is ``target``; each added "a" adds one byte."""
    text = MIXED * 200
    text += "a" * (target - size_of(text))
    assert size_of(text) == target
    return text


def start_size(instance_id: str, name: str, value: str) -> int:
    """UTF-8 bytes of the start message the client sends first (sequence number 1) for ``value``."""
    message = start_message(
        instance_id=instance_id,
        execution_id="0" * 32,
        name=name,
        version=None,
        input=json.dumps(value),
        now=FROZEN,
        scheduled_start_time=None,
        generation=0,
    )
    return len(encode_message(replace(message, sequence_number=1)).encode("utf-8"))


def event_size(instance_id: str, value: str) -> int:
    """UTF-8 bytes of the EventRaised message the client sends second (sequence number 2) for ``value``."""
    event = EventRaisedEvent(timestamp=FROZEN, name="data", input=json.dumps(value))
    message = instance_message(instance_id, event)
    return len(encode_message(replace(message, sequence_number=2)).encode("utf-8"))


async def queued_message(hub: TaskHub, queue: str, index: int) -> tuple[str, MessageData, bool]:
    """The full text of the ``index``th message of ``queue`` (from its blob if it has one), decoded, and whether it
    went to a blob."""
    peeked = (await hub.account.queues.peek(queue))[index]
    data = decode_message(peeked.body)
    if not data.compressed_blob_name:
        return peeked.body, data, False
    text = await hub.account.blobs.download_text(hub.names.large_messages_container, data.compressed_blob_name)
    return text, decode_message(text, max_chars=len(text)), True


@pytest.mark.usefixtures("frozen_client_clock")
@pytest.mark.parametrize("extra", [0, 1], ids=["exactly 45 KiB: in the queue", "45 KiB + 1 byte: in a blob"])
async def test_input_and_event_messages_at_45_kib_round_trip_on_either_side_of_the_blob_threshold(
    client: DurableOrchestrationClient, hub: TaskHub, extra: int
) -> None:
    instance_id = f"boundary-{extra}"
    target = MAX_MESSAGE_BYTES + extra
    value = padded(lambda text: start_size(instance_id, "input_and_event", text), target)
    data = padded(lambda text: event_size(instance_id, text), target)
    queue = control_queue(hub, instance_id)

    await client.start_new("input_and_event", instance_id, value)
    await client.raise_event(instance_id, "data", data)

    # Before any worker runs: both messages are exactly ``target`` bytes, and only the larger ones sit in blobs.
    for index, expected in enumerate([value, data]):
        text, message, in_blob = await queued_message(hub, queue, index)
        assert len(text.encode("utf-8")) == target
        assert in_blob is (extra > 0)
        assert message.task_message is not None
        event = message.task_message.event
        assert isinstance(event, (ExecutionStartedEvent, EventRaisedEvent))
        assert json.loads(event.input or "null") == expected
    kinds = blob_kinds(await all_blobs(hub))
    assert (kinds["message ExecutionStarted"], kinds["message EventRaised"]) == (extra, extra)

    async with Worker(client, app, options=fast_options()):
        status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Status.Completed
    assert status.output == [value, data]
    assert (await client.get_status(instance_id, show_input=True)).input_ == value


# --- 60 KiB and 64 KiB of table property -----------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 1], ids=["exactly 60 KiB: in the row", "60 KiB + 1 unit: in a blob"])
async def test_an_output_at_60_kib_of_utf16_round_trips_on_either_side_of_the_offload_threshold(
    client: DurableOrchestrationClient, hub: TaskHub, extra: int
) -> None:
    # Payloads are stored as JSON with non-ASCII escaped, so their JSON length is their UTF-16 length.
    spec = spec_of_json_length(MAX_PROPERTY_BYTES // 2 + extra)
    expected = spelled(spec)
    assert len(json.dumps(expected)) * 2 == MAX_PROPERTY_BYTES + 2 * extra

    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("spell", f"output-{extra}", spec)
        status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Status.Completed
    assert status.output == expected
    [completed] = [row for row in await history_rows(hub, instance_id) if row["EventType"] == "ExecutionCompleted"]
    row = await instances_row(hub, instance_id)
    if extra:
        assert completed["Result"] == "" and completed["ResultBlobName"]
        assert str(row["Output"]).startswith(hub.account.blobs.container_url(hub.names.large_messages_container))
    else:
        assert completed["Result"] == json.dumps(expected) and "ResultBlobName" not in completed
        assert row["Output"] == json.dumps(expected)


@pytest.mark.parametrize("units", [MAX_TABLE_PROPERTY_UNITS, MAX_TABLE_PROPERTY_UNITS + 1])
async def test_text_of_32768_or_32769_utf16_units_round_trips_as_input_activity_result_event_and_output(
    client: DurableOrchestrationClient, hub: TaskHub, units: int
) -> None:
    value = text_of_units(units)
    data = text_of_units(units)[::-1]  # the same characters in another order

    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("everywhere", f"units-{units}", value)
        await wait_until(
            lambda: _has_event(client, instance_id, "TaskCompleted"), timeout=20, what="the activity's result"
        )
        await client.raise_event(instance_id, "data", data)
        status = await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    assert status.runtime_status is Status.Completed
    assert status.output == [value, data]
    assert (await client.get_status(instance_id, show_input=True)).input_ == value
    history = await client.get_history(instance_id)
    assert [json.loads(e["Result"]) for e in events(history, "TaskCompleted")] == [value]
    assert [json.loads(e["Input"]) for e in events(history, "EventRaised")] == [data]
    # Over 64 KiB once stored: every row and message that carried them went through a blob.
    kinds = blob_kinds(await all_blobs(hub))
    for kind in [
        "History ExecutionStarted Input",
        "History TaskScheduled Input",
        "History TaskCompleted Result",
        "History EventRaised Input",
        "History ExecutionCompleted Result",
        "message ExecutionStarted",
        "message TaskScheduled",
        "message TaskCompleted",
        "message EventRaised",
    ]:
        assert kinds[kind] == 1, kind


async def _has_event(client: DurableOrchestrationClient, instance_id: str, event_type: str) -> bool:
    return bool(events(await client.get_history(instance_id), event_type))


# --- custom status ----------------------------------------------------------------------------------------------


async def test_a_custom_status_of_64_kib_the_table_property_limit_round_trips(
    client: DurableOrchestrationClient,
) -> None:
    value = spelled(spec_of_json_length(MAX_TABLE_PROPERTY_UNITS))  # stored as JSON: exactly 32,768 UTF-16 units

    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("status_then_wait", "status-max", value)

        async def published() -> bool:
            status = await client.get_status(instance_id)
            return status.runtime_status is Status.Running and status.custom_status == value

        await wait_until(published, timeout=20, what="the custom status to be published")
        await client.raise_event(instance_id, "done")
        await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    status = await client.get_status(instance_id)
    assert (status.runtime_status, status.output, status.custom_status) == (Status.Completed, "finished", value)


async def test_a_custom_status_over_64_kib_round_trips_or_fails_the_orchestration_naming_the_field_and_limit(
    client: DurableOrchestrationClient,
) -> None:
    value = spelled(spec_of_json_length(MAX_TABLE_PROPERTY_UNITS + 1))

    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("status_then_finish", "status-over", value)
        await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)

    status = await client.get_status(instance_id)  # as the worker left it, once drained
    if status.runtime_status is Status.Failed:
        reason = str(status.output)
        assert "custom status" in reason.lower() and ("65536" in reason or "64 KiB" in reason), reason
        assert "PropertyValueTooLarge" not in reason
    else:
        assert (status.runtime_status, status.custom_status) == (Status.Completed, value)


# --- 1 MiB and 10 MiB, purge --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "orchestrator"),
    [(MIB, "echo_orchestrator"), (10 * MIB, "passthrough")],
    ids=["1 MiB through an activity", "10 MiB"],
)
async def test_a_huge_input_and_output_round_trip_and_purge_leaves_no_blob(
    client: DurableOrchestrationClient, hub: TaskHub, size: int, orchestrator: str
) -> None:
    # 10 MiB takes 7-11 s, most of it in utf16_size() on the event loop (through an activity: 11-24 s).
    payload = {"document": os.urandom(size // 2).hex(), "note": MIXED}  # random: gzip cannot shrink it much
    instance_id = f"huge/{size}#1"  # "/" and "#" are escaped in table keys (history blobs), not in message blobs

    async with Worker(client, app, options=fast_options()):
        await client.start_new(orchestrator, instance_id, payload)
        status = await client.wait_for_completion(instance_id, timeout=45, poll_interval=0.2)

    assert status.runtime_status is Status.Completed
    assert status.output == payload
    assert (await client.get_status(instance_id, show_input=True)).input_ == payload
    names = await all_blobs(hub)
    assert {name.split("/history-")[0] for name in names if "/history-" in name} == {hub.escape(instance_id)}
    assert {name.split("/message-")[0] for name in names if "/message-" in name} == {instance_id}

    assert (await client.purge_instance_history(instance_id)).instances_deleted == 1

    assert await all_blobs(hub) == []
    assert not await client.get_status(instance_id)


# --- a fan-out wider than one table transaction ------------------------------------------------------------------


async def test_a_fan_out_of_250_activities_checkpoints_over_100_rows_at_once_and_sums_right(
    client: DurableOrchestrationClient,
) -> None:
    async with Worker(client, app, options=fast_options(max_concurrent_activities=50)):
        instance_id = await client.start_new("fan_out_fan_in", "wide", 250)
        status = await client.wait_for_completion(instance_id, timeout=40, poll_interval=0.2)

    assert status.runtime_status is Status.Completed
    assert status.output == sum(n * n for n in range(250))
    history = await client.get_history(instance_id)
    scheduled = events(history, "TaskScheduled")
    assert len(scheduled) == 250
    # All 250 were scheduled in the first episode: one checkpoint of more than 100 rows (several transactions).
    first_completed = next(i for i, e in enumerate(history) if e["EventType"] == "OrchestratorCompleted")
    assert len(events(history[:first_completed], "TaskScheduled")) == 250
    assert sorted(e["TaskScheduledId"] for e in events(history, "TaskCompleted")) == list(range(250))
