"""Poison messages: set aside what can never be processed, and fail the instance it was for.

A message goes to the quarantine (``_storage/quarantine_table.py``) when it cannot be decoded, when its instance's
history cannot be read, or when it has been received more than ``max_dequeue_count`` times without being
completed. It is logged once, with its message ID and the reason, and deleted from its queue, so the other
messages of that queue go on. The orchestration it was for ends Failed with the reason (its parent is told), instead
of retrying forever; an activity's orchestration gets a TaskFailed it can catch.
"""

from __future__ import annotations

import logging

from durable_storage._runtime_state import runtime_state
from durable_storage._storage.message_channel import Received
from durable_storage.errors import ConflictError, MessageFormatError, StorageError
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.worker._checkpoint import checkpoint
from durable_storage.worker._episode import failed_episode

__all__ = ["POISON_ERROR_TYPE", "Quarantine"]

_log = logging.getLogger(__name__)
POISON_ERROR_TYPE = "PoisonMessageError"
"""The error type of a failure caused by a quarantined message."""


class Quarantine:
    """Moves unprocessable messages of one task hub out of the way."""

    def __init__(self, hub: TaskHub) -> None:
        self._hub = hub

    async def put(self, received: Received, *, reason: str, instance_id: str | None = None) -> None:
        """Quarantine ``received`` and delete it from its queue (it stays in its queue if that fails)."""
        message = received.message
        try:
            await self._hub.quarantine.add(message, reason=reason, instance_id=instance_id, now=self._hub.clock())
        except StorageError as error:
            _log.warning("message %s could not be quarantined (%s); it stays in %s", message.id, error, message.queue)
            return
        _log.error(
            "message %s of %s quarantined (instance %s, received %d times): %s",
            message.id,
            message.queue,
            instance_id or "unknown",
            message.dequeue_count,
            reason,
        )
        await self._hub.messages.delete(message)

    async def fail_instance(self, instance_id: str, reason: str) -> None:
        """End ``instance_id``'s running execution as Failed with ``reason`` (nothing if it has already ended)."""
        now = self._hub.clock()
        try:
            loaded = await self._hub.history.load(instance_id)
        except MessageFormatError:
            loaded = None  # the history itself is what cannot be read: only the status row can say it failed
        state = runtime_state(loaded.events) if loaded is not None else None
        if loaded is not None and state is not None and state.started is not None:
            if state.is_terminal:
                return
            episode = failed_episode(loaded.events, reason, now, error_type=POISON_ERROR_TYPE)
            try:
                await checkpoint(
                    self._hub, instance_id=instance_id, episode=episode, etag=loaded.etag, inbound=[], now=now
                )
            except ConflictError:
                _log.info("instance %s moved on while being failed; its next poison message will fail it", instance_id)
            return
        # No readable history, or a start that never ran: the status row is all there is to fail.
        row = await self._hub.instances.read(instance_id, fetch_payloads=False)
        if row is None or (row.runtime_status is not None and row.runtime_status.is_terminal):
            return
        await self._hub.instances.end(row, OrchestrationRuntimeStatus.Failed, reason, now)
