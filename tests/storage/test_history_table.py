"""The History table against a real Azurite: rows as .NET writes them, sentinel fencing, batching, large values."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage._storage.history_table import SENTINEL
from durable_storage.errors import ConflictError
from durable_storage.history import (
    ExecutionStartedEvent,
    HistoryEvent,
    OrchestrationInstance,
    OrchestratorStartedEvent,
    TaskCompletedEvent,
    TaskScheduledEvent,
)
from durable_storage.taskhub import TaskHub

T0 = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)


def started(instance_id: str, execution_id: str, *, input: str | None = '"in"') -> list[HistoryEvent]:
    return [
        OrchestratorStartedEvent(timestamp=T0),
        ExecutionStartedEvent(
            timestamp=T0,
            orchestration_instance=OrchestrationInstance(instance_id, execution_id),
            name="hello",
            version="",
            input=input,
            tags={"team": "a"},
            generation=0,
        ),
    ]


def scheduled(count: int, *, first_id: int = 0) -> list[HistoryEvent]:
    return [
        TaskScheduledEvent(
            event_id=first_id + i, timestamp=T0 + timedelta(seconds=i), name="say_hello", input=f'"c{i}"'
        )
        for i in range(count)
    ]


async def raw_rows(hub: TaskHub, escaped_id: str) -> list[dict[str, object]]:
    rows = hub.account.tables.query(hub.names.history_table, "PartitionKey eq @p", parameters={"p": escaped_id})
    return [{"RowKey": row.row_key, **row.values} async for row in rows]


async def test_events_are_rows_with_hex_keys_and_dotnet_columns(hub: TaskHub) -> None:
    key = hub.escape("inst/1")
    events = [*started("inst/1", "e1"), *scheduled(1)]

    await hub.history.append("inst/1", "e1", events, first_index=0, etag=None)

    rows = await raw_rows(hub, key)
    assert [r["RowKey"] for r in rows] == ["0000000000000000", "0000000000000001", "0000000000000002", SENTINEL]
    assert key == "inst^01"
    start = rows[1]
    assert start["EventType"] == "ExecutionStarted"
    assert start["ExecutionId"] == "e1"
    assert start["EventId"] == -1
    assert start["IsPlayed"] is False
    assert start["_Timestamp"] == T0
    assert json.loads(str(start["OrchestrationInstance"])) == {"InstanceId": "inst/1", "ExecutionId": "e1"}
    assert start["ParentInstance"] == "null"
    assert json.loads(str(start["Tags"])) == {"team": "a"}
    assert "Correlation" not in start  # a null primitive is an absent column
    assert rows[2]["EventType"] == "TaskScheduled" and rows[2]["EventId"] == 0
    sentinel = rows[3]
    assert sentinel["ExecutionId"] == "e1" and sentinel["IsCheckpointComplete"] is True
    assert isinstance(sentinel["CheckpointCompletedTimestamp"], datetime)


async def test_loading_returns_the_events_and_the_sentinel_etag(hub: TaskHub) -> None:
    events = [*started("abc", "e1"), *scheduled(2)]
    etag = await hub.history.append("abc", "e1", events, first_index=0, etag=None)

    loaded = await hub.history.load("abc")

    assert loaded.events == events
    assert loaded.etag == etag
    assert loaded.execution_id == "e1"


async def test_a_stale_etag_is_a_conflict_and_writes_nothing(hub: TaskHub) -> None:
    first = await hub.history.append("contended", "e1", started("contended", "e1"), first_index=0, etag=None)
    await hub.history.append("contended", "e1", scheduled(1), first_index=2, etag=first)  # the other worker wins

    with pytest.raises(ConflictError, match="another worker checkpointed this instance first") as caught:
        await hub.history.append("contended", "e1", scheduled(1, first_id=5), first_index=2, etag=first)

    assert caught.value.status == 412
    [event] = (await hub.history.load("contended")).events[2:]
    assert isinstance(event, TaskScheduledEvent) and event.event_id == 0


async def test_two_first_checkpoints_collide_on_the_sentinel_insert(hub: TaskHub) -> None:
    await hub.history.append("twins", "e1", started("twins", "e1"), first_index=0, etag=None)

    with pytest.raises(ConflictError) as caught:
        await hub.history.append("twins", "e2", started("twins", "e2"), first_index=0, etag=None)

    assert caught.value.status == 409
    assert (await hub.history.load("twins")).execution_id == "e1"


async def test_a_long_checkpoint_is_written_in_batches_of_99_events_plus_the_sentinel(hub: TaskHub) -> None:
    key = hub.escape("long")
    events = [*started("long", "e1"), *scheduled(248)]  # 250 events: 99 + 99 + 52

    etag = await hub.history.append("long", "e1", events, first_index=0, etag=None)

    loaded = await hub.history.load("long")
    assert loaded.events == events and loaded.etag == etag
    rows = await raw_rows(hub, key)
    assert rows[-2]["RowKey"] == f"{249:016X}"
    assert rows[-1]["IsCheckpointComplete"] is True


async def test_an_appended_episode_continues_the_row_numbering(hub: TaskHub) -> None:
    key = hub.escape("episodes")
    etag = await hub.history.append(
        "episodes", "e1", [*started("episodes", "e1"), *scheduled(1)], first_index=0, etag=None
    )
    more = [
        OrchestratorStartedEvent(timestamp=T0),
        TaskCompletedEvent(timestamp=T0, task_scheduled_id=0, result='"ok"'),
    ]

    await hub.history.append("episodes", "e1", more, first_index=3, etag=etag)

    loaded = await hub.history.load("episodes")
    assert loaded.events[3:] == more
    assert [r["RowKey"] for r in await raw_rows(hub, key)][3:5] == ["0000000000000003", "0000000000000004"]


async def test_loading_stops_at_rows_left_over_from_an_older_longer_execution(hub: TaskHub) -> None:
    key = hub.escape("renewed")
    etag = await hub.history.append(
        "renewed", "e1", [*started("renewed", "e1"), *scheduled(5)], first_index=0, etag=None
    )
    # ContinueAsNew: the new execution overwrites from RowKey 0 with the old sentinel ETag (storage-layout.md §5.5).
    new_events = [*started("renewed", "e2", input='"next"'), *scheduled(1)]
    await hub.history.append("renewed", "e2", new_events, first_index=0, etag=etag)

    loaded = await hub.history.load("renewed")
    assert loaded.execution_id == "e2"
    assert loaded.events == new_events
    assert len(await raw_rows(hub, key)) == 8  # the tail of e1 is still stored, and ignored


async def test_loading_another_execution_gives_no_events_but_keeps_the_etag(hub: TaskHub) -> None:
    etag = await hub.history.append("recreated", "e1", started("recreated", "e1"), first_index=0, etag=None)

    loaded = await hub.history.load("recreated", execution_id="e2")

    assert loaded.events == []
    assert loaded.etag == etag
    assert (await hub.history.load("recreated", execution_id="e1")).events == started("recreated", "e1")


async def test_a_missing_history_is_empty_without_etag(hub: TaskHub) -> None:
    loaded = await hub.history.load("nobody")
    assert loaded.events == [] and loaded.etag is None and loaded.execution_id is None


async def test_deleting_a_history_removes_every_row(hub: TaskHub) -> None:
    key = hub.escape("gone")
    await hub.history.append("gone", "e1", [*started("gone", "e1"), *scheduled(150)], first_index=0, etag=None)

    assert await hub.history.delete("gone") == 153
    assert await raw_rows(hub, key) == []
