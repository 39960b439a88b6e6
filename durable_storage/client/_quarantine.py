"""The client's view of the quarantine: list the messages set aside, and put one back."""

from __future__ import annotations

from durable_storage.client._core import ClientCore
from durable_storage.client._validation import check_name
from durable_storage.errors import ConfigurationError
from durable_storage.models import QuarantinedMessage

__all__ = ["QuarantineOperations"]


class QuarantineOperations(ClientCore):
    """The client's listing and re-queueing of quarantined messages."""

    async def list_quarantined_messages(self) -> list[QuarantinedMessage]:
        """Messages the workers set aside because they could never be processed (oldest queue first)."""
        hub = await self._ensure_hub()
        return await hub.quarantine.list()

    async def requeue_quarantined_message(self, message_id: str, *, queue: str | None = None) -> bool:
        """Put a quarantined message back into its queue (after fixing its cause); False when there is none.

        Raises:
            ConfigurationError: an empty message ID, or a message ID in several queues and no ``queue``.
        """
        wanted = check_name(message_id, "message_id")
        hub = await self._ensure_hub()
        if queue is None:
            queues = {m.queue for m in await hub.quarantine.list() if m.message_id == wanted}
            if len(queues) > 1:
                raise ConfigurationError(f"message_id {wanted!r} is quarantined from {sorted(queues)}: name the queue")
            if not queues:
                return False
            queue = queues.pop()
        return await hub.quarantine.requeue(queue, wanted)
