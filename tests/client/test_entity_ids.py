"""The entity ID space (``@name@key``) is reserved: a stray ``@`` row in the Instances table spoils no listing.

An orchestration whose ID started with ``@`` (accepted by older versions) was taken for an entity; such rows, or
any other unreadable entity row, are left out of ``list_entities`` and ``clean_entity_storage`` (with a warning)
instead of failing them for the whole hub.
"""

from __future__ import annotations

import pytest

from durable_storage import DurableOrchestrationClient
from durable_storage.entities import SchedulerState
from durable_storage.models import EntityId
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import write_row

# What start_new("o", ID, {"a": 1}) left behind before IDs starting with "@" were refused.
MALFORMED = ["@@", "@x@", "@lonely", "@counter@victim"]


async def write_entity(hub: TaskHub, entity_id: EntityId, state: SchedulerState) -> None:
    await write_row(hub, str(entity_id), Status.Running, name=entity_id.name, input=state.to_json())


async def test_list_entities_skips_rows_that_are_no_entity(
    client: DurableOrchestrationClient, hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    await write_entity(hub, EntityId("counter", "a"), SchedulerState(exists=True, state="7"))
    for instance_id in MALFORMED:
        await write_row(hub, instance_id, Status.Running, input='{"a": 1}')
    await write_row(hub, "@counter@b", Status.Running, name="counter", input='{"exists": true, "state": "{oops"}')

    listed = [(e.entity_id.name, e.entity_id.key, e.state) async for e in client.list_entities()]
    with_deleted = [str(e.entity_id) async for e in client.list_entities(include_deleted=True, include_state=False)]

    assert listed == [("counter", "a", 7)]
    # '@counter@victim' has an entity's form and no entity state: an entity that does not exist.
    assert with_deleted == ["@counter@a", "@counter@b", "@counter@victim"]
    assert "'@@' is not a readable entity" in caplog.text and "'@counter@b' is not a readable entity" in caplog.text


async def test_clean_entity_storage_works_past_rows_that_are_no_entity(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_entity(hub, EntityId("counter", "empty"), SchedulerState())
    await write_entity(hub, EntityId("counter", "kept"), SchedulerState(exists=True, state="1"))
    for instance_id in MALFORMED[:3]:
        await write_row(hub, instance_id, Status.Running, input='{"a": 1}')

    result = await client.clean_entity_storage()

    assert (result.num_removed_empty_entities, result.num_orphaned_locks_released) == (1, 0)
    assert not await client.get_status("@counter@empty")
    for instance_id in ("@counter@kept", *MALFORMED[:3]):
        assert await client.get_status(instance_id), instance_id  # left for the operator to purge
