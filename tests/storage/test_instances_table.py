"""The Instances table on a real Azurite: one row per instance, columns as .NET stores them (storage-layout.md §2.2)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage._names import unescape_key
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.tables import Row, Write, WriteMode
from durable_storage.errors import ConflictError, MessageFormatError
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

T0 = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)


def full_record(instance_id: str) -> InstanceRecord:
    """A record with every column set."""
    return InstanceRecord(
        instance_id=instance_id,
        name="process_order",
        version="1.0",
        input='{"order":7}',
        output='"shipped"',
        custom_status='{"step":"packing"}',
        created_time=T0,
        last_updated_time=T0 + timedelta(seconds=5),
        completed_time=T0 + timedelta(seconds=9),
        runtime_status=Status.Running,
        execution_id="9f0c1d2e3b4a5f60718293a4b5c6d7e8",
        scheduled_start_time=T0 - timedelta(hours=1),
        generation=2,
        tags={"team": "logistik", "région": "Zürich"},
        task_hub_name="MyHub",
    )


async def raw_row(hub: TaskHub, instance_id: str) -> Row | None:
    return await hub.account.tables.get(hub.names.instances_table, hub.escape(instance_id), "")


async def test_a_record_with_every_column_reads_back_equal(hub: TaskHub) -> None:
    record = full_record("orders/7")

    etag = await hub.instances.write(record, mode=WriteMode.INSERT)

    read = await hub.instances.read("orders/7")
    assert read == replace(record, etag=etag)
    assert etag is not None


async def test_the_row_is_laid_out_as_dotnet_reads_it(hub: TaskHub) -> None:
    await hub.instances.write(full_record("orders/7"), mode=WriteMode.INSERT)

    row = await raw_row(hub, "orders/7")

    assert row is not None
    assert (row.partition_key, row.row_key) == ("orders^07", "")
    values = row.values
    assert values["RuntimeStatus"] == "Running"  # by name, never the number 0
    assert isinstance(values["Tags"], str)
    assert json.loads(values["Tags"]) == {"team": "logistik", "région": "Zürich"}
    assert values["Generation"] == 2
    assert values["CreatedTime"] == T0 and isinstance(values["CreatedTime"], datetime)
    assert values["TaskHubName"] == "MyHub"


async def test_absent_values_are_absent_columns(hub: TaskHub) -> None:
    record = InstanceRecord(instance_id="sparse", name="hello", runtime_status=Status.Pending)

    await hub.instances.write(record, mode=WriteMode.INSERT)

    row = await raw_row(hub, "sparse")
    assert row is not None
    assert set(row.values) == {"Name", "RuntimeStatus"}
    read = await hub.instances.read("sparse")
    assert read is not None and read.output is None and read.tags is None and read.completed_time is None


async def test_insert_of_an_existing_instance_is_a_conflict(hub: TaskHub) -> None:
    await hub.instances.write(full_record("once"), mode=WriteMode.INSERT)

    with pytest.raises(ConflictError) as caught:
        await hub.instances.write(replace(full_record("once"), name="other"), mode=WriteMode.INSERT)

    assert caught.value.status == 409
    read = await hub.instances.read("once")
    assert read is not None and read.name == "process_order"


async def test_replace_with_a_stale_etag_is_a_conflict_and_changes_nothing(hub: TaskHub) -> None:
    record = full_record("raced")
    first = await hub.instances.write(record, mode=WriteMode.INSERT)
    winner = replace(record, runtime_status=Status.Completed, etag=first)
    await hub.instances.write(winner, mode=WriteMode.REPLACE)

    loser = replace(record, runtime_status=Status.Failed, output="boom", etag=first)
    with pytest.raises(ConflictError) as caught:
        await hub.instances.write(loser, mode=WriteMode.REPLACE)

    assert caught.value.status == 412
    read = await hub.instances.read("raced")
    assert read is not None and read.runtime_status is Status.Completed and read.output == '"shipped"'


async def test_replace_with_the_current_etag_drops_the_columns_not_given(hub: TaskHub) -> None:
    etag = await hub.instances.write(full_record("renewed"), mode=WriteMode.INSERT)
    fresh = InstanceRecord(instance_id="renewed", name="process_order", runtime_status=Status.Pending, etag=etag)

    new_etag = await hub.instances.write(fresh, mode=WriteMode.REPLACE)

    assert new_etag != etag
    assert await hub.instances.read("renewed") == replace(fresh, etag=new_etag)


async def test_merge_changes_only_the_columns_it_is_given(hub: TaskHub) -> None:
    record = full_record("merged")
    etag = await hub.instances.write(record, mode=WriteMode.INSERT)
    done = T0 + timedelta(minutes=1)
    change = InstanceRecord(instance_id="merged", runtime_status=Status.Completed, output='"done"', completed_time=done)

    new_etag = await hub.instances.write(change, mode=WriteMode.MERGE)

    read = await hub.instances.read("merged")
    expected = replace(record, runtime_status=Status.Completed, output='"done"', completed_time=done, etag=new_etag)
    assert read == expected
    assert new_etag != etag


async def test_merge_with_a_stale_etag_is_a_conflict(hub: TaskHub) -> None:
    etag = await hub.instances.write(full_record("fenced"), mode=WriteMode.INSERT)
    await hub.instances.write(InstanceRecord(instance_id="fenced", generation=3), mode=WriteMode.MERGE)

    with pytest.raises(ConflictError):
        await hub.instances.write(InstanceRecord(instance_id="fenced", generation=9, etag=etag), mode=WriteMode.MERGE)
    read = await hub.instances.read("fenced")
    assert read is not None and read.generation == 3


async def test_an_unknown_runtime_status_reads_as_none(hub: TaskHub) -> None:
    # A newer writer may store a status this version does not know; .NET reads it as (OrchestrationStatus)(-1).
    row = Row("future", "", {"Name": "hello", "RuntimeStatus": "Rewinding", "Generation": 1})
    await hub.account.tables.write(hub.names.instances_table, Write(WriteMode.INSERT, row))

    read = await hub.instances.read("future")

    assert read is not None
    assert read.runtime_status is None
    assert (read.name, read.generation) == ("hello", 1)


@pytest.mark.parametrize(("tags", "expected"), [("null", None), ("", None), ('{"a":"1"}', {"a": "1"})])
async def test_tags_written_by_dotnet_read_back(hub: TaskHub, tags: str, expected: dict[str, str] | None) -> None:
    row = Row("tagged", "", {"Tags": tags})
    await hub.account.tables.write(hub.names.instances_table, Write(WriteMode.INSERT, row))

    read = await hub.instances.read("tagged")

    assert read is not None and read.tags == expected


async def test_tags_that_are_not_a_json_object_are_a_format_error(hub: TaskHub) -> None:
    row = Row("broken", "", {"Tags": "[1, 2]"})
    await hub.account.tables.write(hub.names.instances_table, Write(WriteMode.INSERT, row))

    with pytest.raises(MessageFormatError, match="'broken' has Tags that are not a JSON object"):
        await hub.instances.read("broken")


async def test_query_page_pages_through_every_row_with_its_continuation(hub: TaskHub) -> None:
    ids = [f"batch/{i:02}" for i in range(25)]
    for number, instance_id in enumerate(ids):
        status = Status.Completed if number % 5 == 0 else Status.Running
        record = InstanceRecord(instance_id=instance_id, runtime_status=status, task_hub_name="MyHub")
        await hub.instances.write(record, mode=WriteMode.INSERT)

    pages: list[list[InstanceRecord]] = []
    continuation: dict[str, str] | None = None
    while True:
        records, continuation = await hub.instances.query_page(
            "TaskHubName eq @hub",
            parameters={"hub": "MyHub"},
            unescape=unescape_key,
            page_size=10,
            continuation=continuation,
        )
        pages.append(records)
        if continuation is None:
            break

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [r.instance_id for page in pages for r in page] == ids  # unescaped, in key order
    assert all(r.etag for page in pages for r in page)


async def test_query_page_filters_by_status_name(hub: TaskHub) -> None:
    for number in range(6):
        status = Status.Failed if number % 2 else Status.Running
        record = InstanceRecord(instance_id=f"i{number}", runtime_status=status)
        await hub.instances.write(record, mode=WriteMode.INSERT)

    records, continuation = await hub.instances.query_page(
        "RuntimeStatus eq @status", parameters={"status": "Failed"}, unescape=unescape_key
    )

    assert continuation is None
    assert [r.instance_id for r in records] == ["i1", "i3", "i5"]


async def test_query_page_reads_only_the_columns_asked_for(hub: TaskHub) -> None:
    large = replace(full_record("big/1"), output=json.dumps("x" * 100_000))  # its output lives in a blob
    await hub.instances.write(large, mode=WriteMode.INSERT)

    records, _ = await hub.instances.query_page(
        None, unescape=unescape_key, columns=("runtime_status", "created_time", "completed_time")
    )

    assert records == [
        InstanceRecord(
            instance_id="big/1",
            runtime_status=Status.Running,
            created_time=T0,
            completed_time=T0 + timedelta(seconds=9),
            etag=records[0].etag,
        )
    ]


async def test_a_missing_instance_reads_as_none(hub: TaskHub) -> None:
    assert await hub.instances.read("nobody") is None


async def test_delete_is_idempotent(hub: TaskHub) -> None:
    await hub.instances.write(full_record("gone"), mode=WriteMode.INSERT)

    await hub.instances.delete("gone")
    await hub.instances.delete("gone")

    assert await hub.instances.read("gone") is None
    assert await raw_row(hub, "gone") is None
