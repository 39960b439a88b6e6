"""One episode of an orchestration (storage-layout.md §5.2-§5.4): load, decide, replay off the event loop, commit.

The decisions (which start runs, whether the batch waits, is dropped or repairs the row, which messages the
episode takes) are pure functions in ``_decisions`` and ``_screening``; this module reads what they need and does
what they say.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from durable_storage._runtime_state import RuntimeState, runtime_state
from durable_storage._storage.message_channel import Received
from durable_storage.app import App, FunctionKind
from durable_storage.errors import ReplayDeadlineError
from durable_storage.history import ExecutionTerminatedEvent, HistoryEvent, TaskScheduledEvent
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from durable_storage.telemetry import episode_trace
from durable_storage.worker._checkpoint import instance_record
from durable_storage.worker._commit import Committer, HistoryExists, RowBefore
from durable_storage.worker._decisions import (
    Fate,
    StartCheck,
    check_starts,
    fate_of,
    needs_repair,
    needs_start_row,
    split_unknown,
)
from durable_storage.worker._episode import Episode, failed_episode, resume_episode, run_episode, with_trace_context
from durable_storage.worker._fate import MessageFate
from durable_storage.worker._memory import InstanceMemory, Remembered
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._reports import UnregisteredNames
from durable_storage.worker._screening import (
    RESULTS,
    SCHEDULING,
    event_of,
    first_start,
    for_other_executions,
    new_instance_row,
    result_id,
    screen,
)

if TYPE_CHECKING:
    from durable_storage.telemetry._spans import EpisodeTrace

__all__ = ["OffLoop", "OrchestrationSession"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


class OffLoop(Protocol):
    """Runs user code (a replay, an entity batch) off the event loop."""

    def __call__(self, function: Callable[..., T], /, *args: Any, what: str, **kwargs: Any) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class _Loaded:
    """What an episode starts from: the history, its sentinel ETag and execution, and the row before it."""

    history: list[HistoryEvent]
    etag: str | None
    execution_id: str | None
    row: RowBefore
    presumed_new: bool = False  # a first start: no history was read, the History write checks there is none


class OrchestrationSession:
    """Runs episodes of the orchestrations whose partitions this worker owns."""

    def __init__(
        self,
        hub: TaskHub,
        app: App,
        options: WorkerOptions,
        *,
        memory: InstanceMemory,
        committer: Committer,
        fate: MessageFate,
        off_loop: OffLoop,
        run_activity: Callable[[TaskScheduledEvent, str], Awaitable[HistoryEvent]] | None = None,
        unregistered: UnregisteredNames,
    ) -> None:
        self._hub = hub
        self._app = app
        self._options = options
        self._memory = memory
        self._committer = committer
        self._fate = fate
        self._off_loop = off_loop
        # Runs a local activity (``activity_trigger(local=True)``) inside an episode: the activity dispatcher's.
        self._run_activity = run_activity
        self._unregistered = unregistered

    async def run(self, instance_id: str, batch: list[Received]) -> None:
        """Run ``batch`` (ordered) as one episode of ``instance_id``, traced when OpenTelemetry is configured."""
        traced = episode_trace()  # None unless OpenTelemetry tracing is configured (one check)
        if traced is None:
            await self._orchestrate(instance_id, batch, from_storage=False, traced=None)
            return
        with traced:
            await self._orchestrate(instance_id, batch, from_storage=False, traced=traced)

    async def _orchestrate(
        self, instance_id: str, batch: list[Received], *, from_storage: bool, traced: EpisodeTrace | None
    ) -> None:
        known = self._memory.get(instance_id)
        if known is not None and known.history is not None and for_other_executions(batch, known.execution_id):
            # A message for another execution: a late one for an older execution, or one for a newer execution that
            # someone else started. Only storage can tell, and dropping it on our word could lose it.
            self._memory.forget(instance_id)
            known = None
        loaded = await self._load(instance_id, batch, known, from_storage=from_storage)
        state = runtime_state(loaded.history)
        check = await self._check_starts(instance_id, batch, state, loaded.row)
        fate = fate_of(check, state)
        if fate is Fate.DEFER:
            await self._fate.abandon(batch)
            return
        if fate is Fate.NO_SUCH_INSTANCE:
            await self._no_such_instance(instance_id, batch)
            return
        if fate is Fate.FINISHED:
            await self._repair(instance_id, loaded.history)
            await self._fate.delete(batch)
            return
        start = check.accepted
        # A new execution (first start or re-create) writes from RowKey 0 over the old rows.
        history = [] if start is not None else loaded.history
        keep = await self._screen(instance_id, batch, history, loaded.execution_id, check, known=known)
        if not keep:
            return
        beginning = start or state.started
        episode, now = await self._episode(instance_id, history, keep, beginning.name if beginning else "")
        if traced is not None:
            context = traced.begin(instance_id, beginning, episode, new_events=len(keep), replayed=len(history))
            if context is not None:
                episode = with_trace_context(episode, context)
        try:
            await self._committer.commit(
                instance_id,
                episode,
                etag=loaded.etag,
                row=loaded.row,
                inbound=keep,
                now=now,
                presumed_new=loaded.presumed_new,
            )
        except HistoryExists:
            await self._orchestrate(instance_id, keep, from_storage=True, traced=traced)

    async def _load(
        self, instance_id: str, batch: Sequence[Received], known: Remembered | None, *, from_storage: bool
    ) -> _Loaded:
        if known is not None and known.history is not None:
            # Our checkpoint was the last: replay from what we wrote (the sentinel ETag fences the next write).
            return _Loaded(known.history, known.history_etag, known.execution_id, RowBefore(known.row_etag))
        first = None if from_storage else first_start(batch)
        if first is None:
            history, row = await asyncio.gather(
                self._hub.history.load(instance_id), self._committer.row_before(instance_id)
            )
            return _Loaded(history.events, history.etag, history.execution_id, row)
        row = await self._committer.row_before(instance_id)
        if row.read and new_instance_row(row.record, first):
            # The first start of a new instance: it has no history, so none is read. The History write inserts the
            # sentinel row, which fails if a history exists after all (a start delivered again after a crash
            # between the History and Instances writes): then the episode runs again from storage.
            return _Loaded([], None, None, row, presumed_new=True)
        history = await self._hub.history.load(instance_id)
        return _Loaded(history.events, history.etag, history.execution_id, row)

    async def _check_starts(
        self, instance_id: str, batch: Sequence[Received], state: RuntimeState, row: RowBefore
    ) -> StartCheck:
        started, terminal = state.started, state.is_terminal
        record = row.record
        if not row.read and needs_start_row(batch, started=started, terminal=terminal):
            record = await self._hub.instances.read(instance_id, fetch_payloads=False)
        return check_starts(batch, started=started, terminal=terminal, row=record)

    async def _screen(
        self,
        instance_id: str,
        batch: Sequence[Received],
        history: list[HistoryEvent],
        loaded_execution: str | None,
        check: StartCheck,
        *,
        known: Remembered | None,
    ) -> list[Received]:
        """The messages this episode takes; duplicates are deleted, results that came early go back."""
        start = check.accepted
        execution_id = start.orchestration_instance.execution_id if start is not None else loaded_execution
        scheduled = {e.event_id for e in history if e.event_type in SCHEDULING}
        finished = {result_id(e) for e in history if isinstance(e, RESULTS)}
        discard = list(check.discard)
        keep, later = screen(batch, discard, execution_id, scheduled=scheduled, start=start, finished=finished)
        if later and known is not None and known.history is not None:
            # A result for a task our remembered history never scheduled: someone else may have moved the instance
            # on (our memory is stale). Read it from storage next time.
            self._memory.forget(instance_id)
        await self._fate.delete(discard)
        await self._fate.abandon(later)
        return keep

    async def _episode(
        self, instance_id: str, history: list[HistoryEvent], keep: Sequence[Received], name: str
    ) -> tuple[Episode, datetime]:
        """Replay ``keep`` over ``history`` off the event loop, running local activities in between."""
        now = self._hub.clock()
        is_local = self._app.is_local_activity if self._run_activity is not None else None
        what = f"orchestrator {name!r} of instance {instance_id!r}"
        messages = [event_of(r) for r in keep]
        try:
            episode = await self._off_loop(
                run_episode,
                self._orchestrator(name),
                instance_id=instance_id,
                history=history,
                messages=messages,
                now=now,
                options=self._options.replay,
                resolve=self._orchestrator,
                is_local=is_local,
                what=what,
            )
            while episode.pending_local and self._run_activity is not None:
                # Local activities: run here, then the orchestration goes on in the same episode and one checkpoint.
                results = await asyncio.gather(*(self._run_activity(e, instance_id) for e in episode.pending_local))
                now = self._hub.clock()
                started = runtime_state(episode.history).started
                episode = await self._off_loop(
                    resume_episode,
                    self._orchestrator(started.name if started is not None else name),
                    episode,
                    results,
                    instance_id=instance_id,
                    now=now,
                    options=self._options.replay,
                    resolve=self._orchestrator,
                    is_local=is_local,
                    what=what,
                )
        except ReplayDeadlineError as error:
            # Runaway code runs away again on every replay: the instance fails (its parent is told), its messages
            # are consumed, and the abandoned replay's episode is never used.
            episode = failed_episode(history, str(error), now, error_type=type(error).__name__, messages=messages)
        return episode, now

    async def _no_such_instance(self, instance_id: str, batch: Sequence[Received]) -> None:
        unknown = split_unknown(batch)
        if unknown.terminate is not None:
            await self._terminate_pending(instance_id, unknown.terminate)
        await self._fate.abandon(unknown.early)  # the history may not be written yet (storage-layout.md §5.4 step 3)
        for received in unknown.dropped:
            _log.warning(
                "message %s (%s) for instance %s dropped: the instance does not exist (received %d times)",
                received.message.id,
                event_of(received).event_type.name,
                instance_id,
                received.message.dequeue_count,
            )
        await self._fate.delete(unknown.dropped)

    async def _terminate_pending(self, instance_id: str, event: ExecutionTerminatedEvent) -> None:
        # A Pending instance (its start still delayed) ends in its Instances row alone (storage-layout.md §9.2).
        row = await self._hub.instances.read(instance_id, fetch_payloads=False)
        if row is not None:
            await self._hub.instances.end(row, OrchestrationRuntimeStatus.Terminated, event.input, self._hub.clock())

    async def _repair(self, instance_id: str, history: list[HistoryEvent]) -> None:
        state = runtime_state(history)
        row = await self._hub.instances.read(instance_id, fetch_payloads=False)
        started = state.started
        if started is not None and needs_repair(row, state):
            # A crash between the History and Instances writes left it behind (storage-layout.md §5.4 step 5, #1253).
            episode = Episode(started.orchestration_instance.execution_id or "", 0, [], history, state=state)
            await self._hub.instances.put(instance_record(self._hub, instance_id, episode, self._hub.clock()))

    def _orchestrator(self, name: str) -> Callable[[Any], Any]:
        try:
            return self._app.get(FunctionKind.ORCHESTRATOR, name).function
        except LookupError as error:
            self._unregistered.report(FunctionKind.ORCHESTRATOR, name)
            message = str(error)

            def missing(context: Any) -> Any:
                raise LookupError(message)

            return missing
