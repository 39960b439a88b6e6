"""What becomes of received control messages the dispatcher does not complete: deleted, or handed back.

Hand-backs done in the background (messages received as a lease ended, timers hidden again) are chores: kept
referenced until they end, so none is garbage-collected half done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

from durable_storage._storage.message_channel import Received
from durable_storage.taskhub import TaskHub
from durable_storage.worker._screening import abandon_delay
from durable_storage.worker._visibility import HeldMessages

__all__ = ["MessageFate"]


class MessageFate:
    """Deletes and hands back the control messages of one task hub; runs the chores that do so in the background."""

    def __init__(self, hub: TaskHub, held: HeldMessages | None = None) -> None:
        self._hub = hub
        self._held = held  # messages kept hidden while buffered or running: taken back before their fate
        self._chores: set[asyncio.Task[Any]] = set()  # in flight, kept referenced

    async def take_back(self, batch: Sequence[Received]) -> Sequence[Received]:
        """``batch`` no longer kept hidden, with the newest pop receipts (a delete or update needs the latest)."""
        return batch if self._held is None else await self._held.settle(batch)

    async def delete(self, batch: Sequence[Received]) -> None:
        """Delete ``batch`` (each independently: one failure leaves the others deleted)."""
        batch = await self.take_back(batch)
        await asyncio.gather(*(self._hub.messages.delete(r.message) for r in batch), return_exceptions=True)

    async def abandon(self, batch: Sequence[Received], *, at_once: bool = False) -> None:
        """Hand ``batch`` back: visible again after the reference's back-off, or at once (``at_once``: a handover,
        not a failure; the next owner should see the messages immediately)."""
        batch = await self.take_back(batch)
        await asyncio.gather(
            *(
                self._hub.messages.hide(r.message, visible_in=0 if at_once else abandon_delay(r.message.dequeue_count))
                for r in batch
            ),
            return_exceptions=True,
        )

    def later(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` in the background (:meth:`settle` waits for it)."""
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def settle(self) -> None:
        """Wait for every chore, those started meanwhile too: at shutdown, a hand-back not finished before the
        process exits leaves its messages hidden for a whole visibility timeout."""
        while self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)
