"""purge_instance_history and purge_instance_history_by (storage-layout.md §9.5, with its two flaws fixed).

A purge deletes the History rows, the Instances row and every blob of the instance: message blobs named by the raw
ID and history blobs by the escaped one, and no blob named for another instance, though the two name spaces overlap:
``orders/7`` never takes ``orders/70`` along, ``pv^0b`` never takes the history blobs of ``pv/b`` (escaped
``pv^0b``), and ``pq`` never takes the message blobs of ``pq/child``. Purging by filter only ever touches
instances that ended: with no terminal status left, it purges nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage import DurableOrchestrationClient, PurgeHistoryResult
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import T0, history, table_rows, write_history, write_row

BIG = "x" * 100_000  # over the 45 KiB message limit and the 60 KiB (UTF-16) column limit


async def blobs_of(hub: TaskHub, prefix: str) -> list[str]:
    return await hub.account.blobs.list_names(hub.names.large_messages_container, prefix=prefix)


async def big_instance(client: DurableOrchestrationClient, hub: TaskHub, instance_id: str) -> None:
    """Started with a large input (a message blob and an Instances blob), then a checkpoint with a large result."""
    await client.start_new("hello", instance_id, BIG)
    events = history(instance_id).started("hello", input=BIG).scheduled("a").episode().completed(0, BIG).events
    await write_history(hub, instance_id, events)


async def test_purge_deletes_rows_and_every_blob_of_the_instance_and_nothing_else(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await big_instance(client, hub, "orders/7")
    await big_instance(client, hub, "orders/70")
    before = await blobs_of(hub, "orders")
    assert {name.split("/message-")[0] for name in before if "/message-" in name} == {"orders/7", "orders/70"}
    assert any(name.startswith("orders^07/history-") for name in before)

    result = await client.purge_instance_history("orders/7")

    assert result == PurgeHistoryResult(1) and result.instances_deleted == 1
    assert await hub.instances.read("orders/7") is None
    assert (await hub.history.load("orders/7")).events == []
    assert await blobs_of(hub, "orders/7/") == [] and await blobs_of(hub, "orders^07/") == []
    # The neighbour whose ID merely starts the same keeps everything.
    assert await hub.instances.read("orders/70") is not None
    assert len((await hub.history.load("orders/70")).events) == 6
    assert sorted(await blobs_of(hub, "orders")) == sorted(
        n for n in before if n.startswith(("orders/70/", "orders^070/"))
    )
    assert (await client.get_status("orders/70", show_input=True)).input_ == BIG


@pytest.mark.parametrize(
    ("purged", "kept"),
    [
        ("pv^0b", "pv/b"),
        ("pv/b", "pv^0b"),
        ("pq", "pq/child"),
        ("a", "a/b/c"),
        ("x^^y", "x^y"),
        ("x^y", "x^^y"),
        ("s/t", "s\\t"),
        ("s\\t", "s/t"),
    ],
)
async def test_purge_leaves_every_blob_of_an_instance_whose_blob_names_overlap(
    client: DurableOrchestrationClient, hub: TaskHub, purged: str, kept: str
) -> None:
    # "pv^0b" is the raw ID of one instance (naming its message blobs) and the escaped ID of "pv/b" (naming its
    # history blobs); "pq/" starts the message blob names of "pq/child"; "x^^y" is the escaped "x^y"; and the blob
    # service stores the message blobs of "s\\t" as "s/t/message-...", as it names those of "s/t".
    await big_instance(client, hub, kept)
    kept_blobs = await blobs_of(hub, "")
    await big_instance(client, hub, purged)
    assert len(await blobs_of(hub, "")) > len(kept_blobs)

    assert (await client.purge_instance_history(purged)).instances_deleted == 1

    assert await blobs_of(hub, "") == kept_blobs
    assert not await client.get_status(purged)
    status = await client.get_status(kept, show_input=True)
    assert (status.input_, status.message) == (BIG, None)
    assert [e.get("Result") for e in await client.get_history(kept)][-1] == f'"{BIG}"'
    assert [s.instance_id for s in await client.get_status_all()] == [kept]


async def test_purge_of_an_unknown_instance_deletes_nothing_and_can_repeat(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "gone", Status.Completed)

    first = await client.purge_instance_history("gone")
    second = await client.purge_instance_history("gone")

    assert (first.instances_deleted, second.instances_deleted) == (1, 0)
    assert (await client.purge_instance_history("never")).to_dict() == {"instances_deleted": 0}


async def test_purge_ignores_the_status_as_durable_functions_does(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "running", Status.Running)

    assert (await client.purge_instance_history("running")).instances_deleted == 1
    assert not await client.get_status("running")


STATUSES = [Status.Running, Status.Completed, Status.Failed, Status.Pending, Status.Terminated, Status.Suspended]


@pytest.fixture
async def twelve(hub: TaskHub) -> dict[str, tuple[Status, datetime]]:
    """Twelve instances, an hour apart, two of each of six statuses."""
    rows = {f"i{n:02d}": (STATUSES[n % 6], T0 + timedelta(hours=n)) for n in range(12)}
    await asyncio.gather(*(write_row(hub, i, s, created=c) for i, (s, c) in rows.items()))
    return rows


@pytest.mark.parametrize("statuses", [None, [], [Status.Running, Status.Pending, Status.Suspended], ["Running"]])
async def test_purge_by_without_a_terminal_status_purges_nothing(
    client: DurableOrchestrationClient, hub: TaskHub, twelve: dict[str, tuple[Status, datetime]], statuses: object
) -> None:
    # The .NET provider would purge every instance of the range here, running ones included (storage-layout.md §9.5).
    result = await client.purge_instance_history_by(T0 - timedelta(days=1), runtime_status=statuses)  # type: ignore[arg-type]

    assert result.instances_deleted == 0
    assert await table_rows(hub, "Instances") == len(twelve)


async def test_purge_by_deletes_the_terminal_instances_of_the_range_only(
    client: DurableOrchestrationClient, hub: TaskHub, twelve: dict[str, tuple[Status, datetime]]
) -> None:
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=8)

    result = await client.purge_instance_history_by(
        start,
        end,
        [Status.Completed, Status.Terminated, Status.Running],  # Running is dropped: it never ends here
    )

    expected = {i for i, (s, c) in twelve.items() if start <= c <= end and s in (Status.Completed, Status.Terminated)}
    left = {s.instance_id for s in await client.get_status_all()}
    assert expected == {"i01", "i04", "i07"}
    assert result.instances_deleted == 3 and left == set(twelve) - expected


async def test_purge_by_with_only_a_start_reaches_to_now(
    client: DurableOrchestrationClient, twelve: dict[str, tuple[Status, datetime]]
) -> None:
    result = await client.purge_instance_history_by(
        datetime(2000, 1, 1, tzinfo=timezone.utc), runtime_status=[Status.Failed]
    )

    assert result.instances_deleted == 2
    assert {s.instance_id for s in await client.get_status_all()} == set(twelve) - {"i02", "i08"}
