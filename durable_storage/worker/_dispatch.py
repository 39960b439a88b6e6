"""Orchestration dispatch (storage-layout.md §5.1-§5.4): the control queues this worker owns, and their sessions.

The dequeue loops (``_receiving``) put what they receive into a buffer, grouped by instance; each instance with
buffered messages has one session, which takes them a batch at a time (one episode at a time per instance, later
messages wait for the next one), sets poison aside, and runs the batch as an orchestration episode (``_session``)
or an entity batch (``_entity_session``). Both commit through ``_commit``; what becomes of messages not completed
is ``_fate``'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from durable_storage._storage.message_channel import Received
from durable_storage.app import App
from durable_storage.errors import MessageFormatError
from durable_storage.history import HistoryEvent, TaskScheduledEvent
from durable_storage.taskhub import TaskHub
from durable_storage.worker._commit import Committer
from durable_storage.worker._decisions import split_poison
from durable_storage.worker._early import seconds_early
from durable_storage.worker._entity_episode import is_entity
from durable_storage.worker._entity_session import EntitySession
from durable_storage.worker._fate import MessageFate
from durable_storage.worker._hooks import NO_HOOKS, WorkerHooks
from durable_storage.worker._memory import InstanceMemory
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._poison import Quarantine
from durable_storage.worker._polling import Backoff
from durable_storage.worker._receiving import ControlQueueLoops, Receive
from durable_storage.worker._replay_runner import ReplayRunner
from durable_storage.worker._reports import UnregisteredNames
from durable_storage.worker._screening import ordered
from durable_storage.worker._session import OrchestrationSession
from durable_storage.worker._visibility import HeldMessages

__all__ = ["OrchestrationDispatcher"]

_log = logging.getLogger(__name__)
T = TypeVar("T")
_BUFFER_THRESHOLD = 64  # buffered control messages per worker before the loops pause (storage-layout.md §5.1, §10)
_REMEMBERED_ROWS = 10_000  # instances remembered between episodes (oldest forgotten first; a miss costs reads)


class OrchestrationDispatcher:
    """Runs the orchestrations of the partitions this worker owns."""

    def __init__(
        self,
        hub: TaskHub,
        app: App,
        options: WorkerOptions,
        *,
        on_sent: Callable[[str], None],
        run_activity: Callable[[TaskScheduledEvent, str], Awaitable[HistoryEvent]] | None = None,
        receive: Receive | None = None,
        hooks: WorkerHooks = NO_HOOKS,
    ) -> None:
        self._hub = hub
        self._options = options
        self._loops = ControlQueueLoops(hub, options, self, receive=receive, hooks=hooks)
        self._pending: dict[str, list[Received]] = {}
        self._sessions: dict[str, asyncio.Task[None]] = {}
        self._session_queue: dict[str, str] = {}  # instance ID -> the control queue its messages came from
        self._memory = InstanceMemory(_REMEMBERED_ROWS)  # instances as our last checkpoints left them
        self._slots = asyncio.Semaphore(options.max_concurrent_orchestrations)
        self._replays = ReplayRunner(options.replay_deadline)
        self._poison = Quarantine(hub)
        # Received short-hidden and renewed while buffered or running: a killed worker's messages surface soon.
        self._held = HeldMessages(hub.messages.renew, visibility=options.control_queue_visibility)
        self._fate = MessageFate(hub, self._held)
        committer = Committer(
            hub, self._memory, self._fate, may_run=self._may_run_instance, on_sent=on_sent, hooks=hooks
        )
        unregistered = UnregisteredNames(hub.name, app)
        self._orchestrations = OrchestrationSession(
            hub,
            app,
            options,
            memory=self._memory,
            committer=committer,
            fate=self._fate,
            off_loop=self._off_loop,
            run_activity=run_activity,
            unregistered=unregistered,
        )
        self._entities = EntitySession(hub, app, committer, off_loop=self._off_loop, unregistered=unregistered)

    @property
    def backoffs(self) -> dict[str, Backoff]:
        """Each control queue's idle back-off (a message sent to the queue wakes it)."""
        return self._loops.backoffs

    # --- partitions (called by the partition manager) ------------------------------------------------------

    async def start_queue(self, queue: str, *, valid_until: float) -> None:
        """Listen to ``queue`` (or keep listening) under a lease that holds until ``valid_until`` (monotonic).

        Idempotent; restarts a loop that has died, hung, or stopped because its lease ran out.
        """
        await self._loops.start(queue, valid_until=valid_until)

    async def release_queue(self, queue: str) -> None:
        """Drain ``queue`` before handing it over: stop dequeuing, put buffered messages back, let running
        episodes finish (at most ``drain_timeout``)."""
        await self._loops.stop(queue)
        self._forget_queue(queue)
        deadline = time.monotonic() + self._options.drain_timeout
        while running := [t for i, t in self._sessions.items() if self._session_queue.get(i) == queue]:
            left = deadline - time.monotonic()
            if left <= 0:
                _log.warning("%d episodes on %s still running after the drain timeout", len(running), queue)
                break
            await asyncio.wait(running, timeout=left)
        self._held.release_queue(queue)  # episodes past the drain timeout: their messages surface for the next owner

    async def drop_queue(self, queue: str) -> None:
        """The lease on ``queue`` is lost: stop dequeuing and put buffered messages back, without waiting.

        An episode already running may still finish; its checkpoint is fenced by the History sentinel ETag.
        """
        await self._loops.stop(queue)
        self._forget_queue(queue)
        self._held.release_queue(queue)

    def _forget_queue(self, queue: str) -> None:
        # Whoever owns the partition next writes its instances: what we remember of them will be stale.
        self._memory.forget_where(lambda i: self._hub.control_queue_of(i) == queue)

    def owns(self, queue: str) -> bool:
        """Whether this worker dispatches ``queue`` now (its lease is ours and still valid)."""
        return self._loops.may_run(queue)

    def deliver(self, received: Received) -> None:
        """A message this process put into an owned control queue and holds hidden (an activity's result)."""
        if self._loops.may_run(received.message.queue):
            self.add([received])
        else:
            self.hand_back([received])  # the partition left us meanwhile

    def is_listening(self, queue: str) -> bool:
        """True when ``queue``'s dequeue loop is alive and has polled recently (the renewal's health check)."""
        return self._loops.is_listening(queue)

    def last_dequeue(self, queue: str) -> datetime | None:
        """When this worker last asked ``queue`` for messages (shown by ``hub info`` to spot a stuck partition)."""
        return self._loops.last_dequeue(queue)

    def loop_restarts(self, queue: str) -> int:
        """How often ``queue``'s dequeue loop was found dead or stalled and restarted since the queue became ours."""
        return self._loops.loop_restarts(queue)

    async def drain(self) -> None:
        """Stop every loop, wait for the running sessions, and for the messages being handed back."""
        for queue in self._loops.queues:
            await self._loops.stop(queue)
        if self._sessions:
            await asyncio.gather(*self._sessions.values(), return_exceptions=True)
        await self._held.close()
        await self._fate.settle()

    async def close(self) -> None:
        """Finish the hand-backs still under way and release the replay thread (after :meth:`drain`)."""
        await self._fate.settle()
        self._replays.close()

    async def _off_loop(self, function: Callable[..., T], /, *args: Any, what: str, **kwargs: Any) -> T:
        # User code replays off the event loop, one replay at a time, within the replay deadline (_replay_runner):
        # storage calls and lease renewals go on, and a replay that loops or blocks fails its instance alone.
        return await self._replays.run(partial(function, *args, **kwargs), what=what)

    def _may_run_instance(self, instance_id: str) -> bool:
        # Buffered messages run only while their queue is ours: listened to and within the last lease we wrote.
        return self._loops.may_run(self._session_queue.get(instance_id, ""))

    # --- the buffer (the dequeue loops' inbox) --------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Messages waiting in the buffer for their instance's next episode."""
        # Counted from the buffer itself: a separate counter drifted (a re-delivered copy replaces the one it
        # buffered, but was counted again), and its leak paused every loop of the worker for good.
        return sum(map(len, self._pending.values()))

    def full(self) -> bool:
        """True while enough messages are buffered: the loops pause."""
        return self.buffered >= _BUFFER_THRESHOLD

    def in_hand(self) -> int:
        """Instances with a session (an episode running or messages waiting)."""
        return len(self._sessions)

    def hand_back(self, batch: Sequence[Received]) -> None:
        """Make ``batch`` visible again at once, in the background."""
        self._fate.later(self._fate.abandon(batch, at_once=True))

    def add(self, batch: list[Received]) -> None:
        """Buffer a received batch by instance, starting a session for each instance without one."""
        now = self._hub.clock()
        for received in batch:
            data = received.data
            if data is None or data.task_message is None:
                # Undecodable now means undecodable for ever: out of the queue, so the rest of it goes on.
                reason = f"cannot be decoded: {received.error or 'no task message'}"
                self._fate.later(self._poison.put(received, reason=reason))
                continue
            wait = seconds_early(
                data.task_message.event, received.message, now=now, visibility=self._options.control_queue_visibility
            )
            if wait > 0:
                # A timer or scheduled start further away than the queue's 7-day delay arrives early: hide it again
                # for the rest of the way (it fires once, never early).
                self._fate.later(self._hub.messages.hide(received.message, visible_in=wait))
                continue
            instance_id = data.task_message.orchestration_instance.instance_id
            pending = self._pending.setdefault(instance_id, [])
            # A re-delivered message (its visibility expired) replaces the older copy (storage-layout.md §5.1 step 3).
            pending[:] = [r for r in pending if r.message.id != received.message.id]
            pending.append(received)
            self._held.hold(received)
            if instance_id not in self._sessions:
                self._session_queue[instance_id] = received.message.queue
                task = asyncio.create_task(self._session(instance_id), name=f"session {instance_id}")
                self._sessions[instance_id] = task

    # --- sessions -------------------------------------------------------------------------------------------

    async def _session(self, instance_id: str) -> None:
        try:
            while self._pending.get(instance_id):
                batch = self._pending.pop(instance_id)
                if not self._may_run_instance(instance_id):
                    await self._fate.abandon(batch, at_once=True)  # its partition is being handed over, or was lost
                    continue
                async with self._slots:
                    if not self._may_run_instance(instance_id):
                        await self._fate.abandon(batch, at_once=True)
                        continue
                    batch = await self._without_poison(instance_id, batch)
                    if batch:
                        await self._process(instance_id, ordered(batch))
        finally:
            self._sessions.pop(instance_id, None)
            self._session_queue.pop(instance_id, None)

    async def _process(self, instance_id: str, batch: list[Received]) -> None:
        try:
            if is_entity(instance_id):
                await self._entities.run(instance_id, batch)
            else:
                await self._orchestrations.run(instance_id, batch)
        except MessageFormatError as error:
            # Its history (or a payload blob) cannot be read: retrying would fail the same way.
            await self._poisoned(instance_id, batch, f"its instance cannot be processed: {error}")
        except Exception:
            _log.exception("episode of %s failed; its messages will be retried", instance_id)
            self._memory.forget(instance_id)
            await self._fate.abandon(batch)

    async def _without_poison(self, instance_id: str, batch: list[Received]) -> list[Received]:
        poison, rest, reason = split_poison(batch, self._options.max_dequeue_count)
        if poison:
            await self._poisoned(instance_id, poison, reason)
        return rest

    async def _poisoned(self, instance_id: str, batch: Sequence[Received], reason: str) -> None:
        for received in await self._fate.take_back(batch):
            await self._poison.put(received, reason=reason, instance_id=instance_id)
        if not is_entity(instance_id):
            await self._poison.fail_instance(instance_id, f"a message was quarantined: {reason}")
