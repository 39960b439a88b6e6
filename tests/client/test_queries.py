"""get_status_all, get_status_by and the paging list_instances over 25 instances (storage-layout.md §9.3).

Twenty orchestrations ``order-00`` .. ``order-19`` created a minute apart in five statuses, three under
``batch/``, and two entities (``@counter@...``), which only show up when asked for.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

import pytest

from durable_storage import DurableOrchestrationClient, InstancePage
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import T0, write_row

CYCLE = [Status.Running, Status.Completed, Status.Failed, Status.Pending, Status.Terminated]
ORDERS = {f"order-{i:02d}": (CYCLE[i % 5], T0 + timedelta(minutes=i)) for i in range(20)}
BATCH = {f"batch/{i}": (Status.Completed, T0 + timedelta(hours=1, minutes=i)) for i in range(3)}
ENTITIES = {f"@counter@{k}": (Status.Running, T0) for k in ("a", "b")}
ORCHESTRATIONS = {**ORDERS, **BATCH}


@pytest.fixture
async def instances(hub: TaskHub) -> None:
    rows = {**ORCHESTRATIONS, **ENTITIES}
    await asyncio.gather(
        *(write_row(hub, i, status, created=created, output='"out"') for i, (status, created) in rows.items())
    )


def ids(statuses: list[object]) -> set[str]:
    return {getattr(s, "instance_id", "") for s in statuses}


@pytest.mark.usefixtures("instances")
async def test_get_status_all_lists_every_orchestration_but_no_entity(client: DurableOrchestrationClient) -> None:
    statuses = await client.get_status_all()

    assert ids(statuses) == set(ORCHESTRATIONS)
    assert len(statuses) == 23
    order = next(s for s in statuses if s.instance_id == "order-07")
    assert order.runtime_status is Status.Failed and order.created_time == T0 + timedelta(minutes=7)
    assert order.output == '"out"'  # Failed: the Output text as stored
    assert all(s.input_ == "Tokyo" for s in statuses)  # inputs included, as the host answers the SDK


@pytest.mark.usefixtures("instances")
async def test_filter_by_runtime_status(client: DurableOrchestrationClient) -> None:
    done = await client.get_status_by(runtime_status=[Status.Completed, Status.Failed])
    by_name = await client.get_status_by(runtime_status=["Pending"])

    expected = {i for i, (s, _) in ORCHESTRATIONS.items() if s in (Status.Completed, Status.Failed)}
    assert ids(done) == expected and len(expected) == 11
    assert ids(by_name) == {"order-03", "order-08", "order-13", "order-18"}


@pytest.mark.usefixtures("instances")
async def test_filter_by_created_time_includes_both_bounds(client: DurableOrchestrationClient) -> None:
    tokyo = timezone(timedelta(hours=9))
    window = await client.get_status_by(
        created_time_from=(T0 + timedelta(minutes=5)).astimezone(tokyo),
        created_time_to=T0 + timedelta(minutes=9),
    )
    after = await client.get_status_by(created_time_from=T0 + timedelta(minutes=30))

    assert ids(window) == {f"order-{i:02d}" for i in range(5, 10)}
    assert ids(after) == set(BATCH)


@pytest.mark.usefixtures("instances")
async def test_filter_by_prefix_with_key_characters(client: DurableOrchestrationClient) -> None:
    batch = await client.get_status_by(instance_id_prefix="batch/")
    one = await client.get_status_by(instance_id_prefix="order-1")

    assert ids(batch) == set(BATCH)
    assert ids(one) == {f"order-{i}" for i in range(10, 20)}


@pytest.mark.usefixtures("instances")
async def test_entities_are_listed_when_asked_for_or_named_by_prefix(client: DurableOrchestrationClient) -> None:
    everything = [s async for s in client.list_instances(include_entities=True)]
    by_prefix = await client.get_status_by(instance_id_prefix="@counter@")

    assert ids(everything) == set(ORCHESTRATIONS) | set(ENTITIES)
    assert ids(by_prefix) == set(ENTITIES)


@pytest.mark.usefixtures("instances")
async def test_conditions_combine(client: DurableOrchestrationClient) -> None:
    statuses = await client.get_status_by(
        created_time_to=T0 + timedelta(minutes=12), runtime_status=[Status.Running], instance_id_prefix="order-"
    )

    assert ids(statuses) == {"order-00", "order-05", "order-10"}


@pytest.mark.usefixtures("instances")
async def test_pages_hold_at_most_page_size_and_cover_everything_once(client: DurableOrchestrationClient) -> None:
    pages = [page async for page in client.list_instances(page_size=4).by_page()]

    seen = [s.instance_id for page in pages for s in page.statuses]
    assert all(isinstance(p, InstancePage) and len(p.statuses) <= 4 for p in pages)
    assert len(seen) == len(set(seen)) == 23 and set(seen) == set(ORCHESTRATIONS)
    assert [p.continuation_token is None for p in pages] == [False] * (len(pages) - 1) + [True]


@pytest.mark.usefixtures("instances")
async def test_paging_resumes_from_a_continuation_token(client: DurableOrchestrationClient) -> None:
    pager = client.list_instances(runtime_status=[Status.Completed], page_size=3)
    first = await anext(aiter(pager.by_page()))
    token = first.continuation_token

    rest = [
        s
        async for page in client.list_instances(runtime_status=["Completed"], page_size=3).by_page(token)
        for s in page.statuses
    ]

    assert token is not None and len(first.statuses) == 3
    assert ids(first.statuses) | ids(rest) == {i for i, (s, _) in ORCHESTRATIONS.items() if s is Status.Completed}
    assert not ids(first.statuses) & ids(rest)


async def test_an_empty_hub_lists_nothing_on_one_last_page(client: DurableOrchestrationClient) -> None:
    pages = [page async for page in client.list_instances().by_page()]

    assert await client.get_status_all() == []
    assert pages == [InstancePage([], None)]
