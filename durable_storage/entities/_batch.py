"""One batch of an entity: run its delivered requests in order, one at a time; pure.

The batch takes the entity's ``SchedulerState`` and the EventRaised messages of one episode, and returns the next
state and the messages to send (responses, lock grants, lock requests forwarded along a lock set). An operation
that raises leaves the state as it was before it and answers its caller with the failure; the operations after it
still run. While an orchestration holds the entity's lock, requests from anyone else wait in the state's queue and
run, in their order, once the lock is released.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from durable_storage import _json
from durable_storage.entities._context import DurableEntityContext, run_operation
from durable_storage.entities._formats import (
    LOCK_ACQUIRED,
    OPERATION,
    RELEASE,
    ReleaseMessage,
    RequestMessage,
    ResponseMessage,
    SchedulerState,
    scheduled_time_of,
)
from durable_storage.errors import MessageFormatError
from durable_storage.history import EventRaisedEvent
from durable_storage.models import EntityId

__all__ = ["Batch", "EntitySend", "run_batch"]

_log = logging.getLogger(__name__)
_MAX_UNCONFIRMED = 1000  # redelivery keys kept at most (each batch adds its own; a delete confirms and drops them)
RECENT_SECONDS = 60.0  # how long a processed request's key is remembered regardless of its deletion
_MAX_RECENT = 300  # ... and how many at most: the state is rewritten by every batch, so it must stay small


@dataclass(frozen=True, slots=True)
class EntitySend:
    """A message the batch sends: an EventRaised ``name`` with ``input`` to ``instance_id`` (and execution)."""

    instance_id: str
    execution_id: str | None
    name: str
    input: str


@dataclass(slots=True)
class Batch:
    """The outcome of a batch: the next state, what to send, and counts for logs and benchmarks."""

    state: SchedulerState
    sends: list[EntitySend] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)  # redelivery keys of the messages this batch consumed
    operations: int = 0
    failures: int = 0
    rejected: list[str] = field(default_factory=list)  # why a message could not be understood


def redelivery_key(event: EventRaisedEvent) -> str | None:
    """The key that recognises a redelivered copy of a request or release message."""
    try:
        if event.name == RELEASE:
            return f"release:{ReleaseMessage.from_json(event.input).id}"
        if event.name == OPERATION or scheduled_time_of(event.name) is not None:
            return f"op:{RequestMessage.from_json(event.input).id}"
    except MessageFormatError:
        return None
    return None


def run_batch(
    entity: Any,
    entity_id: EntityId,
    state: SchedulerState,
    events: Sequence[EventRaisedEvent],
    *,
    confirmed: Collection[str] = (),
    now: datetime | None = None,
) -> Batch:
    """Run ``events`` against ``entity`` (a function taking the context, or a ``DurableEntity`` class).

    ``confirmed``: redelivery keys whose queue messages are known to be deleted (that copy cannot come back).
    ``now``: the batch's time, for the window of recently processed keys (which also catches second copies).
    """
    clock = now.timestamp() if now is not None else 0.0
    runner = _Runner(entity, entity_id, state)
    unconfirmed = [key for key in state.unconfirmed if key not in confirmed]
    recent = [(key, at) for key, at in state.recent if at >= clock - RECENT_SECONDS]
    seen = set(unconfirmed) | {key for key, _ in recent}
    for event in events:
        key = redelivery_key(event)
        if key is not None and key in seen:
            _log.info("entity %s: %s was already processed (a second copy of its message); skipped", entity_id, key)
            continue
        try:
            runner.deliver(event)
        except MessageFormatError as error:
            runner.batch.rejected.append(f"{event.name}: {error}")
            continue
        if key is not None:
            seen.add(key)
            unconfirmed.append(key)
            recent.append((key, clock))
            runner.batch.processed.append(key)
    runner.finish()
    runner.batch.state.unconfirmed = unconfirmed[-_MAX_UNCONFIRMED:]
    runner.batch.state.recent = recent[-_MAX_RECENT:]
    return runner.batch


class _Runner:
    def __init__(self, entity: Any, entity_id: EntityId, state: SchedulerState) -> None:
        self.entity = entity
        self.entity_id = entity_id
        self.me = str(entity_id)
        self.batch = Batch(
            SchedulerState(exists=state.exists, state=state.state, queue=list(state.queue), locked_by=state.locked_by)
        )
        self.context = DurableEntityContext(entity_id, state.state if state.exists else None, state.exists)

    def deliver(self, event: EventRaisedEvent) -> None:
        state = self.batch.state
        if event.name == RELEASE:
            release = ReleaseMessage.from_json(event.input)
            if state.locked_by == release.parent_instance_id:
                state.locked_by = None
                self._run_queue()
            return
        if event.name != OPERATION and scheduled_time_of(event.name) is None:
            raise MessageFormatError(f"entity {self.me} got an event named {event.name!r}, not an entity message")
        request = RequestMessage.from_json(event.input)
        if self._blocked(request):
            state.queue.append(request)  # waits for the lock holder to release; first come, first served after it
            return
        self._process(request)

    def _blocked(self, request: RequestMessage) -> bool:
        holder = self.batch.state.locked_by
        return holder is not None and request.parent_instance_id != holder

    def _run_queue(self) -> None:
        # The lock was released: waiting requests run in their order until one of them takes the lock again;
        # after that only the new holder's requests run and the rest keep waiting, still in order.
        state = self.batch.state
        waiting, state.queue = state.queue, []
        for request in waiting:
            if self._blocked(request):
                state.queue.append(request)
            else:
                self._process(request)

    def _process(self, request: RequestMessage) -> None:
        if request.is_lock_request:
            self._lock(request)
            return
        self.batch.operations += 1
        before = self.context._commit()
        self.context._begin(request.operation or "", request.input)
        try:
            run_operation(self.entity, self.context)
            text, exists = self.context._commit()
            response = ResponseMessage(result=_result_json(self.context._result))
        except Exception as error:
            self.batch.failures += 1
            self.context._rollback(*before)
            message = str(error) or type(error).__name__
            response = ResponseMessage(result=_quoted(message), error_type=type(error).__name__, error_message=message)
        else:
            self.batch.state.state, self.batch.state.exists = text, exists
        if not request.is_signal and request.parent_instance_id:
            self._send(request.parent_instance_id, request.parent_execution_id, request.id, response.to_json())

    def _lock(self, request: RequestMessage) -> None:
        state = self.batch.state
        lockset = request.lockset or ()
        state.locked_by = request.parent_instance_id
        following = request.advanced()
        if following.position < len(lockset):
            # The next entity of the (sorted) lock set takes the lock in turn: locks are always taken in one order,
            # so two critical sections over the same entities cannot deadlock.
            self._send(str(lockset[following.position]), None, OPERATION, following.to_json())
        elif request.parent_instance_id:
            granted = ResponseMessage(result=_quoted(LOCK_ACQUIRED)).to_json()
            self._send(request.parent_instance_id, request.parent_execution_id, request.id, granted)

    def _send(self, instance_id: str, execution_id: str | None, name: str, payload: str) -> None:
        self.batch.sends.append(EntitySend(instance_id, execution_id, name, payload))

    def finish(self) -> None:
        state = self.batch.state
        if not state.exists:
            state.state = None


def _result_json(result: Any) -> str:
    return _json.dumps(result)


def _quoted(text: str) -> str:
    return _json.dumps(text)
