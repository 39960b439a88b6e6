"""The invariant checker of the fault tests (reliability.md §5.1): what a user must see after any fault.

``check_invariants`` reads what the workers left in storage (History, Instances, queues, Partitions, quarantine)
and the activity ledger, after the caller has waited for the instances to finish. It first waits (bounded) for
quiescence, I5, so that everything else reads final state; then it checks:

- **I1 no lost orchestration**: every expected instance's history has ended, as Completed, and the client (the
  status a user reads) says Completed too.
- **I2 output exactly once**: exactly one ExecutionCompleted in the history, whose result is the expected output;
  every activity result (TaskCompleted/TaskFailed) answers a TaskScheduled of the same history, and only one
  result per task is recorded (``Report.duplicate_results`` counts any other; the worker drops second results,
  which DTFx writes because its ``IsDuplicateEvent`` keys on the result's EventId, -1).
- **I3 Instances = History**: the raw Instances row (read without the client's repair, so a worker that left it
  behind is caught) has the history's execution, status and output, within ``settle_timeout``.
- **I4 activities at least once**: every expected activity execution is in the ledger at least once, nothing
  unexpected is, and the runs beyond the first are listed (``Report.duplicates``).
- **I5 no residue**: within ``settle_timeout`` the control queues and the work-item queue are empty (visible or
  not), no message was quarantined, and every partition is owned under an unexpired lease, by one of ``owners``
  when given (``partitions="owned"``; a dead worker's row keeps its name until its lease runs out and a live
  worker takes it over), or none is (``partitions="released"``, after every worker shut down).

``check_clear_failure`` checks **I6 clear failure** for an instance that is expected to fail: it ends Failed with a
reason naming the cause, its Instances row agrees, and its control queue drains (nothing retried in silence).

It returns a :class:`Report` with the figures (instances, completed, lost, duplicate executions and rate) that
tests and benchmarks print, and raises :class:`InvariantViolation` (an AssertionError carrying the report) when
an invariant does not hold, unless ``raise_on_violation=False``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from durable_storage import DurableOrchestrationClient, DurableOrchestrationStatus, OrchestrationRuntimeStatus
from durable_storage._runtime_state import runtime_state
from durable_storage.history import EventType, ExecutionCompletedEvent, TaskCompletedEvent, TaskFailedEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import ledger_counts

__all__ = ["InvariantViolation", "Report", "chain_steps", "check_clear_failure", "check_invariants", "raw_rows_ended"]

Partitions = Literal["owned", "released"]


def chain_steps(instance_ids: Collection[str], steps: int) -> set[str]:
    """The ledger lines of ``ledger_chain`` instances of ``steps`` steps: ``"{instance}/{step}"``."""
    return {f"{instance_id}/{step}" for instance_id in instance_ids for step in range(steps)}


async def raw_rows_ended(hub: TaskHub, instance_ids: list[str]) -> bool:
    """True when every instance's Instances row, read raw (never repaired by a status query), has ended."""
    rows = await asyncio.gather(*(hub.instances.read(i, fetch_payloads=False) for i in instance_ids))
    return all(row is not None and row.completed_time is not None for row in rows)


@dataclass(frozen=True)
class Report:
    """What the checker found.

    Attributes:
        instances: instances checked (the keys of ``expected``).
        completed: those whose history ended as Completed with the expected output, exactly once.
        lost: those whose history has not ended (I1): the worst outcome, an orchestration nobody finishes.
        activities: activity executions expected (distinct ledger lines), 0 without a ledger.
        activity_runs: ledger lines written (every execution, duplicates included).
        duplicates: ledger line -> executions, for the lines executed more than once.
        duplicate_results: activity result events in History beyond the first per task (a duplicate
            execution whose result arrived before the instance ended).
        violations: one sentence per broken invariant, prefixed with its ID; empty when all hold.
    """

    instances: int
    completed: int
    lost: list[str]
    activities: int
    activity_runs: int
    duplicates: dict[str, int]
    duplicate_results: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def duplicate_executions(self) -> int:
        """Activity executions beyond the first of each (what at-least-once cost)."""
        return sum(count - 1 for count in self.duplicates.values())

    @property
    def duplicate_rate(self) -> float:
        """Duplicate executions per expected activity execution (0.0 without activities)."""
        return self.duplicate_executions / self.activities if self.activities else 0.0

    def line(self, label: str) -> str:
        """One line of figures for a test's or benchmark's output."""
        return (
            f"{label}: {self.completed}/{self.instances} orchestrations completed, {len(self.lost)} lost; "
            f"{self.activity_runs} activity executions for {self.activities} activities: "
            f"{self.duplicate_executions} duplicates (rate {self.duplicate_rate:.2%}), "
            f"{self.duplicate_results} duplicate results recorded in History"
        )


class InvariantViolation(AssertionError):
    """An invariant of reliability.md §5.1 does not hold; ``report`` has the figures and every violation."""

    def __init__(self, report: Report) -> None:
        super().__init__("invariants violated:\n  " + "\n  ".join(report.violations))
        self.report = report


async def check_invariants(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    *,
    expected: Mapping[str, Any],
    ledger: Path | None = None,
    steps: int | None = None,
    activities: Collection[str] | None = None,
    partitions: Partitions | None = "owned",
    owners: Collection[str] | None = None,
    settle_timeout: float = 20.0,
    raise_on_violation: bool = True,
) -> Report:
    """Check I1-I5 for the instances of ``expected`` on ``hub``; call it once the instances should have finished.

    Args:
        client: a client of ``hub`` (I1 reads the status a user sees through it, after I3 read the raw rows).
        hub: the task hub the workers ran on.
        expected: instance ID -> its expected output (the JSON value the orchestrator returns).
        ledger: the file the ``ledgered`` activity appends one line to per execution (None: skip I4).
        steps: ``ledger_chain`` shorthand for ``activities``: the expected lines are ``"{instance}/{step}"``
            for ``step`` below ``steps``, for every instance of ``expected``.
        activities: the expected ledger lines (used when ``steps`` is None).
        partitions: I5's lease check: "owned" (workers still run), "released" (all shut down) or None (skip).
        owners: with "owned", the IDs of the workers still alive: every partition must be theirs.
        settle_timeout: how long I3 and I5 may take to hold (a repair or an abandoned message still in flight).
        raise_on_violation: raise InvariantViolation when anything fails (else only report it).

    Raises:
        InvariantViolation: an invariant does not hold (with ``raise_on_violation``).
    """
    violations: list[str] = []
    ids = sorted(expected)

    # I5 first: quiescence. Until the queues drain, a late duplicate (a work item redelivered after its
    # instance ended) may still run, and the ledger and histories read below would not be final.
    async def residue() -> list[str]:
        found = []
        queues = [*hub.names.control_queues, hub.names.work_item_queue]
        depths = await asyncio.gather(*(hub.account.queues.count(q) for q in queues))
        left = {queue: depth for queue, depth in zip(queues, depths, strict=True) if depth}
        if left:
            found.append(f"I5 messages left in the queues: {left}")
        quarantined = await hub.quarantine.list()
        if quarantined:
            found.append(f"I5 {len(quarantined)} messages quarantined: {[q.to_dict() for q in quarantined][:3]}")
        if partitions is not None:
            leases = await hub.partitions.read_all()
            if partitions == "owned":
                now = datetime.now(timezone.utc)
                free = {
                    lease.partition: lease.current_owner
                    for lease in leases
                    if not lease.current_owner
                    or (owners is not None and lease.current_owner not in owners)
                    or lease.expires_at is None
                    or lease.expires_at <= now
                }
                if free:
                    found.append(f"I5 partitions not held by a live worker (partition: last owner): {free}")
            else:
                held = {lease.partition: lease.current_owner for lease in leases if lease.current_owner}
                if held:
                    found.append(f"I5 partitions still owned after shutdown: {held}")
        return found

    violations += await _settled(residue, settle_timeout)

    histories = await asyncio.gather(*(hub.history.load(i) for i in ids))

    # I1 and I2, from History: one end per execution, Completed, with the expected output.
    lost: list[str] = []
    completed = 0
    duplicate_results = 0
    for instance_id, loaded in zip(ids, histories, strict=True):
        scheduled = {e.event_id for e in loaded.events if e.event_type is EventType.TaskScheduled}
        answered = Counter(
            e.task_scheduled_id for e in loaded.events if isinstance(e, TaskCompletedEvent | TaskFailedEvent)
        )
        if set(answered) - scheduled:
            violations.append(
                f"I2 {instance_id}: results for tasks never scheduled: {sorted(set(answered) - scheduled)}"
            )
        extra = sum(count - 1 for count in answered.values())
        if extra:
            violations.append(f"I2 {instance_id}: {extra} second results recorded for tasks that had one")
        duplicate_results += extra
        ends = [e for e in loaded.events if e.event_type is EventType.ExecutionCompleted]
        state = runtime_state(loaded.events)
        if not ends:
            lost.append(instance_id)
            violations.append(f"I1 {instance_id}: its history has not ended (status {_name(state.status)})")
            continue
        if len(ends) != 1:
            violations.append(f"I2 {instance_id}: {len(ends)} ExecutionCompleted events in its history")
        end = ends[0]
        assert isinstance(end, ExecutionCompletedEvent)
        output = _decoded(end.result)
        if end.orchestration_status is not OrchestrationRuntimeStatus.Completed:
            violations.append(f"I1 {instance_id}: ended {end.orchestration_status.name}: {end.result}")
        elif output != expected[instance_id]:
            violations.append(f"I2 {instance_id}: output {output!r}, expected {expected[instance_id]!r}")
        elif len(ends) == 1:
            completed += 1

    # I3: the raw rows agree with History (a worker's repair may still be under way: wait for it, bounded).
    async def disagreements() -> list[str]:
        rows = await asyncio.gather(*(hub.instances.read(i) for i in ids))
        found = []
        for instance_id, loaded, row in zip(ids, histories, rows, strict=True):
            state = runtime_state(loaded.events)
            if row is None:
                found.append(f"I3 {instance_id}: no Instances row")
                continue
            seen = (row.execution_id, _name(row.runtime_status), _decoded(row.output))
            wanted = (loaded.execution_id, _name(state.status), _decoded(state.output))
            if seen != wanted:
                found.append(
                    f"I3 {instance_id}: Instances row has (execution, status, output) {seen}, History {wanted}"
                )
        return found

    violations += await _settled(disagreements, settle_timeout)

    # I1 as a user sees it (the client's status read, which may repair a row; I3 already looked at it raw).
    statuses = await asyncio.gather(*(client.get_status(i) for i in ids))
    for instance_id, status in zip(ids, statuses, strict=True):
        if status.runtime_status is not OrchestrationRuntimeStatus.Completed:
            violations.append(f"I1 {instance_id}: the client says {_name(status.runtime_status)}")

    # I4: every activity ran, nothing else did; count the extra runs.
    wanted_lines = chain_steps(ids, steps) if steps is not None else set(activities or ())
    runs: Counter[str] = ledger_counts(ledger) if ledger is not None else Counter()
    if ledger is not None:
        never = sorted(wanted_lines - set(runs))
        unexpected = sorted(set(runs) - wanted_lines)
        if never:
            violations.append(f"I4 {len(never)} activity executions never ran: {never[:10]}")
        if unexpected:
            violations.append(f"I4 {len(unexpected)} unexpected activity executions ran: {unexpected[:10]}")
    duplicates = {line: count for line, count in sorted(runs.items()) if count > 1}

    report = Report(
        instances=len(ids),
        completed=completed,
        lost=lost,
        activities=len(wanted_lines) if ledger is not None else 0,
        activity_runs=sum(runs.values()),
        duplicates=duplicates,
        duplicate_results=duplicate_results,
        violations=violations,
    )
    if violations and raise_on_violation:
        raise InvariantViolation(report)
    return report


async def _settled(check: Callable[[], Awaitable[list[str]]], timeout: float) -> list[str]:
    """Run ``check`` (an async function returning violations) until it finds none or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if not found or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(0.25)


def _decoded(text: str | None) -> Any:
    return json.loads(text) if text else None


def _name(status: OrchestrationRuntimeStatus | None) -> str | None:
    return status.name if status is not None else None


async def check_clear_failure(
    client: DurableOrchestrationClient,
    hub: TaskHub,
    instance_id: str,
    *,
    cause: str,
    timeout: float = 30.0,
    pending_timers: int = 0,
) -> str:
    """I6 clear failure: ``instance_id`` ends Failed with a reason naming ``cause``, and nothing cycles on.

    Waits (bounded by ``timeout``) until the status a user reads is Failed; then checks that the reason contains
    ``cause``, that the raw Instances row says Failed too, and that the instance's control queue drains: the
    message that could not be processed was quarantined or completed, not retried in silence (``pending_timers``:
    timer messages known to wait there, hidden until their FireAt). Returns the reason.
    """

    async def failed() -> DurableOrchestrationStatus | None:
        status = await client.get_status(instance_id)
        return status if status.runtime_status is OrchestrationRuntimeStatus.Failed else None

    deadline = time.monotonic() + timeout
    status = await wait_until(failed, timeout=timeout, interval=0.1, what=f"I6 {instance_id} to be Failed")
    reason = str(status.output)
    assert cause in reason, f"I6 {instance_id}: the reason {reason!r} does not name {cause!r}"
    row = await hub.instances.read(instance_id, fetch_payloads=False)
    assert row is not None and row.runtime_status is OrchestrationRuntimeStatus.Failed, f"I6 {instance_id}: row {row}"

    queue = hub.control_queue_of(instance_id)

    async def drained() -> list[str]:
        left = await hub.account.queues.count(queue) - pending_timers
        return [f"I6 {instance_id}: {left} messages still cycle in {queue}"] if left > 0 else []

    problems = await _settled(drained, timeout=max(deadline - time.monotonic(), 5.0))
    assert not problems, problems
    return reason
