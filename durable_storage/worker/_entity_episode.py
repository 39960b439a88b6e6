"""One episode of an entity, as data: run the batch, then continue as new with the scheduler state. Pure.

Durable Functions keeps an entity as the orchestration instance ``@name@key`` that ends every batch with
continue-as-new: the next execution's input (and the Instances row's ``Input``) is the serialized scheduler state
and its custom status the ``EntityStatus`` (entity-messages.md §1). Only the new execution is
written, from RowKey 0 (storage-layout.md §5.5), so an entity's history stays three rows long however many
operations it has run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from durable_storage._envelope import MessageData, TaskMessage
from durable_storage._runtime_state import runtime_state
from durable_storage.entities import Batch, EntityStatus, SchedulerState, run_batch
from durable_storage.history import (
    EventRaisedEvent,
    ExecutionStartedEvent,
    HistoryEvent,
    OrchestrationInstance,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
)
from durable_storage.models import EntityId
from durable_storage.worker._episode import Episode, Outbound

__all__ = ["entity_id_of", "failing_entity", "is_entity", "run_entity_episode"]


def is_entity(instance_id: str) -> bool:
    """Entities live in instances whose ID is ``@name@key``."""
    return instance_id.startswith("@") and "@" in instance_id[1:]


def entity_id_of(instance_id: str) -> EntityId:
    """The entity of ``@name@key``; the key may itself contain ``@`` (as DTFx allows)."""
    name, _, key = instance_id[1:].partition("@")
    return EntityId(name, key)


def failing_entity(error: Exception) -> Callable[[Any], None]:
    """A stand-in entity whose every operation fails with ``error``'s type and message (the state is kept)."""

    def fail(context: Any) -> None:
        raise type(error)(str(error))

    return fail


def run_entity_episode(
    entity: Callable[..., Any] | type,
    *,
    instance_id: str,
    history: Sequence[HistoryEvent],
    messages: Sequence[HistoryEvent],
    now: datetime,
    confirmed: Collection[str] = (),
) -> tuple[Episode, Batch]:
    """Run the entity's delivered ``messages`` over the state in its ``history``; the episode to checkpoint."""
    started = runtime_state(history).started
    scheduler = SchedulerState.from_json(started.input if started is not None else None)
    requests = [event for event in messages if isinstance(event, EventRaisedEvent)]
    batch = run_batch(entity, entity_id_of(instance_id), scheduler, requests, confirmed=confirmed, now=now)
    me = OrchestrationInstance(instance_id, uuid.uuid4().hex)
    next_started = ExecutionStartedEvent(
        timestamp=now,
        orchestration_instance=me,
        name=instance_id,  # DTFx auto-starts entities under their instance ID (entity-messages.md §1)
        version="",
        input=batch.state.to_json(),
        generation=(started.generation or 0) + 1 if started is not None else 0,
    )
    appended: list[HistoryEvent] = [
        OrchestratorStartedEvent(timestamp=now),
        next_started,
        OrchestratorCompletedEvent(timestamp=now),
    ]
    outbound = [
        Outbound(
            MessageData(
                activity_id=uuid.uuid4(),
                task_message=TaskMessage(
                    event=EventRaisedEvent(timestamp=now, name=send.name, input=send.input),
                    orchestration_instance=OrchestrationInstance(send.instance_id, send.execution_id),
                ),
                sender=me,
            ),
            send.instance_id,
        )
        for send in batch.sends
    ]
    state = batch.state
    status = EntityStatus(exists=state.exists, queue_size=len(state.queue), locked_by=state.locked_by)
    episode = Episode(
        me.execution_id or "",
        0,
        appended,
        list(appended),
        outbound,
        state=runtime_state(appended),
        custom_status=status.to_json(),
    )
    return episode, batch
