"""Orchestration dispatch (storage-layout.md §5.1-§5.4): one dequeue loop per owned control queue.

Messages are received in batches, grouped by instance into sessions (one episode at a time per instance, later
messages wait for the next one), screened by the reference's rules, replayed off the event loop, and committed by
``_checkpoint``. Screening follows storage-layout.md §5.4: results whose scheduling event is not in history yet are
abandoned with back-off; messages for unknown or finished instances are discarded; a stale Instances row of a finished
instance is repaired from history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from durable_storage._messages import partition_of
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.messages import Received
from durable_storage._storage.tables import WriteMode
from durable_storage.app import App, FunctionKind
from durable_storage.clock import utcnow
from durable_storage.errors import ConflictError, MessageFormatError, ReplayDeadlineError, StorageError
from durable_storage.history import (
    ExecutionStartedEvent,
    ExecutionTerminatedEvent,
    HistoryEvent,
    TaskScheduledEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.runtime_state import runtime_state
from durable_storage.taskhub import TaskHub
from durable_storage.telemetry import episode_trace
from durable_storage.worker._checkpoint import Committed, checkpoint, instance_record
from durable_storage.worker._early import seconds_early
from durable_storage.worker._entity_episode import entity_id_of, failing_entity, is_entity, run_entity_episode
from durable_storage.worker._episode import Episode, failed_episode, resume_episode, run_episode, with_trace_context
from durable_storage.worker._listener import Listener
from durable_storage.worker._memory import InstanceMemory, Remembered
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._poison import Quarantine
from durable_storage.worker._polling import Backoff
from durable_storage.worker._replay_runner import ReplayRunner
from durable_storage.worker._screening import (
    RESULTS,
    SCHEDULING,
    abandon_delay,
    event_of,
    first_start,
    for_other_executions,
    new_instance_row,
    ordered,
    result_id,
    screen,
)
from durable_storage.worker._trace import trace

__all__ = ["OrchestrationDispatcher"]

if TYPE_CHECKING:
    from durable_storage.telemetry._spans import EpisodeTrace

_log = logging.getLogger(__name__)
T = TypeVar("T")
_BUFFER_THRESHOLD = 64  # buffered control messages per worker before the loops pause (storage-layout.md §5.1, §10)
_ROW_REFRESH_SECONDS = 60.0  # an unchanged Instances row is still written this often (LastUpdatedTime's bound)
_REMEMBERED_ROWS = 10_000  # instances remembered between episodes (oldest forgotten first; a miss costs reads)
_CONFIRMED_ENTITIES = 10_000  # entities whose last batch's deletes we remember (oldest forgotten first)
_OUT_OF_ORDER_GIVE_UP = 5  # deliveries of a result for an instance with no history (storage-layout.md §5.4)


@dataclass(frozen=True, slots=True)
class _RowBefore:
    """The Instances row before an episode: its ETag, and the row itself when it had to be read for it."""

    etag: str | None
    read: bool = False
    record: InstanceRecord | None = None


def _fresh_row(known: Remembered | None, etag: str | None) -> bool:
    # The row as we wrote it, still the one the episode's write is conditioned on, and written within a minute.
    return (
        known is not None
        and known.row is not None
        and known.row_etag == etag
        and time.monotonic() - known.row_written_at < _ROW_REFRESH_SECONDS
    )


class _HistoryExists(Exception):
    """A start presumed to be an instance's first found a history when it was checkpointed."""


class OrchestrationDispatcher:
    """Runs the orchestrations of the partitions this worker owns."""

    def __init__(
        self,
        hub: TaskHub,
        app: App,
        options: WorkerOptions,
        *,
        on_sent: Callable[[str], None],
        run_activity: Callable[[TaskScheduledEvent], Awaitable[HistoryEvent]] | None = None,
    ) -> None:
        self._hub = hub
        self._app = app
        self._options = options
        self._on_sent = on_sent
        # Runs a local activity (``activity_trigger(local=True)``) inside an episode: the activity dispatcher's.
        self._run_activity = run_activity
        self._listeners: dict[str, Listener] = {}
        self.backoffs: dict[str, Backoff] = {}
        self._pending: dict[str, list[Received]] = {}
        self._sessions: dict[str, asyncio.Task[None]] = {}
        self._session_queue: dict[str, str] = {}  # instance ID -> the control queue its messages came from
        self._confirmed: dict[str, list[str]] = {}  # entity -> redelivery keys of its last batch, now deleted
        self._memory = InstanceMemory(_REMEMBERED_ROWS)  # instances as our last checkpoints left them
        self._slots = asyncio.Semaphore(options.max_concurrent_orchestrations)
        self._replays = ReplayRunner(options.replay_deadline)
        self._buffered = 0
        self._poison = Quarantine(hub)
        self._chores: set[asyncio.Task[Any]] = set()  # abandons and re-delays in flight (kept referenced)

    # --- partitions (called by the partition manager) ------------------------------------------------------

    async def start_queue(self, queue: str, *, valid_until: float) -> None:
        """Listen to ``queue`` (or keep listening) under a lease that holds until ``valid_until`` (monotonic).

        Idempotent; restarts a loop that has died, hung, or stopped because its lease ran out.
        """
        listener = self._listeners.get(queue)
        if listener is not None and not listener.stop.is_set():
            listener.valid_until = valid_until
            if self.is_listening(queue):
                return
            if listener.task is not None and not listener.task.done():
                _log.warning("the dequeue loop of %s made no poll for %.0f s: restarting it", queue, listener.idle)
                listener.task.cancel()
        await self._hub.account.queues.create(queue)  # acquired before its queue exists (storage-layout.md §6.4)
        backoff = self.backoffs.setdefault(
            queue, Backoff(self._options.min_polling_interval, self._options.max_polling_interval)
        )
        listener = Listener(queue, valid_until, backoff)
        self._listeners[queue] = listener
        listener.task = asyncio.create_task(self._listen(listener), name=f"dequeue {queue}")

    async def release_queue(self, queue: str) -> None:
        """Drain ``queue`` before handing it over: stop dequeuing, put buffered messages back, let running
        episodes finish (at most ``drain_timeout``)."""
        await self._stop_listening(queue)
        self._forget_queue(queue)
        deadline = time.monotonic() + self._options.drain_timeout
        while running := [t for i, t in self._sessions.items() if self._session_queue.get(i) == queue]:
            left = deadline - time.monotonic()
            if left <= 0:
                _log.warning("%d episodes on %s still running after the drain timeout", len(running), queue)
                return
            await asyncio.wait(running, timeout=left)

    async def drop_queue(self, queue: str) -> None:
        """The lease on ``queue`` is lost: stop dequeuing and put buffered messages back, without waiting.

        An episode already running may still finish; its checkpoint is fenced by the History sentinel ETag.
        """
        await self._stop_listening(queue)
        self._forget_queue(queue)

    def _forget_queue(self, queue: str) -> None:
        # Whoever owns the partition next writes its instances: what we remember of them will be stale.
        names = self._hub.names
        self._memory.forget_where(lambda i: names.control_queue(partition_of(i, names.partition_count)) == queue)

    def owns(self, queue: str) -> bool:
        """Whether this worker dispatches ``queue`` now (its lease is ours and still valid)."""
        return self._may_run(queue)

    def deliver(self, received: Received) -> None:
        """A message this process put into an owned control queue and holds hidden (an activity's result)."""
        if self._may_run(received.message.queue):
            self._add([received])
        else:
            self._background(self._abandon([received], at_once=True))  # the partition left us meanwhile

    def is_listening(self, queue: str) -> bool:
        """True when ``queue``'s dequeue loop is alive and has polled recently (the renewal's health check)."""
        listener = self._listeners.get(queue)
        if listener is None or listener.task is None or listener.task.done() or listener.stop.is_set():
            return False
        return listener.idle < max(self._options.lease_interval, 2 * self._options.max_polling_interval)

    def last_dequeue(self, queue: str) -> datetime | None:
        """When this worker last asked ``queue`` for messages (shown by ``hub info`` to spot a stuck partition)."""
        listener = self._listeners.get(queue)
        return listener.last_dequeue if listener is not None else None

    async def drain(self) -> None:
        """Stop every loop and wait for the running sessions."""
        for queue in list(self._listeners):
            await self._stop_listening(queue)
        if self._sessions:
            await asyncio.gather(*self._sessions.values(), return_exceptions=True)

    def close(self) -> None:
        """Release the replay thread (after :meth:`drain`)."""
        self._replays.close()

    async def _off_loop(self, function: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
        # User code replays off the event loop, one replay at a time, within the replay deadline (_replay_runner).
        return await self._replays.run(partial(function, *args, **kwargs), what=what)

    async def _stop_listening(self, queue: str) -> None:
        listener = self._listeners.pop(queue, None)
        if listener is None:
            return
        listener.stop.set()
        listener.backoff.wake()
        if listener.task is not None:
            # The loop ends after its current receive, never inside it: a receive cut off after the service ran
            # it would hide its messages for a whole visibility timeout.
            await asyncio.gather(listener.task, return_exceptions=True)

    def _may_run(self, queue: str) -> bool:
        # Buffered messages run only while their queue is ours: listened to and within the last lease we wrote.
        listener = self._listeners.get(queue)
        return listener is not None and not listener.stop.is_set() and time.monotonic() < listener.valid_until

    # --- receiving ----------------------------------------------------------------------------------------

    async def _listen(self, listener: Listener) -> None:
        queue = listener.queue
        trace(self._options.worker_id, queue, "listen")
        lingered = False
        try:
            while not listener.stop.is_set():
                listener.last_poll = time.monotonic()
                if listener.last_poll >= listener.valid_until:
                    # Paused or cut off from storage past our own lease: another worker may own the queue now.
                    _log.warning("the lease on %s ran out before it was renewed: stopped dequeuing it", queue)
                    return
                if self._buffered >= _BUFFER_THRESHOLD:
                    await asyncio.sleep(0.05)
                    continue
                linger = listener.linger_for(len(self._sessions))
                busy = linger > 0
                if busy and not lingered:
                    # Under load the episodes, not the receives, set the pace: let messages gather, so that each
                    # receive brings a batch (one request for many messages, and fewer empty ones). At low load it
                    # polls at once, for latency. Then round the loop: the lease may have run out meanwhile.
                    lingered = True
                    await asyncio.sleep(linger)
                    continue
                lingered = False
                trace(self._options.worker_id, queue, "receive")
                listener.last_dequeue = utcnow()
                try:
                    batch = await self._hub.messages.receive(queue, visibility=self._options.control_queue_visibility)
                except StorageError as error:
                    _log.warning("receiving from %s failed: %s", queue, error)
                    await listener.backoff.wait()
                    continue
                if busy:
                    listener.adapt(len(batch))
                if not batch:
                    # Busy or not: activity results for our own partitions no longer come through the queue (they
                    # are handed over), so an empty queue may stay empty a while.
                    await listener.backoff.wait()
                    continue
                listener.backoff.reset()
                if listener.stop.is_set() or time.monotonic() >= listener.valid_until:
                    self._background(self._abandon(batch, at_once=True))  # received as the lease ended
                    continue
                self._add(batch)
        finally:
            trace(self._options.worker_id, queue, "stop")

    def _add(self, batch: list[Received]) -> None:
        now = utcnow()
        for received in batch:
            data = received.data
            if data is None or data.task_message is None:
                # Undecodable now means undecodable for ever: out of the queue, so the rest of it goes on.
                reason = f"cannot be decoded: {received.error or 'no task message'}"
                self._background(self._poison.put(received, reason=reason))
                continue
            wait = seconds_early(
                data.task_message.event, received.message, now=now, visibility=self._options.control_queue_visibility
            )
            if wait > 0:
                # A timer or scheduled start further away than the queue's 7-day delay arrives early: hide it again
                # for the rest of the way (it fires once, never early).
                self._background(self._hub.account.queues.update_visibility(received.message, visible_in=wait))
                continue
            instance_id = data.task_message.orchestration_instance.instance_id
            pending = self._pending.setdefault(instance_id, [])
            # A re-delivered message (its visibility expired) replaces the older copy (storage-layout.md §5.1 step 3).
            pending[:] = [r for r in pending if r.message.id != received.message.id]
            pending.append(received)
            self._buffered += 1
            if instance_id not in self._sessions:
                self._session_queue[instance_id] = received.message.queue
                task = asyncio.create_task(self._session(instance_id), name=f"session {instance_id}")
                self._sessions[instance_id] = task

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _session(self, instance_id: str) -> None:
        queue = self._session_queue[instance_id]
        try:
            while self._pending.get(instance_id):
                batch = self._pending.pop(instance_id)
                self._buffered -= len(batch)
                if not self._may_run(queue):
                    await self._abandon(batch, at_once=True)  # its partition is being handed over, or was lost
                    continue
                async with self._slots:
                    if not self._may_run(queue):
                        await self._abandon(batch, at_once=True)
                        continue
                    batch = await self._without_poison(instance_id, batch)
                    if not batch:
                        continue
                    try:
                        await self._process(instance_id, ordered(batch))
                    except MessageFormatError as error:
                        # Its history (or a payload blob) cannot be read: retrying would fail the same way.
                        await self._poisoned(instance_id, batch, f"its instance cannot be processed: {error}")
                    except Exception:
                        _log.exception("episode of %s failed; its messages will be retried", instance_id)
                        self._memory.forget(instance_id)
                        await self._abandon(batch)
        finally:
            self._sessions.pop(instance_id, None)
            self._session_queue.pop(instance_id, None)

    async def _without_poison(self, instance_id: str, batch: list[Received]) -> list[Received]:
        limit = self._options.max_dequeue_count
        poison = [r for r in batch if r.message.dequeue_count > limit]
        if poison:
            reason = f"received {max(r.message.dequeue_count for r in poison)} times without completing (limit {limit})"
            await self._poisoned(instance_id, poison, reason)
        return [r for r in batch if r.message.dequeue_count <= limit]

    async def _poisoned(self, instance_id: str, batch: Sequence[Received], reason: str) -> None:
        for received in batch:
            await self._poison.put(received, reason=reason, instance_id=instance_id)
        if not is_entity(instance_id):
            await self._poison.fail_instance(instance_id, f"a message was quarantined: {reason}")

    # --- one episode --------------------------------------------------------------------------------------

    async def _process(self, instance_id: str, batch: list[Received]) -> None:
        if is_entity(instance_id):
            await self._process_entity(instance_id, batch)
            return
        traced = episode_trace()  # None unless OpenTelemetry tracing is configured (one check)
        if traced is None:
            await self._orchestrate(instance_id, batch, from_storage=False, traced=None)
            return
        with traced:
            await self._orchestrate(instance_id, batch, from_storage=False, traced=traced)

    async def _orchestrate(
        self, instance_id: str, batch: list[Received], *, from_storage: bool, traced: EpisodeTrace | None
    ) -> None:
        escaped = self._hub.escape(instance_id)
        known = self._memory.get(instance_id)
        if known is not None and known.history is not None and for_other_executions(batch, known.execution_id):
            # A message for another execution: a late one for an older execution, or one for a newer execution that
            # someone else started. Only storage can tell, and dropping it on our word could lose it.
            self._memory.forget(instance_id)
            known = None
        history, etag, loaded_execution, row, presumed_new = await self._load(
            instance_id, escaped, batch, known, from_storage=from_storage
        )
        state = runtime_state(history)
        discard: list[Received] = []
        defer: list[Received] = []
        start = await self._accepted_start(
            instance_id,
            batch=batch,
            started=state.started,
            terminal=state.is_terminal,
            row=row,
            discard=discard,
            defer=defer,
        )
        if defer:
            # The start waits for its row, and everything sent after it waits with it (nothing is dropped).
            await self._abandon(batch)
            return
        if start is not None:
            history = []  # a new execution (first start or re-create) writes from RowKey 0 over the old rows
            state = runtime_state(history)
        elif state.started is None:
            await self._no_such_instance(instance_id, batch)
            return
        elif state.is_terminal:
            await self._repair(instance_id, history)
            await self._delete(batch)
            return
        execution_id = start.orchestration_instance.execution_id if start is not None else loaded_execution
        scheduled = {e.event_id for e in history if e.event_type in SCHEDULING}
        finished = {result_id(e) for e in history if isinstance(e, RESULTS)}
        keep, later = screen(batch, discard, execution_id, scheduled=scheduled, start=start, finished=finished)
        if later and known is not None and known.history is not None:
            # A result for a task our remembered history never scheduled: someone else may have moved the instance
            # on (our memory is stale). Read it from storage next time.
            self._memory.forget(instance_id)
        await self._delete(discard)
        await self._abandon(later)
        if not keep:
            return
        events = [event_of(r) for r in keep]
        beginning = start or state.started
        name = beginning.name if beginning is not None else ""
        episode, now = await self._replay(instance_id, name, history, events)
        if traced is not None:
            context = traced.begin(instance_id, beginning, episode, new_events=len(events), replayed=len(history))
            if context is not None:
                episode = with_trace_context(episode, context)
        try:
            await self._commit(
                instance_id, episode, etag=etag, row=row, inbound=keep, now=now, presumed_new=presumed_new
            )
        except _HistoryExists:
            await self._orchestrate(instance_id, keep, from_storage=True, traced=traced)

    async def _replay(
        self, instance_id: str, name: str, history: list[HistoryEvent], events: list[HistoryEvent]
    ) -> tuple[Episode, datetime]:
        """The episode of ``events`` over ``history``, its local activities run, and its time."""
        now = utcnow()
        is_local = self._app.is_local_activity if self._run_activity is not None else None
        what = f"orchestrator {name!r} of instance {instance_id!r}"
        options = self._options.replay
        try:
            episode = await self._off_loop(
                run_episode,
                self._orchestrator(name),
                instance_id=instance_id,
                history=history,
                messages=events,
                now=now,
                options=options,
                resolve=self._orchestrator,
                is_local=is_local,
                what=what,
            )
            while episode.pending_local and self._run_activity is not None:
                # Local activities: run here, then the orchestration goes on in the same episode and one checkpoint.
                results = await asyncio.gather(*(self._run_activity(e) for e in episode.pending_local))
                now = utcnow()
                started = runtime_state(episode.history).started
                episode = await self._off_loop(
                    resume_episode,
                    self._orchestrator(started.name if started is not None else name),
                    episode,
                    results,
                    instance_id=instance_id,
                    now=now,
                    options=options,
                    resolve=self._orchestrator,
                    is_local=is_local,
                    what=what,
                )
        except ReplayDeadlineError as error:
            # Runaway code runs away again on every replay: the instance fails (its parent is told), its messages
            # are consumed, and the abandoned replay's episode is never used.
            episode = failed_episode(history, str(error), now, error_type=type(error).__name__, messages=events)
        return episode, now

    async def _load(
        self, instance_id: str, escaped: str, batch: Sequence[Received], known: Remembered | None, *, from_storage: bool
    ) -> tuple[list[HistoryEvent], str | None, str | None, _RowBefore, bool]:
        """History, its sentinel ETag and execution, the row before the episode, and whether history is presumed."""
        if known is not None and known.history is not None:
            # Our checkpoint was the last: replay from what we wrote (the sentinel ETag fences the next write).
            return known.history, known.history_etag, known.execution_id, _RowBefore(known.row_etag), False
        first = None if from_storage else first_start(batch)
        if first is None:
            loaded, row = await asyncio.gather(self._hub.history.load(escaped), self._row_before(instance_id, escaped))
            return loaded.events, loaded.etag, loaded.execution_id, row, False
        row = await self._row_before(instance_id, escaped)
        if row.read and new_instance_row(row.record, first):
            # The first start of a new instance: it has no history, so none is read. The History write inserts the
            # sentinel row, which fails if a history exists after all (a start delivered again after a crash
            # between the History and Instances writes): then the episode runs again from storage.
            return [], None, None, row, True
        loaded = await self._hub.history.load(escaped)
        return loaded.events, loaded.etag, loaded.execution_id, row, False

    async def _commit(
        self,
        instance_id: str,
        episode: Episode,
        *,
        etag: str | None,
        row: _RowBefore,
        inbound: Sequence[Received],
        now: datetime,
        presumed_new: bool = False,
    ) -> bool:
        """Checkpoint ``episode``; False when nothing was committed (its messages went back).

        Raises:
            _HistoryExists: ``presumed_new`` was wrong: the instance has a history (nothing of ours was written).
        """
        if not self._may_run(self._session_queue.get(instance_id, "")):
            # The lease ran out or moved while the episode replayed: commit nothing, the next owner redoes it.
            await self._abandon(inbound, at_once=True)
            return False
        known = self._memory.get(instance_id)
        try:
            committed = await checkpoint(
                self._hub,
                instance_id=instance_id,
                episode=episode,
                etag=etag,
                inbound=inbound,
                now=now,
                instance_etag=row.etag,
                previous_row=known.row if known is not None and _fresh_row(known, row.etag) else None,
                sent=self._wake_for,  # the receiving loops start as soon as the messages are in their queues
            )
        except ConflictError as error:
            self._memory.forget(instance_id)
            if presumed_new and error.status == 409:
                _log.warning(
                    "checkpoint of %s refused (HTTP %s): it has a history after all (its start was delivered again, "
                    "or another worker ran it); its messages run again from storage",
                    instance_id,
                    error.status,
                )
                raise _HistoryExists(instance_id) from error
            _log.warning(
                "checkpoint of %s lost to another worker (HTTP %s: %s); its messages go back",
                instance_id,
                error.status,
                error,
            )
            self._memory.forget(instance_id)
            await self._abandon(inbound)
            return False
        self._remember(instance_id, episode, committed)
        return True

    async def _row_before(self, instance_id: str, escaped: str) -> _RowBefore:
        # The Instances row as it was before this episode: its write is conditioned on it, so a worker that stalls
        # between its History and Instances writes cannot put an old status over a newer one (reliability.md T20).
        # After our own write its ETag is known; otherwise one read, which the start check uses too.
        known = self._memory.get(instance_id)
        if known is not None and known.row_etag is not None:
            return _RowBefore(known.row_etag)
        record = await self._hub.instances.read(instance_id, escaped, fetch_payloads=False)
        return _RowBefore(record.etag if record is not None else None, read=True, record=record)

    def _remember(self, instance_id: str, episode: Episode, committed: Committed) -> None:
        if committed.instance_etag is None or not self._may_run(self._session_queue.get(instance_id, "")):
            # A later checkpoint than ours stands, or the partition left us while this episode ran: whoever has it
            # now writes this instance, and what we know would go stale.
            self._memory.forget(instance_id)
            return
        # Histories of running orchestrations only: an ended one is rarely run again, and entities' are 3 rows.
        keep = not is_entity(instance_id) and episode.state is not None and not episode.state.is_terminal
        before = self._memory.get(instance_id)
        skipped = before is not None and committed.row is not None and committed.row is before.row
        self._memory.remember(
            instance_id,
            Remembered(
                row_etag=committed.instance_etag,
                row=committed.row,
                history=episode.history if keep else None,
                history_etag=committed.history_etag if keep else None,
                execution_id=episode.execution_id if keep else None,
                row_written_at=before.row_written_at if skipped and before is not None else time.monotonic(),
            ),
        )

    async def _process_entity(self, instance_id: str, batch: list[Received]) -> None:
        escaped = self._hub.escape(instance_id)
        loaded, row = await asyncio.gather(self._hub.history.load(escaped), self._row_before(instance_id, escaped))
        now = utcnow()
        entity_episode = partial(
            run_entity_episode,
            instance_id=instance_id,
            history=loaded.events,
            messages=[event_of(r) for r in batch],
            now=now,
            confirmed=self._confirmed.pop(instance_id, ()),
        )
        what = f"entity {entity_id_of(instance_id).name!r} of instance {instance_id!r}"
        try:
            episode, outcome = await self._off_loop(entity_episode, self._entity(instance_id), what=what)
        except ReplayDeadlineError as error:
            # Every operation of the batch fails with the error (callers get it) and the state stays as it was.
            episode, outcome = entity_episode(failing_entity(error))
        for reason in outcome.rejected:
            _log.error("entity %s: a message was not understood and is dropped: %s", instance_id, reason)
        if not await self._commit(instance_id, episode, etag=loaded.etag, row=row, inbound=batch, now=now):
            return
        # Every inbound message is deleted now: the next batch can forget their redelivery keys.
        self._confirmed[instance_id] = outcome.processed
        while len(self._confirmed) > _CONFIRMED_ENTITIES:
            self._confirmed.pop(next(iter(self._confirmed)))

    def _entity(self, instance_id: str) -> Callable[..., Any]:
        name = entity_id_of(instance_id).name
        try:
            entity: Callable[..., Any] = self._app.get(FunctionKind.ENTITY, name).function
        except LookupError as error:
            message = str(error)

            def missing(context: Any) -> None:
                raise LookupError(message)

            return missing
        return entity

    async def _accepted_start(
        self,
        instance_id: str,
        *,
        batch: Sequence[Received],
        started: ExecutionStartedEvent | None,
        terminal: bool,
        row: _RowBefore,
        discard: list[Received],
        defer: list[Received],
    ) -> ExecutionStartedEvent | None:
        """The ExecutionStarted that begins a new execution in this batch, if any.

        Duplicates go to ``discard``; a start whose Instances row the client has not replaced yet goes to ``defer``.
        """
        accepted: ExecutionStartedEvent | None = None
        for received in batch:
            event = event_of(received)
            if not isinstance(event, ExecutionStartedEvent):
                continue
            execution = event.orchestration_instance.execution_id
            is_new = started is None or (terminal and execution != started.orchestration_instance.execution_id)
            verdict = await self._is_current_start(instance_id, event, row) if accepted is None and is_new else False
            if verdict is None:
                defer.append(received)
            elif not verdict:
                discard.append(received)  # a re-delivered or superseded start (storage-layout.md §5.2)
            else:
                accepted = event
        return accepted

    async def _is_current_start(
        self, instance_id: str, event: ExecutionStartedEvent, before: _RowBefore
    ) -> bool | None:
        """True: run it. False: a newer start superseded it (discard). None: its row is not written yet (later)."""
        if event.parent_instance is not None:
            return True  # sub-orchestration starts are not deduplicated (storage-layout.md §5.2)
        row = before.record
        if not before.read:
            row = await self._hub.instances.read(instance_id, self._hub.escape(instance_id), fetch_payloads=False)
        # No row yet: the client writes it right after sending; accepting at once saves the reference's
        # deferral (and its two-second back-off).
        if row is None or row.execution_id in (None, event.orchestration_instance.execution_id):
            return True
        # Another execution in the row: an older one the client is about to replace (our generation is newer:
        # wait for the row), or a newer start that won (same or older generation: discard); storage-layout.md §5.2.
        if (event.generation or 0) > (row.generation or 0):
            return None
        return False

    async def _no_such_instance(self, instance_id: str, batch: Sequence[Received]) -> None:
        terminate = next((event_of(r) for r in batch if isinstance(event_of(r), ExecutionTerminatedEvent)), None)
        if isinstance(terminate, ExecutionTerminatedEvent):
            await self._terminate_pending(instance_id, terminate)
        results = [r for r in batch if isinstance(event_of(r), RESULTS)]
        early = [r for r in results if r.message.dequeue_count <= _OUT_OF_ORDER_GIVE_UP]
        await self._abandon(early)  # the history may not be written yet (storage-layout.md §5.4 step 3)
        dropped = [r for r in batch if r not in early]
        for received in dropped:
            _log.warning(
                "message %s (%s) for instance %s dropped: the instance does not exist (received %d times)",
                received.message.id,
                event_of(received).event_type.name,
                instance_id,
                received.message.dequeue_count,
            )
        await self._delete(dropped)

    async def _terminate_pending(self, instance_id: str, event: ExecutionTerminatedEvent) -> None:
        # A Pending instance (its start still delayed) ends in its Instances row alone (storage-layout.md §9.2).
        escaped = self._hub.escape(instance_id)
        row = await self._hub.instances.read(instance_id, escaped, fetch_payloads=False)
        if row is None:
            return
        now = utcnow()
        terminated = replace(
            row,
            runtime_status=OrchestrationRuntimeStatus.Terminated,
            output=event.input,
            last_updated_time=now,
            completed_time=now,
        )
        await self._hub.instances.write(terminated, escaped, mode=WriteMode.MERGE)

    async def _repair(self, instance_id: str, history: list[HistoryEvent]) -> None:
        escaped = self._hub.escape(instance_id)
        state = runtime_state(history)
        row = await self._hub.instances.read(instance_id, escaped, fetch_payloads=False)
        started = state.started
        assert started is not None
        same_execution = row is not None and row.execution_id == started.orchestration_instance.execution_id
        if row is None or (same_execution and row.runtime_status is not state.status):
            # A crash between the History and Instances writes left it behind (storage-layout.md §5.4 step 5, #1253).
            episode = Episode(started.orchestration_instance.execution_id or "", 0, [], history, state=state)
            now = utcnow()
            await self._hub.instances.write(
                instance_record(self._hub, instance_id, episode, now), escaped, mode=WriteMode.UPSERT_REPLACE
            )

    def _orchestrator(self, name: str) -> Callable[[Any], Any]:
        try:
            return self._app.get(FunctionKind.ORCHESTRATOR, name).function
        except LookupError as error:
            message = str(error)

            def missing(context: Any) -> Any:
                raise LookupError(message)

            return missing

    def _wake_for(self, episode: Episode) -> None:
        if any(o.to_work_items for o in episode.outbound):
            self._on_sent(self._hub.names.work_item_queue)
        # Only the queues sent to: waking every loop of this worker made each send cost empty polls.
        names = self._hub.names
        targets = {o.instance_id for o in episode.outbound if not o.to_work_items}
        for queue in {names.control_queue(partition_of(i, names.partition_count)) for i in targets}:
            self._on_sent(queue)

    # --- message fate -------------------------------------------------------------------------------------

    async def _delete(self, batch: Sequence[Received]) -> None:
        await asyncio.gather(*(self._hub.messages.delete(r.message) for r in batch), return_exceptions=True)

    async def _abandon(self, batch: Sequence[Received], *, at_once: bool = False) -> None:
        # ``at_once``: a handover, not a failure; the next owner should see the messages immediately.
        queues = self._hub.account.queues
        await asyncio.gather(
            *(
                queues.update_visibility(r.message, visible_in=0 if at_once else abandon_delay(r.message.dequeue_count))
                for r in batch
            ),
            return_exceptions=True,
        )
