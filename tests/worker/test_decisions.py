"""What a session does with a batch (storage-layout.md §5.2-§5.4), decided by pure functions: no storage here."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from durable_storage._envelope import MessageData, TaskMessage
from durable_storage._runtime_state import runtime_state
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.message_channel import Received
from durable_storage._storage.queues import QueueMessage
from durable_storage.history import (
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    ExecutionTerminatedEvent,
    HistoryEvent,
    OrchestrationInstance,
    ParentInstance,
    TaskCompletedEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.worker._decisions import (
    OUT_OF_ORDER_GIVE_UP,
    Fate,
    StartCheck,
    check_starts,
    fate_of,
    is_fresh_row,
    needs_repair,
    needs_start_row,
    split_poison,
    split_unknown,
    start_verdict,
)
from durable_storage.worker._memory import Remembered

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
ID = "order-1"


def start(execution: str = "e1", *, generation: int = 0, parent: bool = False) -> ExecutionStartedEvent:
    return ExecutionStartedEvent(
        timestamp=NOW,
        orchestration_instance=OrchestrationInstance(ID, execution),
        name="Orchestrator",
        generation=generation,
        parent_instance=ParentInstance("Parent", OrchestrationInstance("parent", "p1"), 3) if parent else None,
    )


def received(event: HistoryEvent, *, execution: str = "e1", dequeue_count: int = 1) -> Received:
    message = QueueMessage("q-control-00", uuid.uuid4().hex, "{}", dequeue_count, NOW, NOW, "receipt")
    task = TaskMessage(event=event, orchestration_instance=OrchestrationInstance(ID, execution))
    return Received(message, MessageData(activity_id=uuid.uuid4(), task_message=task))


def row(
    execution: str | None, *, generation: int = 0, status: OrchestrationRuntimeStatus | None = None
) -> InstanceRecord:
    return InstanceRecord(instance_id=ID, execution_id=execution, generation=generation, runtime_status=status)


def completed(task_id: int = 0) -> TaskCompletedEvent:
    return TaskCompletedEvent(timestamp=NOW, task_scheduled_id=task_id, result='"ok"')


def ended(execution: str = "e1") -> list[HistoryEvent]:
    return [
        start(execution),
        ExecutionCompletedEvent(
            timestamp=NOW, orchestration_status=OrchestrationRuntimeStatus.Completed, result='"done"'
        ),
    ]


# --- start checks (storage-layout.md §5.2) ----------------------------------------------------------------------------


def test_a_start_runs_when_its_row_is_missing_or_its_own() -> None:
    assert start_verdict(start(), None) is True
    assert start_verdict(start(), row("e1")) is True
    assert start_verdict(start(), row(None)) is True


def test_a_start_of_a_newer_generation_waits_for_its_row_and_an_older_one_is_superseded() -> None:
    assert start_verdict(start("e2", generation=1), row("e1", generation=0)) is None
    assert start_verdict(start("e1", generation=0), row("e2", generation=1)) is False
    assert start_verdict(start("e1", generation=1), row("e2", generation=1)) is False


def test_a_sub_orchestration_start_is_never_deduplicated() -> None:
    assert start_verdict(start("e1", parent=True), row("other", generation=5)) is True


def test_a_redelivered_start_of_a_running_instance_is_discarded() -> None:
    first, again = received(start()), received(start())
    check = check_starts([first, again], started=start(), terminal=False, row=row("e1"))
    assert check == StartCheck(None, [first, again], [])


def test_only_the_first_new_start_of_a_batch_is_accepted() -> None:
    first, second = received(start("e1")), received(start("e2"))
    check = check_starts([first, second], started=None, terminal=False, row=None)
    assert check.accepted is first.data.task_message.event  # type: ignore[union-attr]
    assert check.discard == [second] and check.defer == []


def test_a_re_create_over_an_ended_instance_is_new_and_may_wait_for_its_row() -> None:
    again = received(start("e2", generation=1), execution="e2")
    check = check_starts([again], started=start("e1"), terminal=True, row=row("e1"))
    assert check.defer == [again] and fate_of(check, runtime_state(ended())) is Fate.DEFER


def test_the_row_is_read_only_for_a_new_start_that_is_not_a_sub_orchestrations() -> None:
    assert needs_start_row([received(start())], started=None, terminal=False)
    assert not needs_start_row([received(start())], started=start(), terminal=False)  # a duplicate
    assert not needs_start_row([received(start(parent=True)), received(start("e2"))], started=None, terminal=False)
    assert not needs_start_row([received(completed())], started=None, terminal=False)


# --- the fate of a batch (storage-layout.md §5.4) ---------------------------------------------------------------------


def test_a_batch_runs_defers_is_for_no_instance_or_for_a_finished_one() -> None:
    running = runtime_state([start()])
    assert fate_of(StartCheck(start()), runtime_state([])) is Fate.RUN
    assert fate_of(StartCheck(), running) is Fate.RUN
    assert fate_of(StartCheck(), runtime_state([])) is Fate.NO_SUCH_INSTANCE
    assert fate_of(StartCheck(), runtime_state(ended())) is Fate.FINISHED
    assert fate_of(StartCheck(start(), defer=[received(start())]), running) is Fate.DEFER


def test_for_no_instance_results_wait_a_few_deliveries_and_the_rest_is_dropped() -> None:
    early = received(completed(), dequeue_count=OUT_OF_ORDER_GIVE_UP)
    late = received(completed(1), dequeue_count=OUT_OF_ORDER_GIVE_UP + 1)
    terminate = received(ExecutionTerminatedEvent(timestamp=NOW, input='"stop"'))
    unknown = split_unknown([early, late, terminate])
    assert unknown.early == [early] and unknown.dropped == [late, terminate]
    assert unknown.terminate is terminate.data.task_message.event  # type: ignore[union-attr]


def test_poison_is_what_was_received_more_than_the_limit() -> None:
    fine, bad = received(completed(), dequeue_count=10), received(completed(1), dequeue_count=12)
    poison, rest, reason = split_poison([fine, bad], 10)
    assert (poison, rest) == ([bad], [fine])
    assert reason == "received 12 times without completing (limit 10)"


def test_a_finished_instance_row_is_repaired_when_missing_or_of_the_same_execution_with_another_status() -> None:
    state = runtime_state(ended("e1"))
    assert needs_repair(None, state)
    assert needs_repair(row("e1", status=OrchestrationRuntimeStatus.Running), state)
    assert not needs_repair(row("e1", status=OrchestrationRuntimeStatus.Completed), state)
    assert not needs_repair(row("e2", status=OrchestrationRuntimeStatus.Running), state)  # a newer execution


def test_a_remembered_row_is_fresh_for_a_minute_under_the_same_etag() -> None:
    known = Remembered(row_etag="v1", row=row("e1"), row_written_at=100.0)
    assert is_fresh_row(known, "v1", now=159.0)
    assert not is_fresh_row(known, "v1", now=161.0)
    assert not is_fresh_row(known, "v2", now=101.0)
    assert not is_fresh_row(None, "v1", now=101.0)
