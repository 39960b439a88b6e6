"""Values the tables cannot hold back, through the client (issue 17 items 2, 6, 10).

A time we write must lie within an Azure Table DateTime's range (1601-9999 UTC) or it is refused before anything is
written; a time we only query by is moved into that range, which matches the same rows. A payload nested too deeply
to write is a ConfigurationError. A prefix at the top of a Unicode range (U+D7FF, U+FFFF, U+10FFFF) still lists
exactly the IDs that start with it.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage import ConfigurationError, DurableOrchestrationClient, EntityId
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import T0, queue_depths, table_rows, write_row

PLUS_FIVE = timezone(timedelta(hours=5))
MINUS_FIVE = timezone(timedelta(hours=-5))
RANGE = r"must be from 1601-01-01T00:00:00Z to 9999-12-31T23:59:59Z \(UTC\)"


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "start_at",
    [
        datetime(999, 12, 31, tzinfo=timezone.utc),
        datetime(1, 1, 1, tzinfo=PLUS_FIVE),  # year 0 in UTC: an OverflowError once converted
        datetime(1600, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, tzinfo=MINUS_FIVE),  # year 10000 in UTC
    ],
    ids=["year 999", "underflows year 1", "before 1601", "overflows year 9999"],
)
async def test_a_start_time_a_table_cannot_hold_is_refused_before_anything_is_written(
    client: DurableOrchestrationClient, hub: TaskHub, start_at: datetime
) -> None:
    with pytest.raises(ConfigurationError, match=rf"start_at {re.escape(start_at.isoformat())} is invalid: {RANGE}"):
        await client.start_new("hello", "ancient", start_at=start_at)
    with pytest.raises(ConfigurationError, match=rf"scheduled_time .* is invalid: {RANGE}"):
        await client.signal_entity(EntityId("counter", "c"), "add", 1, scheduled_time=start_at)

    assert set(await queue_depths(hub)) == {0}
    assert await table_rows(hub, "Instances") == 0


async def test_the_first_storable_time_is_a_valid_start(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    first = datetime(1601, 1, 1, tzinfo=timezone.utc)

    await client.start_new("hello", "earliest", start_at=first)

    status = await client.get_status("earliest")
    assert status.runtime_status is Status.Pending
    row = await hub.instances.read("earliest")
    assert row is not None and row.scheduled_start_time == first


async def test_query_bounds_outside_the_table_range_match_the_rows_they_name(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await asyncio.gather(
        *(write_row(hub, f"q{i}", Status.Completed, created=T0 + timedelta(minutes=i)) for i in (1, 2))
    )
    everything = {"q1", "q2"}

    async def found(**bounds: datetime) -> set[str]:
        return {s.instance_id or "" async for s in client.list_instances(**bounds)}

    assert await found(created_time_from=datetime(999, 1, 1, tzinfo=timezone.utc)) == everything
    assert await found(created_time_from=datetime(1, 1, 1, tzinfo=PLUS_FIVE)) == everything
    assert await found(created_time_to=datetime(9999, 12, 31, 23, tzinfo=MINUS_FIVE)) == everything
    assert await found(created_time_to=datetime(1000, 1, 1, tzinfo=timezone.utc)) == set()
    assert await found(created_time_from=datetime(9999, 12, 31, 23, tzinfo=MINUS_FIVE)) == set()
    purged = await client.purge_instance_history_by(datetime(1, 1, 1, tzinfo=PLUS_FIVE), None, [Status.Completed])
    assert purged.instances_deleted == 2


async def test_prefixes_at_the_top_of_a_unicode_range_list_exactly_the_ids_that_start_with_them(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    ids = ["p\ud7ff", "p\ud7ffx", "p\U0001f600", "p\ue000", "p\uffff", "p\uffffz", "p\U0010ffff", "p\U0010ffff!", "q"]
    await asyncio.gather(*(write_row(hub, i, Status.Completed) for i in ids))

    async def listed(prefix: str) -> set[str]:
        return {s.instance_id or "" async for s in client.list_instances(instance_id_prefix=prefix)}

    for prefix in ("p\ud7ff", "p\uffff", "p\U0010ffff", "\U0010ffff", "p"):
        assert await listed(prefix) == {i for i in ids if i.startswith(prefix)}, ascii(prefix)


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda c, v: c.start_new("hello", "deep", v), "client_input"),
        (lambda c, v: c.raise_event("deep", "e", v), "event_data"),
        (lambda c, v: c.signal_entity(EntityId("counter", "c"), "add", v), "operation_input"),
    ],
    ids=["start", "raise_event", "signal_entity"],
)
async def test_a_payload_nested_10000_deep_is_a_configuration_error_naming_it(
    client: DurableOrchestrationClient, hub: TaskHub, call: Any, what: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"{what} \[\[\[.* is invalid: .*nested too deeply"):
        await call(client, nested(10_000))

    assert set(await queue_depths(hub)) == {0}


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda c: c.start_new("hello\ud800"), "orchestration_function_name"),
        (lambda c: c.raise_event("i", "\udcff"), "event_name"),
        (lambda c: c.terminate("i", "why \ud800"), "reason"),
        (lambda c: c.get_status_by(instance_id_prefix="p\ud800"), "instance_id_prefix"),
    ],
    ids=["name", "event", "reason", "prefix"],
)
async def test_a_lone_surrogate_in_a_name_reason_or_prefix_is_refused_naming_it(
    client: DurableOrchestrationClient, call: Any, what: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"{what} .* must not contain lone surrogates"):
        await call(client)
