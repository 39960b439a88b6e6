"""The ordered commit of an episode (storage-layout.md §5.6): send → History (ETag-fenced) → Instances → delete.

A crash between any two steps loses nothing: until the inbound messages are deleted, the episode runs again and
re-sends (duplicates are tolerated, at-least-once), and the sentinel ETag lets only one History write per episode
succeed. A ConflictError from the History write means another worker owns this instance now.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.message_channel import Received
from durable_storage._storage.queues import MAX_VISIBILITY_SECONDS
from durable_storage.errors import ConflictError, ResourceNotFoundError
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.worker._episode import Episode, Outbound
from durable_storage.worker._hooks import NO_HOOKS, WorkerHooks
from durable_storage.worker._reports import log_instance_failed

__all__ = ["Committed", "checkpoint", "instance_record", "send", "send_in_order"]

_log = logging.getLogger(__name__)
_SEQUENCE = itertools.count(1)  # this process's send counter (DTFx numbers every message it sends)

# Instances columns that only a checkpoint with ExecutionStarted writes (storage-layout.md §2.2), set to None (absent).
_STARTED_ONLY: dict[str, Any] = dict.fromkeys(
    ("name", "version", "input", "created_time", "scheduled_start_time", "generation", "tags")
)
_COMPLETED_STATUSES = frozenset(
    {OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated}
)


async def send(hub: TaskHub, outbound: Outbound, now: datetime) -> None:
    """Send one outbound message to its queue, delayed until ``visible_at`` (at most the queue's 7 days)."""
    queue = hub.names.work_item_queue if outbound.to_work_items else hub.control_queue_of(outbound.instance_id)
    delay = 0.0
    if outbound.visible_at is not None:
        delay = min(max((outbound.visible_at - now).total_seconds(), 0.0), float(MAX_VISIBILITY_SECONDS))
    await hub.messages.send(queue, outbound.message, visible_in=delay)


async def send_in_order(hub: TaskHub, outbound: Sequence[Outbound], now: datetime) -> None:
    """Send an episode's messages: one target's in the order they were made, different targets at once.

    Each message gets the next number of this process's send counter (MessageData.SequenceNumber, as DTFx), and
    the receiver orders a batch by insertion time (whole seconds), then that number: so a call an orchestration
    makes after its signals to the same entity is run after them, as Durable Functions promises.
    """
    groups: dict[tuple[bool, str], list[Outbound]] = {}
    for item in outbound:
        numbered = replace(item, message=replace(item.message, sequence_number=next(_SEQUENCE)))
        key = (item.to_work_items, "" if item.to_work_items else item.instance_id)
        groups.setdefault(key, []).append(numbered)

    async def send_group(items: list[Outbound]) -> None:
        if items[0].to_work_items:
            await asyncio.gather(*(send(hub, item, now) for item in items))  # activities: order does not matter
            return
        for item in items:
            await send(hub, item, now)

    await asyncio.gather(*(send_group(items) for items in groups.values()))


@dataclass(frozen=True, slots=True)
class Committed:
    """What a checkpoint left: the History sentinel's ETag, and the Instances row's ETag and content (None when
    a later checkpoint's row stands instead of ours)."""

    history_etag: str
    instance_etag: str | None
    row: InstanceRecord | None = None


def _same_for_readers(before: InstanceRecord, after: InstanceRecord) -> bool:
    # Only LastUpdatedTime differs: a status query would show the same instance (performance.md §5.2's lever;
    # LastUpdatedTime then marks the last visible change, not the last episode).
    return replace(before, last_updated_time=None, etag=None) == replace(after, last_updated_time=None, etag=None)


def instance_record(hub: TaskHub, instance_id: str, episode: Episode, now: datetime) -> InstanceRecord:
    """The Instances row after ``episode`` (storage-layout.md §2.2)."""
    state = episode.state
    assert state is not None and state.started is not None
    started = state.started
    return InstanceRecord(
        instance_id=instance_id,
        name=started.name,
        version=started.version,
        input=started.input,
        output=state.output,
        # .NET writes the literal "null" when there is no custom status (durabletask#477).
        custom_status=episode.custom_status if episode.custom_status is not None else "null",
        created_time=started.timestamp,
        last_updated_time=now,
        completed_time=now if state.status in _COMPLETED_STATUSES else None,
        runtime_status=state.status,
        execution_id=started.orchestration_instance.execution_id,
        scheduled_start_time=started.scheduled_start_time,
        generation=started.generation,
        tags=dict(started.tags) if started.tags else None,
        task_hub_name=hub.name,
    )


async def _write_instance(hub: TaskHub, record: InstanceRecord, *, new_execution: bool, etag: str | None) -> str | None:
    """Write the row, conditioned on ``etag`` (the row as this worker last saw it); returns the new ETag.

    Raises:
        ConflictError: someone wrote the row since.
    """
    if not new_execution:
        # Within an execution only the progress columns change: merge them, as ATS UpdateStateAsync does, and
        # leave Input alone (writing it again would upload a large input's blob again at every episode).
        progress = replace(record, **_STARTED_ONLY, etag=etag)
        try:
            return await hub.instances.update(progress)
        except ResourceNotFoundError:
            pass  # the row is gone (purged while running): write it whole again
        etag = None
    if etag is not None:
        return await hub.instances.replace(replace(record, etag=etag))
    return await hub.instances.put(record)


async def _write_instance_fenced(
    hub: TaskHub, instance_id: str, record: InstanceRecord, *, new_execution: bool, etag: str | None, sentinel: str
) -> str | None:
    """Write the Instances row unless a later checkpoint already did; returns its ETag (None: not written).

    The row is conditioned on the ETag this worker saw before its History write. A conflict means someone wrote
    it since: the client (a start or a terminate), a repair, or a worker that checkpointed this instance after
    us. If the History sentinel is still the one our write left, nobody checkpointed after us: write again over
    the fresh row. Otherwise our status is stale and the later writer's stands (a stalled worker can never put
    Running back over a terminal status).
    """
    for _ in range(3):
        try:
            return await _write_instance(hub, record, new_execution=new_execution, etag=etag)
        except ConflictError:
            current = await hub.history.load(instance_id)
            if current.etag != sentinel:
                _log.warning(
                    "instance %s was checkpointed after us: our status write is stale and skipped", instance_id
                )
                return None
            row = await hub.instances.read(instance_id, fetch_payloads=False)
            etag = row.etag if row is not None else None
    raise ConflictError(f"the Instances row of {instance_id!r} kept changing under three writes")


async def _update_instance(
    hub: TaskHub,
    instance_id: str,
    episode: Episode,
    now: datetime,
    *,
    etag: str | None,
    previous_row: InstanceRecord | None,
    sentinel: str,
) -> tuple[str | None, InstanceRecord]:
    """Step 3 of the checkpoint: the Instances row after ``episode``, and its ETag (None: a stale write skipped).

    A write that would change nothing a reader sees is skipped: the row stays at ``etag`` as ``previous_row``.
    """
    record = instance_record(hub, instance_id, episode, now)
    new_execution = episode.first_index == 0
    if previous_row is not None and etag is not None and not new_execution and _same_for_readers(previous_row, record):
        return etag, previous_row
    written = await _write_instance_fenced(
        hub, instance_id, record, new_execution=new_execution, etag=etag, sentinel=sentinel
    )
    return written, record


async def checkpoint(
    hub: TaskHub,
    *,
    instance_id: str,
    episode: Episode,
    etag: str | None,
    inbound: Sequence[Received],
    now: datetime,
    instance_etag: str | None = None,
    previous_row: InstanceRecord | None = None,
    sent: Callable[[Episode], None] | None = None,
    hooks: WorkerHooks = NO_HOOKS,
    settle: Callable[[Sequence[Received]], Awaitable[Sequence[Received]]] | None = None,
) -> Committed:
    """Commit ``episode`` in the reference order; returns the new ETags.

    ``sent`` is told as soon as the outbound messages are in their queues, before History is written: the loops
    that receive them can start at once (a result that comes back before the History write is waited for by its
    instance's session, which is still committing, or abandoned and retried by another worker, as
    storage-layout.md §5.4 says).

    ``instance_etag`` is the Instances row's ETag as read before this episode (None: write unconditionally);
    ``previous_row`` the row as this worker last wrote it, if known: an Instances write that would change nothing
    a reader sees is skipped. ``hooks`` are told of each crash point between the steps (a test seam). ``settle``
    takes the inbound messages back from whoever keeps them hidden, with their newest pop receipts, right before
    they are deleted (until then they stay hidden however long the writes take).

    Raises:
        ConflictError: the History sentinel moved (another worker checkpointed first); nothing of this episode's
            history was written and the inbound messages are kept.
    """
    # DTFx sends before it writes History: a crash here re-sends, never loses (storage-layout.md §5.6 step 2).
    await send_in_order(hub, episode.outbound, now)
    if sent is not None and episode.outbound:
        sent(episode)
    hooks.crash("C1")
    new_etag = await hub.history.append(
        instance_id, episode.execution_id, episode.appended, first_index=episode.first_index, etag=etag
    )
    hooks.crash("C2")
    written, record = await _update_instance(
        hub, instance_id, episode, now, etag=instance_etag, previous_row=previous_row, sentinel=new_etag
    )
    hooks.crash("C3")
    # Last: until now a crash replays the episode from the same messages.
    if settle is not None:
        inbound = await settle(inbound)
    await asyncio.gather(*(hub.messages.delete(r.message) for r in inbound))
    hooks.crash("C4")
    log_instance_failed(hub.name, instance_id, episode)
    return Committed(new_etag, written, record if written is not None else None)
