"""Send and receive ``MessageData`` envelopes, with large messages behind gzip blobs (storage-layout.md §3).

The envelope codec is pure (``_envelope``); this module adds the I/O: the blob for a message over 45 KiB, the
wrapper that points at it, and the per-process send counter that .NET uses to break ordering ties.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace

from durable_storage._envelope import (
    MessageData,
    decode_message,
    encode_message,
    large_message_blob_name,
    large_message_wrapper,
    needs_blob,
)
from durable_storage._storage.blobs import MAX_PAYLOAD_BYTES, Blobs
from durable_storage._storage.queues import MAX_BATCH, QueueMessage, Queues
from durable_storage.errors import MessageFormatError, ResourceNotFoundError

__all__ = ["MessageChannel", "Received"]


@dataclass(frozen=True, slots=True)
class Received:
    """A received queue message and its decoded envelope, or the reason it could not be decoded.

    Exactly one of ``data`` and ``error`` is set: one undecodable message never fails the others of its batch.
    """

    message: QueueMessage
    data: MessageData | None
    error: MessageFormatError | None = None


class MessageChannel:
    """Queue messages of one task hub, as envelopes."""

    def __init__(self, queues: Queues, blobs: Blobs, container: str) -> None:
        self._queues = queues
        self._blobs = blobs
        self.container = container
        # .NET's MessageData.SequenceNumber: a per-process counter, incremented on every send (storage-layout.md §3.1).
        self._sequence = itertools.count(1)

    async def send(self, queue: str, message: MessageData, *, visible_in: float = 0) -> MessageData:
        """Queue ``message`` (stamped with the next sequence number), hidden for ``visible_in`` seconds.

        Returns the message as sent. A body over 45 KiB of UTF-8 goes, gzipped, to
        ``{hub}-largemessages/{instanceId}/message-{ActivityId}-{EventType}.json.gz`` behind a wrapper message.
        """
        message, body = await self._encode(message)
        await self._queues.put(queue, body, visible_in=visible_in)
        return message

    async def send_held(self, queue: str, message: MessageData, *, hold: float) -> Received:
        """Queue ``message`` hidden for ``hold`` seconds and keep it, as if this process had just received it.

        For a message its sender will process itself: it saves the receive, and it comes back to the queue's
        other readers only if the sender neither deletes it nor changes its visibility within ``hold`` seconds.
        """
        message, body = await self._encode(message)
        held = await self._queues.put(queue, body, visible_in=hold)
        return Received(held, message)

    async def _encode(self, message: MessageData) -> tuple[MessageData, str]:
        """``message`` stamped with the next sequence number, and its queue body (a blob wrapper when large)."""
        message = replace(message, sequence_number=next(self._sequence))
        body = encode_message(message)
        if needs_blob(body):
            name = large_message_blob_name(message)
            # Upload first: a crash in between leaves an orphan blob (purged with its instance), never a
            # wrapper pointing at nothing.
            await self._blobs.upload_text(self.container, name, body)
            body = encode_message(large_message_wrapper(name))
        return message, body

    async def receive(self, queue: str, *, max_messages: int = MAX_BATCH, visibility: float) -> list[Received]:
        """Receive and decode up to ``max_messages`` messages, fetching large ones from their blobs in parallel."""
        messages = await self._queues.receive(queue, max_messages=max_messages, visibility=visibility)
        return list(await asyncio.gather(*(self.decode(m) for m in messages)))

    async def decode(self, message: QueueMessage) -> Received:
        """Decode one received message; an undecodable one comes back with ``error`` set instead of raising."""
        try:
            data = decode_message(message.body)
            if data.compressed_blob_name:
                data = await self._unwrap(data.compressed_blob_name)
        except MessageFormatError as error:
            return Received(message, None, error)
        return Received(message, data)

    async def _unwrap(self, blob_name: str) -> MessageData:
        # The name comes from the queue, which anyone with queue access can write: download_text follows only
        # relative names inside our own container (reliability.md §4.3).
        try:
            text = await self._blobs.download_text(self.container, blob_name)
        except ResourceNotFoundError:
            raise MessageFormatError(f"large message blob {blob_name!r} does not exist") from None
        data = decode_message(text, max_chars=MAX_PAYLOAD_BYTES)
        if data.compressed_blob_name:
            raise MessageFormatError(f"large message blob {blob_name!r} holds another wrapper, not a message")
        return data

    async def renew(self, message: QueueMessage, *, visible_in: float) -> QueueMessage:
        """Keep a received message hidden for ``visible_in`` more seconds; returns the copy with the new pop receipt.

        Raises:
            ConflictError: a newer pop receipt exists (the message was received again).
            ResourceNotFoundError: the message is gone.
        """
        return await self._queues.update_visibility(message, visible_in=visible_in)

    async def delete(self, message: QueueMessage) -> bool:
        """Delete a received message (its blob, if any, stays until the instance is purged, as in .NET)."""
        return await self._queues.delete_message(message)

    async def hide(self, message: QueueMessage, *, visible_in: float) -> QueueMessage:
        """Hide a received message for ``visible_in`` more seconds (0: visible again at once, a hand-back).

        Returns it with its new pop receipt, which the next hide or delete needs.
        """
        return await self._queues.update_visibility(message, visible_in=visible_in)

    async def ensure_queue(self, queue: str) -> None:
        """Create ``queue`` if it does not exist (a partition can be acquired before its queue is created)."""
        await self._queues.create(queue)
