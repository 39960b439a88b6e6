"""The seam between the context and the engine: the context needs only a ReplayRuntime, the engine hides its state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from durable_storage.history import HistoryEvent
from durable_storage.replay import DurableOrchestrationContext, ScheduleTaskAction
from durable_storage.replay._engine import Replayer
from durable_storage.replay._locks import CriticalSection
from durable_storage.replay._runtime import ExecutionInfo, ReplayOptions
from durable_storage.replay._tasks import AtomicTask, ExternalEventTask, TimerTask

from .support import T0, H


class FakeRuntime:
    """A ReplayRuntime with no engine behind it: records what the context schedules."""

    def __init__(self) -> None:
        self.execution = ExecutionInfo(instance_id="order-1", execution_id="e1", input='{"n": 2}')
        self.input_type: type | None = None
        self.current_utc_datetime = T0
        self.is_replaying = True
        self.options = ReplayOptions()
        self.history: Sequence[HistoryEvent] = []
        self.locks = CriticalSection(self)
        self.scheduled: list[AtomicTask] = []
        self.waiting: list[ExternalEventTask] = []
        self.continued_with: str | None = None

    def schedule(self, task: AtomicTask) -> None:
        task.id = len(self.scheduled)
        self.scheduled.append(task)

    def wait_for_event(self, task: ExternalEventTask) -> None:
        self.waiting.append(task)

    def continue_as_new(self, new_input: str) -> None:
        self.continued_with = new_input


def test_a_context_over_any_runtime_reads_its_identity_time_and_input() -> None:
    context = DurableOrchestrationContext(FakeRuntime())

    assert (context.instance_id, context.current_utc_datetime, context.is_replaying) == ("order-1", T0, True)
    assert context.get_input() == {"n": 2}


def test_a_context_schedules_through_its_runtime_when_the_task_is_yielded() -> None:
    runtime = FakeRuntime()
    context = DurableOrchestrationContext(runtime)

    task = context.call_activity("charge", 5)
    timer = context.create_timer(timedelta(days=30))  # longer than the maximum: a chain, scheduled one by one
    assert runtime.scheduled == []
    task.schedule(runtime)
    timer.schedule(runtime)
    context.continue_as_new(3)

    activity, first_timer = runtime.scheduled
    assert activity.make_action is not None
    assert activity.make_action(0) == ScheduleTaskAction(id=0, name="charge", input="5")
    assert isinstance(first_timer, TimerTask) and first_timer.fire_at == T0 + ReplayOptions().long_timer_interval
    assert runtime.continued_with == "3"


def test_the_engine_keeps_its_state_private() -> None:
    replayer = Replayer(lambda _context: None, "order-1", ReplayOptions(), list(H("order-1").started("o").events))

    assert [name for name in vars(replayer) if not name.startswith("_")] == []
    assert replayer.execution.instance_id == "order-1"
    assert isinstance(replayer.current_utc_datetime, datetime)
