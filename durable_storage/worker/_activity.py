"""Activity dispatch (storage-layout.md §7): receive from the work-item queue, run, reply, delete.

The reply goes to the orchestration's control queue before the work item is deleted, so a crash in between runs
the activity again (at least once) but never loses its result. While an activity runs, its message's visibility
is renewed so that no other worker picks it up. If it surfaces anyway (renewals failing), a copy received here is
not run a second time: its newer pop receipt is adopted for the renewals and the delete (T17).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from durable_storage import _json
from durable_storage._dotnet_json import dotnet_text
from durable_storage._envelope import MessageData, TaskMessage
from durable_storage._storage.message_channel import Received
from durable_storage._storage.queues import MAX_BATCH, QueueMessage
from durable_storage.app import App, FunctionKind
from durable_storage.errors import ConflictError, StorageError
from durable_storage.history import (
    FailureDetails,
    HistoryEvent,
    OrchestrationInstance,
    TaskCompletedEvent,
    TaskFailedEvent,
    TaskScheduledEvent,
)
from durable_storage.replay import HTTP_ACTIVITY
from durable_storage.taskhub import TaskHub
from durable_storage.telemetry import activity_trace
from durable_storage.worker._hooks import NO_HOOKS, WorkerHooks
from durable_storage.worker._http_activity import HttpActivity
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._poison import Quarantine
from durable_storage.worker._polling import Backoff
from durable_storage.worker._reports import UnregisteredNames, log_activity_failed

if TYPE_CHECKING:
    from durable_storage.telemetry._spans import ActivityTrace

__all__ = ["ActivityDispatcher", "ResultReceiver"]


class ResultReceiver(Protocol):
    """Who runs the orchestrations of this process: it takes activity results for the partitions it owns."""

    def owns(self, queue: str) -> bool:
        """Whether this process dispatches ``queue`` now."""

    def deliver(self, received: Received) -> None:
        """Take a result message, held hidden in ``queue``, as if it had been received from it."""


_log = logging.getLogger(__name__)
_LINGER_SECONDS = 0.05


class ActivityDispatcher:
    """Runs the activities of one task hub for one worker."""

    def __init__(
        self,
        hub: TaskHub,
        app: App,
        options: WorkerOptions,
        *,
        on_sent: Callable[[str], None],
        http_credential: object = None,
        hooks: WorkerHooks = NO_HOOKS,
    ) -> None:
        self._hub = hub
        self._app = app
        self._options = options
        self._hooks = hooks
        self._on_sent = on_sent
        self._slots = asyncio.Semaphore(options.max_concurrent_activities)
        self._threads = ThreadPoolExecutor(options.max_concurrent_activities, thread_name_prefix="activity")
        self._running: set[asyncio.Task[None]] = set()
        # The work items running here: message id -> the copy holding the newest pop receipt.
        self._latest: dict[str, QueueMessage] = {}
        self.backoff = Backoff(options.min_polling_interval, options.max_polling_interval)
        self._poison = Quarantine(hub)
        self._unregistered = UnregisteredNames(hub.name, app)
        self._receiver: ResultReceiver | None = None
        self._http = HttpActivity(timeout=options.http_timeout, credential=http_credential)

    async def run(self, stopping: asyncio.Event) -> None:
        """Receive and run activities until ``stopping`` is set; then wait for the running ones."""
        queue = self._hub.names.work_item_queue
        while not stopping.is_set():
            free = self._free_slots()
            if free == 0:
                await asyncio.sleep(0.01)
                continue
            if len(self._running) >= max(1, self._options.max_concurrent_activities // 2):
                # Busy: let slots free up and work items gather, so one receive brings several (at low load the
                # loop receives at once, for latency).
                await asyncio.sleep(_LINGER_SECONDS)
                free = self._free_slots()
            try:
                batch = await self._hub.messages.receive(
                    queue, max_messages=min(free, MAX_BATCH), visibility=self._options.work_item_visibility
                )
            except StorageError as error:
                _log.warning("receiving from %s failed: %s", queue, error)
                await self.backoff.wait()
                continue
            if not batch:
                await self.backoff.wait()
                continue
            self.backoff.reset()
            for received in batch:
                if received.message.id in self._latest:
                    self._adopt(received.message)
                    continue
                await self._slots.acquire()
                task = asyncio.create_task(self._execute(received))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _free_slots(self) -> int:
        return self._options.max_concurrent_activities - len(self._running)

    async def close(self) -> None:
        """Release the thread pool (running threads finish on their own) and the HTTP session of ``call_http``."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        await self._http.close()

    def _adopt(self, message: QueueMessage) -> None:
        # Its visibility lapsed (renewals failing, or the loop starved) and the queue handed it to us again while
        # its activity still runs here: keep the new pop receipt for the renewals and the delete, run nothing twice.
        _log.warning(
            "work item %s surfaced again (dequeue %d) while its activity still runs here; not running it twice",
            message.id,
            message.dequeue_count,
        )
        self._latest[message.id] = message

    async def _execute(self, received: Received) -> None:
        self._latest[received.message.id] = received.message
        try:
            await self._execute_one(received)
        except Exception:
            # The message stays: it becomes visible again and is retried (at least once).
            _log.exception("activity message %s failed to complete; it will be retried", received.message.id)
        finally:
            self._latest.pop(received.message.id, None)
            self._slots.release()

    async def _execute_one(self, received: Received) -> None:
        data = received.data
        scheduled = data.task_message.event if data is not None and data.task_message is not None else None
        if data is None or data.task_message is None or not isinstance(scheduled, TaskScheduledEvent):
            reason = f"cannot be run: {received.error or 'not a TaskScheduled message'}"
            await self._poison.put(received, reason=reason)
            return
        target = data.task_message.orchestration_instance
        limit = self._options.max_dequeue_count
        if received.message.dequeue_count > limit:
            # Its worker died or timed out every time it ran: stop, and let the orchestration decide what next.
            reason = (
                f"Activity function '{scheduled.name}' did not complete in {received.message.dequeue_count} "
                f"attempts (limit {limit}); its message {received.message.id} was quarantined"
            )
            await self._reply(data, _failed(scheduled, RuntimeError(reason), self._hub.clock(), reason))
            await self._poison.put(received, reason=reason, instance_id=target.instance_id)
            return
        if received.message.dequeue_count > 1 and await self._already_answered(target, scheduled):
            # Delivered again after a crash or a lapsed visibility, but its first run's result is already in the
            # history: running it again would only make a duplicate that the orchestration drops.
            _log.info("work item %s already has its result in the history; deleted, not run", received.message.id)
            with contextlib.suppress(ConflictError):
                await self._hub.messages.delete(self._latest.get(received.message.id, received.message))
            return
        traced = activity_trace(scheduled, target.instance_id, target.execution_id, received.message.dequeue_count)
        if traced is None:  # OpenTelemetry tracing is not configured (one check)
            await self._complete(received, data, scheduled, None)
            return
        with traced:
            await self._complete(received, data, scheduled, traced)

    async def _complete(
        self, received: Received, data: MessageData, scheduled: TaskScheduledEvent, traced: ActivityTrace | None
    ) -> None:
        """Run the activity while its work item stays invisible, reply, then delete the work item."""
        assert data.task_message is not None  # checked by _execute_one
        target = data.task_message.orchestration_instance
        renewing = asyncio.create_task(self._keep_invisible(received.message))
        try:
            reply = await self._run(scheduled, target.instance_id, traced)
        finally:
            renewing.cancel()
            try:
                await renewing
            except asyncio.CancelledError:
                pass
            except StorageError as error:
                # The result is ready: a failed renewal must not throw it away (the activity would run again).
                _log.warning("renewing work item %s failed (%s); its result is sent anyway", received.message.id, error)
        self._hooks.crash("A1")
        await self._reply(data, reply)
        self._hooks.crash("A2")
        try:
            await self._hub.messages.delete(self._latest.get(received.message.id, received.message))
        except ConflictError:
            # Another worker received it after its visibility lapsed: it runs the activity again, and the
            # orchestration drops that second result (the first one is already on its way).
            _log.warning(
                "work item %s was received again elsewhere while its activity ran here; its result is sent, the "
                "other run's duplicate will be dropped",
                received.message.id,
            )

    async def run_local(self, scheduled: TaskScheduledEvent, instance_id: str) -> HistoryEvent:
        """Run a local activity for an episode (no work item): its TaskCompleted or TaskFailed.

        It takes one of the activity slots, so local and queued activities together respect
        ``max_concurrent_activities``.
        """
        async with self._slots:
            return await self._run(scheduled, instance_id)

    async def _already_answered(self, target: OrchestrationInstance, scheduled: TaskScheduledEvent) -> bool:
        if not target.execution_id:
            return False
        try:
            return await self._hub.history.has_result(target.instance_id, target.execution_id, scheduled.event_id)
        except StorageError:
            return False  # cannot tell: run it (at least once)

    def hand_results_to(self, receiver: ResultReceiver) -> None:
        """Give results for the partitions ``receiver`` owns straight to it (see :meth:`_reply`)."""
        self._receiver = receiver

    async def _reply(self, data: MessageData, reply: HistoryEvent) -> None:
        assert data.task_message is not None
        target = data.task_message.orchestration_instance
        message = MessageData(
            activity_id=uuid.uuid4(),
            task_message=TaskMessage(event=reply, orchestration_instance=target),
            episode=data.episode,
            sender=target,
        )
        queue = self._hub.control_queue_of(target.instance_id)
        receiver = self._receiver
        if receiver is not None and receiver.owns(queue):
            # The orchestration's partition is ours: the result goes into its queue already hidden, held as if
            # our dequeue loop had received it, and straight to its session (no receive, no wait for a poll). If
            # this process dies first, it surfaces after the visibility timeout like any message it had received.
            held = await self._hub.messages.send_held(queue, message, hold=self._options.control_queue_visibility)
            receiver.deliver(held)
            return
        await self._hub.messages.send(queue, message)
        self._on_sent(queue)

    async def _keep_invisible(self, message: QueueMessage) -> None:
        interval = self._options.work_item_visibility / 2
        while True:
            await asyncio.sleep(interval)
            # The newest pop receipt (storage-layout.md §3.5): ours from the last renewal, or one adopted from a
            # re-receive.
            current = self._latest.get(message.id, message)
            try:
                self._latest[message.id] = await self._hub.messages.renew(
                    current, visible_in=self._options.work_item_visibility
                )
            except ConflictError:
                if self._latest.get(message.id, message) is current:
                    raise
                # Received again (and adopted) while this renewal was on its way: renew that copy next time.

    async def _run(
        self, scheduled: TaskScheduledEvent, instance_id: str, traced: ActivityTrace | None = None
    ) -> HistoryEvent:
        now = self._hub.clock()
        try:
            result = await self._call(scheduled, traced)
            return TaskCompletedEvent(timestamp=now, task_scheduled_id=scheduled.event_id, result=result)
        except Exception as error:
            log_activity_failed(self._hub.name, scheduled.name, instance_id, error)
            failed = _failed(scheduled, error, now)
            if traced is not None:
                traced.failed(error, failed.reason or type(error).__name__)
            return failed

    async def _call(self, scheduled: TaskScheduledEvent, traced: ActivityTrace | None) -> str:
        """The activity's result as JSON text; raises what it raises."""
        if scheduled.name == HTTP_ACTIVITY:  # context.call_http: the worker's own activity, as in Durable Functions
            return await self._http.run(scheduled.input)
        function = self._function(scheduled.name)
        argument = _json.loads(scheduled.input)
        if inspect.iscoroutinefunction(function):
            value = await function(argument)
        else:
            loop = asyncio.get_running_loop()
            call = function if traced is None else traced.wrap(function)
            value = await loop.run_in_executor(self._threads, call, argument)
        return _json.dumps(value)

    def _function(self, name: str) -> Callable[..., Any]:
        try:
            return self._app.get(FunctionKind.ACTIVITY, name).function
        except LookupError:
            self._unregistered.report(FunctionKind.ACTIVITY, name)
            raise


def _failed(
    scheduled: TaskScheduledEvent, error: Exception, now: datetime, reason: str | None = None
) -> TaskFailedEvent:
    # As failure_details does: a lone surrogate in the user's message could not be written, so it becomes U+FFFD.
    message = dotnet_text(str(error) or type(error).__name__)
    stack = dotnet_text("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    details = FailureDetails(error_type=type(error).__name__, error_message=message, stack_trace=stack)
    # The Durable Functions host's reason format, which users' except clauses match on.
    reason = reason or f"Activity function '{scheduled.name}' failed: {message}"
    return TaskFailedEvent(
        timestamp=now, task_scheduled_id=scheduled.event_id, reason=reason, details=stack, failure_details=details
    )
