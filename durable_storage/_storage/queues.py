"""Queue verbs over the async Azure Queue SDK: put, receive, update visibility, delete, peek, count.

Bodies are plain text (the .NET provider's default UTF-8 encoding, storage-layout.md §3.2); decoding the
envelope is ``_envelope``'s job. No SDK object leaves this module.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime

from azure.storage.queue.aio import QueueClient, QueueServiceClient

from durable_storage._storage.errors import StorageVerbs, done
from durable_storage.errors import ConfigurationError, ConflictError
from durable_storage.retry import OperationKind, StorageRetryPolicy

__all__ = ["MAX_BATCH", "MAX_VISIBILITY_SECONDS", "QueueMessage", "Queues"]

_log = logging.getLogger(__name__)

MAX_BATCH = 32
"""The most messages one Get Messages request returns (a queue API limit)."""
MAX_VISIBILITY_SECONDS = 7 * 24 * 3600
"""Azure Queue's ceiling on a visibility timeout or delay (storage-layout.md §8)."""
_NEVER_EXPIRES = -1


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """A received (or peeked) message. ``pop_receipt`` is None for peeked messages.

    After :meth:`Queues.update_visibility` only the returned copy holds a valid pop receipt.
    """

    queue: str
    id: str
    body: str
    dequeue_count: int
    inserted_on: datetime | None
    next_visible_on: datetime | None
    pop_receipt: str | None


def _seconds(value: float, what: str) -> int:
    """Whole seconds for the queue API (it takes integers); fractions round up so nothing shows early."""
    if not 0 <= value <= MAX_VISIBILITY_SECONDS or math.isnan(value):
        raise ConfigurationError(f"{what} {value!r} s is invalid: must be 0 to {MAX_VISIBILITY_SECONDS} s (7 days)")
    return math.ceil(value)


class Queues(StorageVerbs):
    """The queues of one storage account."""

    def __init__(self, service: QueueServiceClient, retry: StorageRetryPolicy) -> None:
        super().__init__(retry)
        self._service = service
        self._clients: dict[str, QueueClient] = {}

    def _client(self, queue: str) -> QueueClient:
        client = self._clients.get(queue)
        if client is None:
            client = self._clients[queue] = self._service.get_queue_client(queue)
        return client

    async def create(self, queue: str) -> None:
        """Create ``queue`` if it does not exist."""
        # QueueAlreadyExists is a ConflictError.
        await self._call(OperationKind.IDEMPOTENT, f"queue {queue}", self._client(queue).create_queue, if_exists=None)

    async def delete(self, queue: str) -> bool:
        """Delete ``queue``; False when it did not exist."""
        client = self._client(queue)
        return await self._call(
            OperationKind.IDEMPOTENT, f"queue {queue}", lambda: done(client.delete_queue()), if_missing=False
        )

    async def put(self, queue: str, body: str, *, visible_in: float = 0) -> QueueMessage:
        """Append a message that never expires, hidden for ``visible_in`` seconds (at most 7 days).

        Returns it with the pop receipt the service gave it: a message put hidden is held by its sender as if it
        had received it (it can delete it or change its visibility).
        """
        delay = _seconds(visible_in, "message delay")

        async def send() -> QueueMessage:
            raw = await self._client(queue).send_message(
                body, visibility_timeout=delay or None, time_to_live=_NEVER_EXPIRES
            )
            return replace(_message(queue, raw), body=body, dequeue_count=0)

        # A resend duplicates the message, but every consumer tolerates duplicates: at-least-once delivery.
        return await self._call(OperationKind.IDEMPOTENT, f"queue {queue}", send)

    async def receive(self, queue: str, *, max_messages: int = MAX_BATCH, visibility: float) -> list[QueueMessage]:
        """Receive up to ``max_messages`` messages in one request, hiding them for ``visibility`` seconds."""
        if not 1 <= max_messages <= MAX_BATCH:
            raise ConfigurationError(f"max_messages {max_messages!r} is invalid: must be 1-{MAX_BATCH}")
        timeout = _seconds(visibility, "visibility timeout")

        async def receive() -> list[QueueMessage]:
            # Only the first page: one Get Messages request. The pager would go on fetching pages until it has
            # max_messages or an empty page, and a failure of a later request would lose the messages the
            # earlier ones had already hidden (for a whole visibility timeout).
            pager = self._client(queue).receive_messages(messages_per_page=max_messages, visibility_timeout=timeout)
            async for page in pager.by_page():
                return [_message(queue, m) async for m in page]
            return []

        return await self._call(OperationKind.IDEMPOTENT, f"queue {queue}", receive)

    async def update_visibility(self, message: QueueMessage, *, visible_in: float) -> QueueMessage:
        """Hide ``message`` for ``visible_in`` more seconds; returns it with the new pop receipt."""
        timeout = _seconds(visible_in, "visibility timeout")

        async def update() -> QueueMessage:
            updated = await self._client(message.queue).update_message(
                message.id, message.pop_receipt, visibility_timeout=timeout
            )
            return replace(message, pop_receipt=updated.pop_receipt, next_visible_on=updated.next_visible_on)

        # Guarded by the pop receipt: a resend after a lost response would fail with a stale receipt.
        return await self._call(OperationKind.CONDITIONAL, f"queue {message.queue}", update)

    async def delete_message(self, message: QueueMessage) -> bool:
        """Delete ``message`` with its pop receipt; False when it was already gone.

        A 404 counts as done: a retried delete whose first attempt succeeded (toolchain.md §7) gets one.
        """

        client = self._client(message.queue)
        try:
            deleted = await self._call(
                OperationKind.IDEMPOTENT,
                f"queue {message.queue}",
                lambda: done(client.delete_message(message.id, message.pop_receipt)),
                if_missing=False,
            )
        except ConflictError:
            raise ConflictError(
                f"queue {message.queue}: message {message.id} has a newer pop receipt (someone renewed or "
                "received it again)",
                status=400,
                error_code="PopReceiptMismatch",
                resource=f"queue {message.queue}",
            ) from None
        if not deleted:
            _log.debug("message %s was already gone from %s", message.id, message.queue)
        return deleted

    async def peek(self, queue: str, *, max_messages: int = MAX_BATCH) -> list[QueueMessage]:
        """Look at up to ``max_messages`` visible messages without hiding them."""

        async def peek() -> list[QueueMessage]:
            found = await self._client(queue).peek_messages(max_messages=max_messages)
            return [_message(queue, m) for m in found]

        return await self._call(OperationKind.IDEMPOTENT, f"queue {queue}", peek)

    async def count(self, queue: str) -> int:
        """The approximate number of messages in ``queue``, visible or not."""

        async def count() -> int:
            properties = await self._client(queue).get_queue_properties()
            return int(properties.approximate_message_count or 0)

        return await self._call(OperationKind.IDEMPOTENT, f"queue {queue}", count)

    async def close(self) -> None:
        """Close the cached per-queue clients (the service client is closed by its owner)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()


def _message(queue: str, raw: object) -> QueueMessage:
    body = getattr(raw, "content", None)
    return QueueMessage(
        queue=queue,
        id=str(getattr(raw, "id", "")),
        body=body if isinstance(body, str) else "" if body is None else str(body),
        dequeue_count=int(getattr(raw, "dequeue_count", 0) or 0),
        inserted_on=getattr(raw, "inserted_on", None),
        next_visible_on=getattr(raw, "next_visible_on", None),
        pop_receipt=getattr(raw, "pop_receipt", None),
    )
