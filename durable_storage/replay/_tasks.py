"""Tasks: what an orchestrator yields, with azure-functions-durable 1.7 semantics; pure.

A task gets its sequence id when it is first yielded (alone or inside ``task_all``/``task_any``), not when it is
created, so a task that is never yielded takes no id and schedules nothing (python-api.md §1.4). A failed task's
``result`` is the exception. Compound tasks complete from their children: ``task_all`` fails fast, ``task_any``
completes with the first child to complete, failed or not.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from durable_storage.replay._actions import Action, CreateTimerAction, SendEventAction

if TYPE_CHECKING:
    from durable_storage.models import RetryOptions
    from durable_storage.replay._runtime import ReplayRuntime

__all__ = [
    "AtomicTask",
    "CompoundTask",
    "EntityCallTask",
    "ExternalEventTask",
    "LongTimerTask",
    "RetryableTask",
    "TaskBase",
    "TaskState",
    "TimerTask",
    "WhenAllTask",
    "WhenAnyTask",
]

ActionFactory = Callable[[int], Action]
"""Builds a task's action once its sequence id is known."""


class TaskState(enum.Enum):
    """RUNNING until a result arrives; then SUCCEEDED or FAILED."""

    RUNNING = 0
    SUCCEEDED = 1
    FAILED = 2


class TaskBase:
    """Something an orchestrator can yield. ``result`` is the value, or the exception of a failed task."""

    def __init__(self) -> None:
        self.id: int | str | None = None
        self.state = TaskState.RUNNING
        self.result: Any = None
        self.is_played = False
        self.parent: CompoundTask | None = None
        self.scheduled = False

    @property
    def is_completed(self) -> bool:
        """True once the task succeeded or failed."""
        return self.state is not TaskState.RUNNING

    @property
    def is_faulted(self) -> bool:
        """True when the task failed."""
        return self.state is TaskState.FAILED

    def complete(self, value: Any, *, failed: bool, is_played: bool) -> None:
        """Record the outcome and tell the parent; a task completes once (later outcomes are ignored)."""
        if self.is_completed:
            return
        self.state = TaskState.FAILED if failed else TaskState.SUCCEEDED
        self.result = value
        self.is_played = is_played
        if self.parent is not None:
            self.parent.child_completed(self)

    def schedule(self, runtime: ReplayRuntime) -> None:
        """Take sequence ids and emit actions for this task (and its children); idempotent."""
        raise NotImplementedError


class AtomicTask(TaskBase):
    """One action: an activity, sub-orchestration, timer or entity call. Its id is its sequence number."""

    def __init__(self, make_action: ActionFactory | None, description: str, *, awaits_result: bool = True) -> None:
        super().__init__()
        self.make_action = make_action
        self.description = description
        self.awaits_result = awaits_result  # False for signal_entity: nothing ever answers it
        self.expected_type: type | None = None  # decodes custom-class results without a module lookup

    def schedule(self, runtime: ReplayRuntime) -> None:
        if not self.scheduled:
            self.scheduled = True
            runtime.schedule(self)


class EntityCallTask(AtomicTask):
    """A ``call_entity``: waits for the entity's response event, named after the request id."""

    def __init__(self, make_action: Callable[[int], SendEventAction], description: str) -> None:
        super().__init__(make_action, description)
        self.request_id: str | None = None


class CancellableTask(TaskBase):
    """A timer the orchestration can stop waiting for."""

    is_cancelled = False

    def cancel(self) -> None:
        """Stop waiting for the timer.

        Raises:
            ValueError: the timer already fired.
        """
        if self.is_completed:
            raise ValueError("Cannot cancel a completed task.")
        self.is_cancelled = True


class TimerTask(AtomicTask, CancellableTask):
    """A durable timer; ``cancel()`` makes the orchestration stop waiting for it (its message still fires)."""

    def __init__(self, fire_at: datetime) -> None:
        super().__init__(lambda id_: CreateTimerAction(id=id_, fire_at=fire_at), f"timer at {fire_at.isoformat()}")
        self.fire_at = fire_at


class ExternalEventTask(AtomicTask):
    """Waits for an external event; its id is the event name, and it takes no sequence number."""

    def __init__(self, name: str) -> None:
        super().__init__(None, f"external event {name!r}")
        self.name = name

    def schedule(self, runtime: ReplayRuntime) -> None:
        if not self.scheduled:
            self.scheduled = True
            runtime.wait_for_event(self)


class CompoundTask(TaskBase):
    """A task made of children; scheduling it schedules them in list order."""

    def __init__(self, children: Sequence[TaskBase]) -> None:
        super().__init__()
        self.id = -1
        self.children: list[TaskBase] = list(children)
        for child in self.children:
            child.parent = self

    def schedule(self, runtime: ReplayRuntime) -> None:
        self.scheduled = True
        for child in self.children:
            child.schedule(runtime)

    def child_completed(self, child: TaskBase) -> None:
        """React to one child's outcome."""
        raise NotImplementedError


class WhenAllTask(CompoundTask):
    """Completes with the children's results in order; fails fast with the first failure (``task_all``)."""

    def __init__(self, children: Sequence[TaskBase]) -> None:
        super().__init__(children)
        for child in self.children:
            if child.is_completed:
                self.child_completed(child)
        if not self.children:
            # task_all([]) succeeds at once with None, not [] (python-api.md §1.4).
            self.complete(None, failed=False, is_played=True)

    def child_completed(self, child: TaskBase) -> None:
        if child.is_faulted:
            self.complete(child.result, failed=True, is_played=child.is_played)
        elif all(c.state is TaskState.SUCCEEDED for c in self.children):
            self.complete([c.result for c in self.children], failed=False, is_played=child.is_played)


class WhenAnyTask(CompoundTask):
    """Completes with the first child to complete, even a failed one (``task_any``)."""

    def __init__(self, children: Sequence[TaskBase]) -> None:
        super().__init__(children)
        done = next((c for c in self.children if c.is_completed), None)
        if done is not None:
            self.child_completed(done)
        elif not self.children:
            self.complete(None, failed=False, is_played=True)

    def child_completed(self, child: TaskBase) -> None:
        self.complete(child, failed=False, is_played=child.is_played)


class RetryableTask(CompoundTask):
    """An activity or sub-orchestration retried by timers, in step with DTFx's ``RetryInterceptor``.

    A failed attempt is followed by a timer; when it fires, the next attempt is scheduled, or, once the attempts
    are used up, the task fails with the last error. DTFx creates that timer even after the final attempt, so we
    wait for it too: histories written by Durable Functions then replay with the same sequence ids.
    """

    def __init__(self, make_attempt: Callable[[], AtomicTask], options: RetryOptions, runtime: ReplayRuntime) -> None:
        super().__init__([make_attempt()])
        self.make_attempt = make_attempt
        self.options = options
        self.runtime = runtime
        self.attempts = 1
        self.first_attempt_at: datetime | None = None
        self.last_error: BaseException | None = None

    def schedule(self, runtime: ReplayRuntime) -> None:
        if not self.scheduled:
            self.first_attempt_at = runtime.current_utc_datetime
        super().schedule(runtime)

    def child_completed(self, child: TaskBase) -> None:
        if isinstance(child, TimerTask):
            self._timer_fired(child)
        elif child.is_faulted:
            self.last_error = child.result
            self._attempt_failed(child)
        else:
            self.complete(child.result, failed=False, is_played=child.is_played)

    def _attempt_failed(self, child: TaskBase) -> None:
        timeout = self.options.retry_timeout_in_milliseconds
        now = self.runtime.current_utc_datetime
        started = self.first_attempt_at or now
        if timeout is not None and (now - started).total_seconds() * 1000 >= timeout:
            self.complete(self.last_error, failed=True, is_played=child.is_played)
            return
        delay = self.options.delay_in_milliseconds(self.attempts - 1)
        self._add(TimerTask(now + timedelta(seconds=delay / 1000)))  # a back-off timer from now

    def _timer_fired(self, timer: TimerTask) -> None:
        if self.attempts >= self.options.max_number_of_attempts:
            self.complete(self.last_error, failed=True, is_played=timer.is_played)
            return
        self.attempts += 1
        self._add(self.make_attempt())

    def _add(self, task: TaskBase) -> None:
        task.parent = self
        self.children.append(task)
        task.schedule(self.runtime)


class LongTimerTask(CompoundTask, CancellableTask):
    """A timer further away than the queue's maximum delay: a chain of sub-timers, each at most one interval long.

    Mirrors azure-functions-durable 1.7's LongTimerTask: every sub-timer takes a sequence id, and the last one
    fires at the exact time asked for.
    """

    def __init__(self, fire_at: datetime, runtime: ReplayRuntime) -> None:
        self.fire_at = fire_at
        self.runtime = runtime
        super().__init__([self._next_timer()])

    def _next_timer(self) -> TimerTask:
        now = self.runtime.current_utc_datetime
        if self.fire_at - now > self.runtime.options.max_timer_duration:
            return TimerTask(now + self.runtime.options.long_timer_interval)
        return TimerTask(self.fire_at)

    def child_completed(self, child: TaskBase) -> None:
        if self.is_cancelled:
            return  # nobody waits any more: no further sub-timers
        if self.fire_at > self.runtime.current_utc_datetime:
            timer = self._next_timer()
            timer.parent = self
            self.children.append(timer)
            timer.schedule(self.runtime)
        else:
            self.complete(None, failed=False, is_played=child.is_played)
