"""Table verbs against a real Azurite: transactions are atomic, ETags fence writes, limits are ours."""

from __future__ import annotations

import pytest

from durable_storage._storage.tables import Row, Write, WriteMode
from durable_storage.errors import ConfigurationError, ConflictError
from durable_storage.taskhub import TaskHub


async def test_a_stale_etag_fails_the_whole_transaction(hub: TaskHub) -> None:
    tables, table = hub.account.tables, hub.names.instances_table
    etag = await tables.write(table, Write(WriteMode.INSERT, Row("p", "r0", {"v": 1})))
    await tables.write(table, Write(WriteMode.MERGE, Row("p", "r0", {"v": 2}), etag))

    with pytest.raises(ConflictError) as caught:
        await tables.transact(
            table,
            [
                Write(WriteMode.INSERT, Row("p", "a1", {"v": 1})),
                Write(WriteMode.UPSERT_REPLACE, Row("p", "a2", {"v": 1})),
                Write(WriteMode.MERGE, Row("p", "r0", {"v": 3}), etag),
            ],
        )

    assert caught.value.status == 412
    assert await tables.get(table, "p", "a1") is None
    assert await tables.get(table, "p", "a2") is None
    row = await tables.get(table, "p", "r0")
    assert row is not None and row.values["v"] == 2


async def test_transactions_over_100_writes_or_several_partitions_are_refused_before_sending(hub: TaskHub) -> None:
    tables, table = hub.account.tables, hub.names.instances_table
    too_many = [Write(WriteMode.UPSERT_REPLACE, Row("p", f"{i:03}", {})) for i in range(101)]
    mixed = [Write(WriteMode.UPSERT_REPLACE, Row(pk, "r", {})) for pk in ("a", "b")]

    with pytest.raises(ConfigurationError, match="101 writes is invalid: must be 1-100"):
        await tables.transact(table, too_many)
    with pytest.raises(ConfigurationError, match=r"partitions \['a', 'b'\] is invalid"):
        await tables.transact(table, mixed)
    assert [row async for row in tables.query(table, "PartitionKey ge ''")] == []


async def test_insert_of_an_existing_row_is_a_conflict(hub: TaskHub) -> None:
    tables, table = hub.account.tables, hub.names.instances_table
    await tables.write(table, Write(WriteMode.INSERT, Row("p", "r", {"v": 1})))
    with pytest.raises(ConflictError) as caught:
        await tables.write(table, Write(WriteMode.INSERT, Row("p", "r", {"v": 2})))
    assert caught.value.status == 409


async def test_query_pages_resume_from_their_continuation(hub: TaskHub) -> None:
    tables, table = hub.account.tables, hub.names.instances_table
    for start in range(0, 45, 15):
        await tables.transact(
            table, [Write(WriteMode.UPSERT_REPLACE, Row("p", f"{i:03}", {"i": i})) for i in range(start, start + 15)]
        )

    seen, continuation, pages = [], None, 0
    while True:
        page = await tables.query_page(
            table, "PartitionKey eq @p", parameters={"p": "p"}, page_size=20, continuation=continuation
        )
        seen += [row.values["i"] for row in page.rows]
        pages += 1
        if page.continuation is None:
            break
        continuation = page.continuation

    assert seen == list(range(45))
    assert pages == 3


async def test_filter_values_are_bound_as_parameters_not_spliced(hub: TaskHub) -> None:
    tables, table = hub.account.tables, hub.names.instances_table
    await tables.write(table, Write(WriteMode.UPSERT_REPLACE, Row("it's", "r", {})))
    await tables.write(table, Write(WriteMode.UPSERT_REPLACE, Row("other", "r", {})))

    rows = [
        row async for row in tables.query(table, "PartitionKey eq @p", parameters={"p": "it's' or PartitionKey ne '"})
    ]
    assert rows == []
    rows = [row async for row in tables.query(table, "PartitionKey eq @p", parameters={"p": "it's"})]
    assert [r.partition_key for r in rows] == ["it's"]
