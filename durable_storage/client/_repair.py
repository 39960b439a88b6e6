"""Repair of an Instances row that fell behind its History (reliability.md §1.3, storage-layout.md §5.6 step 3).

A worker that crashes between its History write and its Instances write leaves the row saying Running while the
execution has ended. The worker repairs it on the next message (storage-layout.md §5.4 step 5); a status query repairs
it too, so that a caller waiting for completion is not kept waiting for a message that may never come.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from durable_storage._runtime_state import runtime_state
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.client._queries import completed_rows_filter
from durable_storage.client._status import is_terminal
from durable_storage.errors import ConflictError
from durable_storage.taskhub import TaskHub

__all__ = ["repaired"]

_log = logging.getLogger(__name__)


async def repaired(hub: TaskHub, record: InstanceRecord) -> InstanceRecord:
    """``record``, or the row rewritten from History when History says its execution ended and the row does not."""
    if is_terminal(record.runtime_status) or record.execution_id is None:
        return record
    query = completed_rows_filter(record.instance_id, record.execution_id)
    rows = hub.account.tables.query(hub.names.history_table, query, select=("PartitionKey", "RowKey"), page_size=1)
    if await anext(aiter(rows), None) is None:
        return record  # the usual case: one small query finds that the execution has not ended
    state = runtime_state((await hub.history.load(record.instance_id, execution_id=record.execution_id)).events)
    if state.completed is None or state.status is None:
        return record
    fixed = replace(
        record,
        runtime_status=state.status,
        output=state.output,
        last_updated_time=state.completed.timestamp,
        completed_time=hub.clock(),
    )
    try:
        # Merge under the row's ETag: if a worker rewrites the row meanwhile, its write wins and we read it.
        await hub.instances.update(fixed)
    except ConflictError:
        return await hub.instances.read(record.instance_id) or fixed
    _log.info("repaired the Instances row of %s from its history: %s", record.instance_id, state.status.name)
    return fixed
