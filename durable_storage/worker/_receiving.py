"""The dequeue loops (storage-layout.md §5.1): one per owned control queue, each within the lease last written for it.

A loop receives batches and hands them to its :class:`Inbox` (the dispatcher's buffer); it pauses while the inbox is
full, lingers under load so that each receive brings a batch, and backs off while its queue is empty. It stops by
itself when its lease runs out (a worker paused past its lease receives nothing), and after its current receive,
never inside it, when asked to.

Liveness: each lease renewal calls :meth:`ControlQueueLoops.start`, which checks that the queue's loop is alive and
has gone round within a bound (the lease interval, or two idle polls if longer). A loop that died or hangs while
its lease is renewed is the worst failure a worker can have (the .NET provider's "owned but not processed": no
other worker takes the partition over, and nothing says why), so it is logged as an error, counted, and restarted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Protocol

from durable_storage._storage.message_channel import Received
from durable_storage.errors import StorageError
from durable_storage.taskhub import TaskHub
from durable_storage.worker._hooks import NO_HOOKS, WorkerHooks
from durable_storage.worker._listener import Listener
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._polling import Backoff

__all__ = ["ControlQueueLoops", "Inbox", "Receive"]

_log = logging.getLogger(__name__)


class Inbox(Protocol):
    """Where the dequeue loops put what they receive."""

    def full(self) -> bool:
        """True while the loops should pause (enough messages are buffered)."""
        ...

    def in_hand(self) -> int:
        """Instances with an episode in progress or waiting (how busy this worker is)."""
        ...

    def add(self, batch: list[Received]) -> None:
        """Take a received batch."""
        ...

    def hand_back(self, batch: Sequence[Received]) -> None:
        """Give back a batch received as the lease ended (in the background, visible again at once)."""
        ...


class Receive(Protocol):
    """How a loop receives a batch from a control queue (``MessageChannel.receive``)."""

    def __call__(self, queue: str, *, visibility: float) -> Awaitable[list[Received]]: ...


class ControlQueueLoops:
    """The dequeue loops of the control queues this worker owns.

    Args:
        hub: the task hub.
        options: the worker's options (polling, visibility, lease interval).
        inbox: where received batches go.
        receive: how a batch is received; ``hub.messages.receive`` unless a test slows or stalls it.
    """

    def __init__(
        self,
        hub: TaskHub,
        options: WorkerOptions,
        inbox: Inbox,
        *,
        receive: Receive | None = None,
        hooks: WorkerHooks = NO_HOOKS,
    ) -> None:
        self._hub = hub
        self._hooks = hooks
        self._options = options
        self._inbox = inbox
        self._receive_batch = receive or hub.messages.receive
        self._listeners: dict[str, Listener] = {}
        self.backoffs: dict[str, Backoff] = {}  # per queue, kept across restarts (a send wakes it)
        self._restarts: Counter[str] = Counter()  # per queue: stalled or dead loops restarted while it was ours

    @property
    def queues(self) -> list[str]:
        """The queues with a loop (running or stopping)."""
        return list(self._listeners)

    async def start(self, queue: str, *, valid_until: float) -> None:
        """Listen to ``queue`` (or keep listening) under a lease that holds until ``valid_until`` (monotonic).

        Idempotent; restarts a loop that has died, hung, or stopped because its lease ran out.
        """
        listener = self._listeners.get(queue)
        if listener is not None and not listener.stop.is_set():
            listener.valid_until = valid_until
            if self.is_listening(queue):
                return
            self._check_failed(listener)
        await self._hub.messages.ensure_queue(queue)  # acquired before its queue exists (storage-layout.md §6.4)
        backoff = self.backoffs.setdefault(
            queue, Backoff(self._options.min_polling_interval, self._options.max_polling_interval)
        )
        listener = Listener(queue, valid_until, backoff)
        self._listeners[queue] = listener
        listener.task = asyncio.create_task(self._listen(listener), name=f"dequeue {queue}")

    def _check_failed(self, listener: Listener) -> None:
        # The lease is being renewed, but the loop is not going round: say so loudly, and start it again.
        task = listener.task
        if task is None:
            return
        if not task.done():
            _log.error(
                "the dequeue loop of %s has not gone round for %.1f s (bound %.1f s) while its lease is renewed: "
                "restarting it",
                listener.queue,
                listener.idle,
                self._liveness_bound,
            )
            task.cancel()
        elif not task.cancelled() and task.exception() is not None:
            _log.error("the dequeue loop of %s died: restarting it", listener.queue, exc_info=task.exception())
        else:
            return  # it stopped by itself when its lease ran out: the renewal starts it again
        self._restarts[listener.queue] += 1

    def loop_restarts(self, queue: str) -> int:
        """How often ``queue``'s loop was found dead or stalled, and restarted, since the queue became ours."""
        return self._restarts[queue]

    @property
    def _liveness_bound(self) -> float:
        # A loop goes round at least once per idle poll; a lease interval is the longest a healthy one may take.
        return max(self._options.lease_interval, 2 * self._options.max_polling_interval)

    async def stop(self, queue: str) -> None:
        """Stop ``queue``'s loop and wait for it to end (after its current receive)."""
        self._restarts.pop(queue, None)
        listener = self._listeners.pop(queue, None)
        if listener is None:
            return
        listener.stop.set()
        listener.backoff.wake()
        if listener.task is not None:
            # The loop ends after its current receive, never inside it: a receive cut off after the service ran
            # it would hide its messages for a whole visibility timeout.
            await asyncio.gather(listener.task, return_exceptions=True)

    def is_listening(self, queue: str) -> bool:
        """True when ``queue``'s dequeue loop is alive and has polled recently (the renewal's health check)."""
        listener = self._listeners.get(queue)
        if listener is None or listener.task is None or listener.task.done() or listener.stop.is_set():
            return False
        return listener.idle < self._liveness_bound

    def last_dequeue(self, queue: str) -> datetime | None:
        """When this worker last asked ``queue`` for messages (shown by ``hub info`` to spot a stuck partition)."""
        listener = self._listeners.get(queue)
        return listener.last_dequeue if listener is not None else None

    def may_run(self, queue: str) -> bool:
        """Whether messages of ``queue`` may run: it is listened to and within the last lease written for it."""
        listener = self._listeners.get(queue)
        return listener is not None and not listener.stop.is_set() and time.monotonic() < listener.valid_until

    async def _listen(self, listener: Listener) -> None:
        queue = listener.queue
        self._hooks.trace(self._options.worker_id, queue, "listen")
        lingered = False
        try:
            while not listener.stop.is_set():
                listener.last_poll = time.monotonic()
                if listener.last_poll >= listener.valid_until:
                    # Paused or cut off from storage past our own lease: another worker may own the queue now.
                    _log.warning("the lease on %s ran out before it was renewed: stopped dequeuing it", queue)
                    return
                if self._inbox.full():
                    await asyncio.sleep(0.05)
                    continue
                linger = listener.linger_for(self._inbox.in_hand())
                busy = linger > 0
                if busy and not lingered:
                    # Under load the episodes, not the receives, set the pace: let messages gather, so that each
                    # receive brings a batch (one request for many messages, and fewer empty ones). At low load it
                    # polls at once, for latency. Then round the loop: the lease may have run out meanwhile.
                    lingered = True
                    await asyncio.sleep(linger)
                    continue
                lingered = False
                await self._receive(listener, busy=busy)
        finally:
            self._hooks.trace(self._options.worker_id, queue, "stop")

    async def _receive(self, listener: Listener, *, busy: bool) -> None:
        queue = listener.queue
        self._hooks.trace(self._options.worker_id, queue, "receive")
        listener.last_dequeue = self._hub.clock()
        try:
            batch = await self._receive_batch(queue, visibility=self._options.control_queue_visibility)
        except StorageError as error:
            _log.warning("receiving from %s failed: %s", queue, error)
            await listener.backoff.wait()
            return
        if busy:
            listener.adapt(len(batch))
        if not batch:
            # Busy or not: activity results for our own partitions no longer come through the queue (they are
            # handed over), so an empty queue may stay empty a while.
            await listener.backoff.wait()
            return
        listener.backoff.reset()
        if listener.stop.is_set() or time.monotonic() >= listener.valid_until:
            self._inbox.hand_back(batch)  # received as the lease ended
            return
        self._inbox.add(batch)
