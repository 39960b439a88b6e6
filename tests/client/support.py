"""Helpers for client tests: read what the client sent, and play the worker's part by writing rows directly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from durable_storage._envelope import MessageData
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.tables import WriteMode
from durable_storage.history import ExecutionCompletedEvent, FailureDetails, HistoryEvent
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.testing.history import HistoryBuilder

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EXECUTION = "0123456789abcdef0123456789abcdef"


def control_queue(hub: TaskHub, instance_id: str) -> str:
    return hub.control_queue_of(instance_id)


async def sent_to(hub: TaskHub, instance_id: str, count: int = 1) -> list[MessageData]:
    """The next ``count`` messages for the instance on its control queue, decoded (large ones from their blobs).

    Messages of other instances on the same queue are received too (and stay hidden for a minute).
    """
    received: list[MessageData] = []

    async def enough() -> bool:
        for item in await hub.messages.receive(control_queue(hub, instance_id), visibility=60):
            assert item.data is not None and item.data.task_message is not None, item.error
            if item.data.task_message.orchestration_instance.instance_id == instance_id:
                received.append(item.data)
        return len(received) >= count

    await wait_until(enough, what=f"{count} message(s) for {instance_id!r}")
    return received


async def queue_depths(hub: TaskHub) -> list[int | None]:
    """The approximate message count of every queue of the hub."""
    info = await hub.info()
    return list(info.queues.values())


async def table_rows(hub: TaskHub, table: str) -> int:
    return len([row async for row in hub.account.tables.query(hub.names.hub + table, None)])


async def write_row(
    hub: TaskHub, instance_id: str, status: Status, *, created: datetime = T0, **columns: Any
) -> InstanceRecord:
    """An Instances row as a worker's checkpoint leaves it (any existing row is replaced)."""
    values: dict[str, Any] = {
        "name": "hello",
        "input": '"Tokyo"',
        "custom_status": "null",
        "created_time": created,
        "last_updated_time": created + timedelta(seconds=1),
        "execution_id": EXECUTION,
        "generation": 0,
        "task_hub_name": hub.name,
    }
    record = InstanceRecord(instance_id=instance_id, runtime_status=status, **(values | columns))
    await hub.instances.write(record, mode=WriteMode.UPSERT_REPLACE)
    return record


def history(instance_id: str, execution_id: str = EXECUTION) -> HistoryBuilder:
    """A history builder for ``instance_id``, starting at T0."""
    return HistoryBuilder(instance_id, execution_id=execution_id, start=T0)


def ended(
    builder: HistoryBuilder, status: Status, result: str | None = None, failure: FailureDetails | None = None
) -> list[HistoryEvent]:
    """The builder's events, then the ExecutionCompleted with which its current episode ends the execution."""
    builder.events.append(
        ExecutionCompletedEvent(
            event_id=99, timestamp=builder.now, orchestration_status=status, result=result, failure_details=failure
        )
    )
    return builder.orchestrator_completed().events


async def write_history(
    hub: TaskHub, instance_id: str, events: list[HistoryEvent], execution_id: str = EXECUTION
) -> None:
    """History rows as a worker's first checkpoint writes them."""
    await hub.history.append(instance_id, execution_id, events, first_index=0, etag=None)
