"""The tasks waiting on history, by the key their result arrives under; pure.

Activities, sub-orchestrations and timers wait under their sequence id; entity calls under their request id (the
name of the response event); external events under their name. A result can arrive before the code schedules its
task (DTFx delivers in history order, and code may change what it schedules when): it is kept until the task
asks for it. An external event nobody waits for is buffered for a later waiter, or for the next execution.
"""

from __future__ import annotations

from durable_storage.history import EventRaisedEvent, HistoryEvent
from durable_storage.replay._tasks import AtomicTask, EntityCallTask, ExternalEventTask

__all__ = ["Pending"]


class Pending:
    """Which task waits for which event, and the events that came before their task."""

    def __init__(self) -> None:
        self._open: dict[int | str, AtomicTask] = {}
        self._calls: dict[int, EntityCallTask] = {}  # by sequence id, until their EventSent is seen
        self._finished: set[int | str] = set()
        self._waiters: dict[str, list[ExternalEventTask]] = {}
        self._deferred: dict[int | str, HistoryEvent] = {}
        self._unclaimed: list[EventRaisedEvent] = []

    @property
    def unclaimed(self) -> tuple[EventRaisedEvent, ...]:
        """External events received that no task has taken, in arrival order."""
        return tuple(self._unclaimed)

    def expect(self, task: AtomicTask, sequence_id: int) -> HistoryEvent | None:
        """Wait for the result of ``task``, just scheduled; the result itself if it arrived already."""
        if isinstance(task, EntityCallTask) and task.request_id is not None:
            # The response is an event named after the request id; EventSent may still replace that id.
            self._calls[sequence_id] = task
            self._open[task.request_id] = task
            return None
        if not task.awaits_result:
            return None
        self._open[sequence_id] = task
        event = self._deferred.pop(sequence_id, None)
        if event is not None:
            del self._open[sequence_id]
            self._finished.add(sequence_id)
        return event

    def result_arrived(self, key: int, event: HistoryEvent) -> AtomicTask | None:
        """The task ``event`` completes, or None (kept for a task not yet scheduled, or a second completion)."""
        task = self._open.pop(key, None)
        if task is None:
            if key not in self._finished:
                self._deferred[key] = event  # it arrived before the code scheduled it: apply it then
            return None  # a second completion for one task: ignored, as in DTFx
        self._finished.add(key)
        return task

    def request_sent(self, sequence_id: int, recorded: str | None) -> None:
        """History recorded entity request ``sequence_id`` with request id ``recorded``: wait for that one."""
        task = self._calls.pop(sequence_id, None)
        if (
            task is not None
            and recorded
            and recorded != task.request_id
            and self._open.get(task.request_id or "") is task
        ):
            # History written by Durable Functions names the request with the host's id: wait for that one.
            del self._open[task.request_id or ""]
            task.request_id = recorded
            self._open[recorded] = task

    def event_raised(self, event: EventRaisedEvent) -> AtomicTask | None:
        """The task an external event completes: an entity call's response, else the latest waiter by name."""
        name = event.name or ""
        task = self._open.pop(name, None)
        if not isinstance(task, EntityCallTask):
            waiting = self._waiters.get(name)
            if not waiting:
                self._unclaimed.append(event)  # buffered until someone waits for it
                return None
            # Several waiters on one name: the most recent one gets the event, as in azure-functions-durable.
            task = waiting.pop()
        self._finished.add(name)
        return task

    def wait_for(self, task: ExternalEventTask) -> EventRaisedEvent | None:
        """Make ``task`` wait for its event; the earliest buffered one of that name, taken, if there is one."""
        buffered = next((e for e in self._unclaimed if e.name == task.name), None)
        if buffered is not None:
            self._unclaimed.remove(buffered)
            return buffered
        self._waiters.setdefault(task.name, []).append(task)
        return None

    def carry_over(self, event: EventRaisedEvent) -> None:
        """Keep ``event`` for the next execution (it came after a continue-as-new)."""
        self._unclaimed.append(event)
