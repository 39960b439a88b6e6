"""Creating an execution: the start message, then the Instances row (storage-layout.md §9.1).

Only an instance that ended (Completed, Failed, Terminated, Canceled) may be re-created under its ID; anything
else raises ``InstanceAlreadyExistsError``, the .NET provider's dedupe with Durable Functions' status list.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.client._outgoing import new_id, start_delay, start_message
from durable_storage.client._status import is_terminal, status_name
from durable_storage.errors import ConflictError, InstanceAlreadyExistsError, TransientStorageError
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.telemetry import start_trace

if TYPE_CHECKING:
    from durable_storage.telemetry._spans import StartTrace

__all__ = ["start_instance"]

_log = logging.getLogger(__name__)


async def start_instance(
    hub: TaskHub,
    name: str,
    instance_id: str,
    input_text: str | None,
    *,
    version: str | None,
    scheduled: datetime | None = None,
) -> str:
    """Start a new execution of ``instance_id``; the arguments are already checked. Returns ``instance_id``.

    Raises:
        InstanceAlreadyExistsError: the instance exists and has not ended.
    """
    traced = start_trace(name, instance_id, version)  # None unless OpenTelemetry tracing is configured
    if traced is None:
        return await _start(hub, name, instance_id, input_text, version=version, scheduled=scheduled, traced=None)
    with traced:
        return await _start(hub, name, instance_id, input_text, version=version, scheduled=scheduled, traced=traced)


async def _start(
    hub: TaskHub,
    name: str,
    instance_id: str,
    input_text: str | None,
    *,
    version: str | None,
    scheduled: datetime | None,
    traced: StartTrace | None,
) -> str:
    now = hub.clock()
    record = InstanceRecord(
        instance_id=instance_id,
        name=name,
        version=version,
        input=input_text,
        created_time=now,
        last_updated_time=now,
        runtime_status=OrchestrationRuntimeStatus.Pending,
        execution_id=new_id(),
        scheduled_start_time=scheduled,
        generation=0,
        task_hub_name=hub.name,
    )
    # The common case, a new ID, costs two requests: the start message and a conditional insert of the row. Only
    # when the row exists is it read, to refuse a live instance or re-create an ended one (a new message then).
    await _send_start(hub, record, traced)
    if await _write_row(hub, record, over=False):
        _log.debug("started %s", instance_id, extra={"instance_id": instance_id, "execution_id": record.execution_id})
        return instance_id
    existing = await hub.instances.read(instance_id, fetch_payloads=False)
    if existing is not None and existing.execution_id == record.execution_id:
        return instance_id  # our own insert landed, its response lost
    if existing is not None and not is_terminal(existing.runtime_status):
        # The message already sent is dropped by the worker: its generation (0) is not newer than the row's.
        raise InstanceAlreadyExistsError(
            f"instance {instance_id!r} already exists and is {status_name(existing.runtime_status)}: only an "
            "instance that ended (Completed, Failed, Terminated, Canceled) can be started again",
            instance_id=instance_id,
            runtime_status=existing.runtime_status,
        )
    # An ended instance: start a new execution of a newer generation over it (the first message is dropped too).
    record = replace(
        record,
        execution_id=new_id(),
        generation=(existing.generation or 0) + 1 if existing is not None else 0,
        etag=existing.etag if existing is not None else None,
    )
    await _send_start(hub, record, traced)
    await _write_row(hub, record, over=existing is not None)
    _log.debug("started %s", instance_id, extra={"instance_id": instance_id, "execution_id": record.execution_id})
    return instance_id


async def _send_start(hub: TaskHub, record: InstanceRecord, traced: StartTrace | None) -> None:
    """Send the ExecutionStarted of ``record``'s new execution (with the start's span as its parent trace context).

    Message first, row second (storage-layout.md §9.1): a crash in between leaves a start message that our worker still
    runs (it does not wait for the row, unlike .NET's dedupe), never a Pending row that nothing will run. A start more
    than MAX_START_DELAY (6 days) ahead surfaces early: the worker sees ScheduledStartTime still in the future
    and re-sends it delayed.
    """
    assert record.created_time is not None and record.name is not None and record.execution_id is not None
    message = start_message(
        instance_id=record.instance_id,
        execution_id=record.execution_id,
        name=record.name,
        version=record.version,
        input=record.input,
        now=record.created_time,
        scheduled_start_time=record.scheduled_start_time,
        generation=record.generation or 0,
    )
    if traced is not None:
        message = traced.stamp(message, record.execution_id)
    delay = start_delay(record.scheduled_start_time, record.created_time)
    await hub.messages.send(hub.control_queue_of(record.instance_id), message, visible_in=delay)


async def _write_row(hub: TaskHub, record: InstanceRecord, *, over: bool) -> bool:
    """Write the Pending row (``over``: replace the row as read); False when it exists or changed since it was read."""
    write = hub.instances.replace if over else hub.instances.insert
    for attempt in range(1, 4):
        try:
            await write(record)
        except ConflictError:
            # A concurrent start won the row, or our own earlier attempt landed: the caller reads the row. The
            # worker's ExecutionStarted dedupe keeps exactly one execution (storage-layout.md §5.2).
            return False
        except TransientStorageError as error:
            # The write may have landed with its response lost. The start message is already sent, so the
            # instance runs either way: write again, and a 409/412 then says the first attempt did land.
            if not error.may_have_been_applied or attempt == 3:
                raise
            continue
        return True
    return True
