"""Keep the control messages a worker holds hidden, so that a short visibility timeout can be the default.

A control message is received hidden for ``control_queue_visibility`` (30 s by default) and stays in this worker's
hands while it waits in its instance's buffer and while its episode runs, until the episode deletes it or gives it
back. If the worker dies, the messages it held surface again when their visibility runs out: within one visibility
timeout of the crash (the .NET provider's five minutes is its default visibility, never renewed). So that a live
worker never loses a message it is still working on, :class:`HeldMessages` renews the visibility of each message
held longer than about half the timeout, the way activities renew their work items; an episode of a few seconds
costs no renewal at all.

Every renewal gives the message a new pop receipt, and only the newest one can delete the message or change its
visibility again: whoever deletes, abandons or quarantines a held message first takes it back with :meth:`settle`,
which stops renewing it and returns the copy with the newest receipt (after a renewal that was under way).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from durable_storage._storage.message_channel import Received
from durable_storage._storage.queues import QueueMessage
from durable_storage.errors import ConflictError, ResourceNotFoundError

__all__ = ["HeldMessages", "due"]

_log = logging.getLogger(__name__)
_RENEW_AT = 0.5  # renew once this fraction of the visibility timeout is left
_BATCH = 0.1  # and with it every message that would be due within this fraction more (one round, not many)
_RETRY_SECONDS = 1.0  # after a renewal failed for a reason that may pass (a timeout, a 503)


class Renew(Protocol):
    """The storage verb that hides a received message for ``visible_in`` more seconds (a new pop receipt)."""

    def __call__(self, message: QueueMessage, *, visible_in: float) -> Awaitable[QueueMessage]: ...


@dataclass(eq=False)
class _Held:
    """One held message: its newest copy and when (monotonic) its visibility should next be renewed."""

    message: QueueMessage
    renew_at: float
    renewing: asyncio.Task[None] | None = None
    released: bool = False  # its partition left us: no more renewals, but its newest receipt is kept for settle


def due(renew_at: Iterable[float], *, now: float, window: float) -> list[int]:
    """The indexes of the renewal times that are due: past, or within ``window`` seconds of ``now``."""
    return [index for index, at in enumerate(renew_at) if at <= now + window]


class HeldMessages:
    """The control messages this worker holds (buffered or in an episode), kept hidden until they are settled.

    Args:
        renew: hides a message for another visibility timeout; returns the copy with the new pop receipt.
        visibility: the visibility timeout (seconds) of a receive and of each renewal.
        clock: monotonic seconds (a seam for tests).
    """

    def __init__(self, renew: Renew, *, visibility: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._renew = renew
        self._visibility = visibility
        self._clock = clock
        self._held: dict[str, _Held] = {}  # message ID -> the message
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._held)

    def _renewed(self) -> list[_Held]:
        return [h for h in self._held.values() if not h.released]

    def hold(self, received: Received) -> None:
        """Keep ``received`` (just received or put hidden, for ``visibility``) hidden until it is settled.

        A copy of a message already held (received again) replaces it: its pop receipt is the newest.
        """
        renew_at = self._clock() + self._visibility * _RENEW_AT
        held = self._held.get(received.message.id)
        if held is None:
            self._held[received.message.id] = _Held(received.message, renew_at)
        else:
            held.message, held.renew_at, held.released = received.message, renew_at, False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._keep_hidden(), name="renew control messages")

    async def settle(self, batch: Sequence[Received]) -> list[Received]:
        """Stop renewing ``batch``; returns it with the newest pop receipts, for a delete or a visibility change."""
        settled = []
        for received in batch:
            held = self._held.pop(received.message.id, None)
            if held is not None and held.renewing is not None and not held.renewing.done():
                # A renewal on its way would change the receipt after we read it: wait for its answer.
                await asyncio.wait([held.renewing])
            settled.append(received if held is None else replace(received, message=held.message))
        return settled

    def release_queue(self, queue: str) -> None:
        """Stop renewing the messages of ``queue`` (its partition left us): they surface for the next owner.

        They stay known until settled: an episode that still ends deletes them with their newest receipt.
        """
        for held in self._held.values():
            held.released = held.released or held.message.queue == queue

    async def close(self) -> None:
        """Stop renewing (after the episodes have ended: what is still held surfaces within a visibility timeout)."""
        self._held.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _keep_hidden(self) -> None:
        # Runs while anything is held: sleeps until the first renewal is due, then renews every message that is
        # due or nearly (in parallel: one round for a buffer's worth of messages).
        while held := self._renewed():
            now = self._clock()
            first = min(h.renew_at for h in held)
            if first > now:
                await asyncio.sleep(first - now)
                continue
            chosen = [held[i] for i in due((h.renew_at for h in held), now=now, window=self._visibility * _BATCH)]
            for h in chosen:
                h.renewing = asyncio.create_task(self._renew_one(h))
            await asyncio.wait([h.renewing for h in chosen if h.renewing is not None])

    async def _renew_one(self, held: _Held) -> None:
        sent = held.message
        try:
            renewed = await self._renew(sent, visible_in=self._visibility)
        except (ConflictError, ResourceNotFoundError) as error:
            if held.message is sent and not held.released:
                # Deleted, or received again with a receipt we do not have: no longer ours to keep hidden.
                _log.warning("control message %s of %s can no longer be kept hidden: %s", sent.id, sent.queue, error)
                held.released = True
            return  # otherwise a newer copy replaced it meanwhile: that one is renewed in its turn
        except Exception as error:  # a timeout or a 503 may pass: never a busy loop, never a lost renewer
            _log.warning("renewing control message %s of %s failed (retried): %r", sent.id, sent.queue, error)
            held.renew_at = self._clock() + _RETRY_SECONDS
            return
        if held.message is sent:
            held.message = renewed
            held.renew_at = self._clock() + self._visibility * _RENEW_AT
