"""Large table properties against a real Azurite (storage-layout.md §2.3).

A value over 60 KiB, counted as UTF-16 bytes like .NET's ``Encoding.Unicode`` (30,720 BMP characters), moves to a
gzip blob in ``{hub}-largemessages``. History rows name the blob in ``{Property}BlobName``; Instances rows hold its
full URL. Reading brings the text back, and follows only references into our own container.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from azure.storage.blob.aio import BlobServiceClient

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.tables import WriteMode
from durable_storage.history import ExecutionStartedEvent, OrchestrationInstance, OrchestratorStartedEvent
from durable_storage.history import TaskScheduledEvent as Scheduled
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub

T0 = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone.utc)
HEX8 = "[0-9A-F]{8}"
Pending = OrchestrationRuntimeStatus.Pending


@pytest.fixture
async def raw(connection_string: str) -> AsyncIterator[BlobServiceClient]:
    async with BlobServiceClient.from_connection_string(connection_string) as service:
        yield service


async def history_rows(hub: TaskHub, escaped_id: str) -> list[dict[str, object]]:
    """The raw columns of an instance's History rows (sentinel excluded), as the table holds them."""
    rows = hub.account.tables.query(hub.names.history_table, "PartitionKey eq @p", parameters={"p": escaped_id})
    return [{"RowKey": row.row_key, **row.values} async for row in rows if row.row_key != "sentinel"]


async def stored_gzip(raw: BlobServiceClient, hub: TaskHub, name: str) -> str:
    """The text of one of the hub's blobs, checked to be stored gzip-compressed."""
    stream = await raw.get_blob_client(hub.names.large_messages_container, name).download_blob(decompress=False)
    content = await stream.readall()
    assert content[:2] == b"\x1f\x8b"
    return gzip.decompress(content).decode("utf-8")


CASES = [
    ("30,720 ASCII chars = 61,440 UTF-16 bytes", "a" * 30_720, False),
    ("30,721 ASCII chars", "a" * 30_721, True),
    ("32,768 ASCII chars", "b" * 32_768, True),
    ("32,769 ASCII chars", "c" * 32_769, True),
    ("30,720 CJK chars: 92,160 UTF-8 bytes, but UTF-16 is what counts", "日" * 30_720, False),
    ("30,721 CJK chars", "日" * 30_721, True),
    ("15,360 emoji: 4 UTF-16 bytes each, 61,440 in all", "😀" * 15_360, False),
    ("15,361 emoji", "😀" * 15_361, True),
]


@pytest.mark.parametrize(("text", "offloaded"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_an_input_over_60_kib_of_utf16_goes_to_a_blob_and_reads_back_equal(
    hub: TaskHub, raw: BlobServiceClient, text: str, offloaded: bool
) -> None:
    key = hub.escape("big")
    event = Scheduled(event_id=0, timestamp=T0, name="crunch", input=text)

    await hub.history.append("big", "e1", [event], first_index=0, etag=None)

    [row] = await history_rows(hub, key)
    if offloaded:
        assert row["Input"] == ""
        assert await stored_gzip(raw, hub, str(row["InputBlobName"])) == text
    else:
        assert row["Input"] == text
        assert "InputBlobName" not in row
    loaded = await hub.history.load("big")
    assert loaded.events == [event]
    assert loaded.blob_names == ([row["InputBlobName"]] if offloaded else [])


async def test_an_offloaded_history_blob_is_named_by_escaped_id_row_key_event_type_and_column(
    hub: TaskHub, raw: BlobServiceClient
) -> None:
    instance_id = "orders/2026#1"
    key = hub.escape(instance_id)
    started = ExecutionStartedEvent(
        timestamp=T0,
        orchestration_instance=OrchestrationInstance(instance_id, "e1"),
        name="process",
        input='"' + "é" * 31_000 + '"',
    )

    await hub.history.append(
        instance_id, "e1", [OrchestratorStartedEvent(timestamp=T0), started], first_index=0, etag=None
    )

    row = (await history_rows(hub, key))[1]
    assert key == "orders^02026^21"
    name = str(row["InputBlobName"])
    assert re.fullmatch(rf"orders\^02026\^21/history-0000000000000001-ExecutionStarted-{HEX8}-Input\.json\.gz", name)
    assert await hub.account.blobs.list_names(hub.names.large_messages_container, prefix=f"{key}/") == [name]
    assert await stored_gzip(raw, hub, name) == started.input
    assert (await hub.history.load(instance_id)).events[1] == started


async def test_every_large_column_of_a_row_gets_its_own_blob(hub: TaskHub) -> None:
    key = hub.escape("wide")
    event = Scheduled(event_id=3, timestamp=T0, name="n" * 30_721, input="i" * 30_721, tags={"t": "x" * 30_721})

    await hub.history.append("wide", "e1", [event], first_index=0, etag=None)

    [row] = await history_rows(hub, key)
    blob_columns = sorted(column for column in row if column.endswith("BlobName"))
    assert blob_columns == ["InputBlobName", "NameBlobName", "TagsBlobName"]
    assert len({row[column] for column in blob_columns}) == 3
    assert (await hub.history.load("wide")).events == [event]


async def test_a_second_writer_of_the_same_row_never_overwrites_the_first_writers_blob(hub: TaskHub) -> None:
    # The random part of the name keeps a split-brain writer from overwriting the winner's blob (durabletask#890).
    key = hub.escape("split")
    first = Scheduled(event_id=0, timestamp=T0, name="x", input="1" * 40_000)
    second = Scheduled(event_id=0, timestamp=T0, name="x", input="2" * 40_000)
    etag = await hub.history.append("split", "e1", [first], first_index=0, etag=None)
    [first_row] = await history_rows(hub, key)

    await hub.history.append("split", "e1", [second], first_index=0, etag=etag)

    [second_row] = await history_rows(hub, key)
    names = await hub.account.blobs.list_names(hub.names.large_messages_container, prefix=f"{key}/")
    assert sorted(names) == sorted([first_row["InputBlobName"], second_row["InputBlobName"]])
    assert len(set(names)) == 2
    assert (await hub.history.load("split")).events == [second]


async def test_an_instances_row_holds_the_full_blob_url_of_a_large_input(hub: TaskHub) -> None:
    instance_id = "big/1"
    key = hub.escape(instance_id)
    text = '"' + "日" * 31_000 + '"'
    record = InstanceRecord(instance_id=instance_id, name="hello", input=text, runtime_status=Pending)

    await hub.instances.write(record, mode=WriteMode.INSERT)

    row = await hub.account.tables.get(hub.names.instances_table, key, "")
    assert row is not None
    url = str(row.values["Input"])
    container_url = hub.account.blobs.container_url(hub.names.large_messages_container)
    assert url.startswith(container_url + "/")
    # The escaped id "big^01" is URI-escaped in the URL, as .NET's GetBlobUrl escapes each path segment.
    assert re.fullmatch(rf"{re.escape(container_url)}/big%5E01/history--Input-{HEX8}-Input\.json\.gz", url)
    assert "InputBlobName" not in row.values
    read = await hub.instances.read(instance_id)
    assert read is not None and read.input == text and read.name == "hello"
    unfetched = await hub.instances.read(instance_id, fetch_payloads=False)
    assert unfetched is not None and unfetched.input == url


async def test_large_output_and_tags_of_an_instance_read_back_too(hub: TaskHub) -> None:
    key = hub.escape("wide")
    record = InstanceRecord(
        instance_id="wide", output="o" * 30_721, tags={"note": "😀" * 15_400}, runtime_status=Pending
    )

    await hub.instances.write(record, mode=WriteMode.INSERT)

    row = await hub.account.tables.get(hub.names.instances_table, key, "")
    assert row is not None
    assert str(row.values["Output"]).startswith("http")
    assert row.values["Tags"] == "" and str(row.values["TagsBlobName"]).endswith("-Tags.json.gz")
    read = await hub.instances.read("wide")
    assert read is not None
    assert (read.output, read.tags) == (record.output, record.tags)
    # A status query that does not fetch payloads sees no tags rather than failing on a URL.
    [listed], _ = await hub.instances.query_page("PartitionKey eq @p", parameters={"p": key}, unescape=str)
    assert listed.tags is None and listed.output == row.values["Output"]


async def test_blob_name_of_url_knows_only_our_own_container(hub: TaskHub) -> None:
    large, container = hub.large, hub.names.large_messages_container
    ours = large.url("abc/history--Input-0000ABCD-Input.json.gz")
    account_url = hub.account.blobs.container_url(container).rsplit("/", 1)[0]

    assert large.blob_name_of_url(ours) == "abc/history--Input-0000ABCD-Input.json.gz"
    assert large.blob_name_of_url(large.url("a b/ü.json.gz")) == "a b/ü.json.gz"
    for elsewhere in [
        f"https://evil.example/devstoreaccount1/{container}/abc/x.json.gz",
        f"{account_url}/{hub.names.lease_container}/abc/x.json.gz",
        f"{account_url}/{container}-evil/abc/x.json.gz",
        f"{account_url}/{container}/../{hub.names.lease_container}/x.json.gz",
        f"{account_url}/{container}/%2E%2E/{hub.names.lease_container}/x.json.gz",
        f"{account_url}/{container}/",
        "abc/x.json.gz",
        "",
        None,
        42,
    ]:
        assert large.blob_name_of_url(elsewhere) is None, elsewhere


async def test_a_stored_url_to_anywhere_else_is_returned_as_plain_data_never_fetched(hub: TaskHub) -> None:
    # A blob of the same account, outside our container: fetching any of these URLs would return "SECRET".
    secrets = hub.names.lease_container
    await hub.account.blobs.upload_text(secrets, "key.json.gz", "SECRET")
    container_url = hub.account.blobs.container_url(hub.names.large_messages_container)
    account_url = container_url.rsplit("/", 1)[0]
    urls = {
        "other-host": f"https://evil.example/devstoreaccount1/{hub.names.large_messages_container}/key.json.gz",
        "other-container": f"{account_url}/{secrets}/key.json.gz",
        "dot-dot": f"{container_url}/../{secrets}/key.json.gz",
        "escaped-dot-dot": f"{container_url}/%2E%2E/{secrets}/key.json.gz",
    }
    for instance_id, url in urls.items():
        await hub.instances.write(InstanceRecord(instance_id=instance_id, input=url, output=url), mode=WriteMode.INSERT)

    for instance_id, url in urls.items():
        read = await hub.instances.read(instance_id)
        assert read is not None
        assert (read.input, read.output) == (url, url)
