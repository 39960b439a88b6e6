"""Rewind of a failed instance by rewriting its History rows, as DurableTask.AzureStorage does (storage-layout.md §9.6).

Each failure row of the latest execution (ExecutionCompleted(Failed), TaskFailed, SubOrchestrationInstanceFailed)
becomes a GenericEvent, which replay ignores while the row keeps its RowKey. The TaskScheduled a TaskFailed answers
becomes a GenericEvent too, so the next replay schedules that activity again. A failed sub-orchestration keeps its
SubOrchestrationInstanceCreated (only marked) and is rewound itself, recursively. Every touched instance's row goes
back to Pending; the caller then wakes the deepest failed instances with a GenericEvent message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from durable_storage._storage.history_table import SENTINEL
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.tables import Row, Write, WriteMode
from durable_storage.client._queries import failed_rows_filter, orchestrator_started_filter, scheduling_row_filter
from durable_storage.errors import ResourceNotFoundError
from durable_storage.history import EventType
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub

__all__ = ["rewind_history"]

_log = logging.getLogger(__name__)
_GENERIC = EventType.GenericEvent.name


async def _rows(hub: TaskHub, query: str) -> list[Row]:
    return [row async for row in hub.account.tables.query(hub.names.history_table, query)]


async def _replace(hub: TaskHub, row: Row, **changes: Any) -> None:
    # Conditioned on the row's ETag, as ATS does: a worker writing this history meanwhile makes us fail, not clobber.
    changed = Row(row.partition_key, row.row_key, {**row.values, **changes})
    await hub.account.tables.write(hub.names.history_table, Write(WriteMode.REPLACE, changed, row.etag))


def _rewound(row: Row) -> str:
    return f"Rewound: {row.values.get('EventType')}"


async def rewind_history(hub: TaskHub, instance_id: str, now: datetime) -> list[str]:
    """Clear the failures of ``instance_id`` (and of its failed sub-orchestrations); the instances to wake.

    Returns:
        The deepest failed instances of every failed branch, in the order found; empty when the instance has
        no history at all (then nothing was changed).

    Raises:
        ConflictError: a History row changed while it was being rewritten (a worker is running the instance).
    """
    started = await _rows(hub, orchestrator_started_filter(instance_id))
    if not started:
        return []
    execution_id = str(max(started, key=lambda row: row.row_key).values.get("ExecutionId", ""))
    leaves: list[str] = []
    failed_children = False
    for row in await _rows(hub, failed_rows_filter(instance_id, execution_id)):
        if row.row_key == SENTINEL:
            continue
        kind = row.values.get("EventType")
        if kind == EventType.TaskFailed.name:
            scheduled = await _answered_row(hub, instance_id, execution_id, row, EventType.TaskScheduled)
            if scheduled is not None:
                await _replace(hub, scheduled, Reason=_rewound(scheduled), EventType=_GENERIC)
        elif kind == EventType.SubOrchestrationInstanceFailed.name:
            failed_children = True
            created = await _answered_row(
                hub, instance_id, execution_id, row, EventType.SubOrchestrationInstanceCreated
            )
            if created is not None:
                # The child stays the child: its Created row is only marked, and the child itself is rewound.
                await _replace(hub, created, Reason=_rewound(created))
                leaves += await rewind_history(hub, str(created.values.get("InstanceId", "")), now)
        await _replace(hub, row, Reason=_rewound(row), EventType=_GENERIC)
    await _set_pending(hub, instance_id, now)
    if not failed_children:
        leaves.append(instance_id)
    return leaves


async def _answered_row(
    hub: TaskHub, instance_id: str, execution_id: str, failure: Row, scheduling: EventType
) -> Row | None:
    """The TaskScheduled or SubOrchestrationInstanceCreated row whose EventId the failure row names."""
    event_id = int(failure.values.get("TaskScheduledId", -1))
    found = await _rows(hub, scheduling_row_filter(instance_id, execution_id, event_id, scheduling))
    if not found:
        _log.warning("rewind of %s: no %s row with EventId %d", instance_id, scheduling.name, event_id)
    return found[0] if found else None


async def _set_pending(hub: TaskHub, instance_id: str, now: datetime) -> None:
    # UpdateStatusForRewindAsync: Merge with ETag *, so only the status and time change.
    record = InstanceRecord(
        instance_id=instance_id, runtime_status=OrchestrationRuntimeStatus.Pending, last_updated_time=now
    )
    try:
        await hub.instances.update(record)
    except ResourceNotFoundError:
        _log.warning("rewind of %s: it has no Instances row to set Pending", instance_id)
