"""T01 (reliability.md §5.2): a worker process dies at each step of the ordered commit; a second one recovers.

Worker process 1 runs with ``--crash-at P:N`` (durable_storage.worker.CrashAt) and alone runs one ``ledger_chain``
orchestration of three steps (the *victim*), so the N-th hit of crash point P is a known step of it and nothing
else is in flight in the process when it ends with ``os._exit(137)``, exactly as ``kill -9`` there. Two more
chains are started while no worker runs; then worker process 2 (no crash point) takes over the partitions
(4 s lease) and the victim's unfinished messages (5 s visibility), and everything must complete.

The episodes of a three-step chain are: 1 the start (sends step 0), 2 the result of step 0 (sends step 1), 3 the
result of step 1 (sends step 2), 4 the result of step 2 (ExecutionCompleted). What each crash may cost, by design
(reliability.md §1.2, §1.3: orchestration state exactly once, activities at least once):

- C1 (sent, History not written), episode 2: step 1's work item is out, but the history does not know it: the
  episode replays and sends it again, so step 1 runs twice. The first result arrives before its TaskScheduled and
  is held back, then accepted; the second is dropped as a duplicate.
- C2 (History written, Instances not), episode 4: the history has ended but the Instances row still says Running.
  Worker 2 gets the redelivered result of step 2, finds the history ended, drops the message and repairs the row
  (no status query needed). Nothing runs twice.
- C3 (Instances written, inbound not deleted), episode 4: the row says Completed; the redelivered result is
  dropped, with no second ExecutionCompleted. Nothing runs twice.
- C4 (everything committed), episode 2: nothing is lost or redone; worker 2 runs step 1 from the work item worker 1
  sent. Only if worker 1 had already run step 1's body when it died (a race with its own activity loop) may step 1
  run again: that run is then in the ledger before worker 2 starts.
- A1 (step 1's body ran, no reply) and A2 (reply sent, work item not deleted): the work item reappears and step 1
  runs again; the second result is dropped as a duplicate.

Every case then checks I1-I5 (tests.faults.invariants) and that the activities that ran twice are exactly these.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage._runtime_state import runtime_state
from durable_storage.history import EventType
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from durable_storage.worker import CRASH_EXIT_CODE
from tests.e2e.support import WorkerProcess, chain_output, ledger_counts
from tests.faults.invariants import check_invariants, raw_rows_ended

pytestmark = pytest.mark.timeout(60)

STEPS = 3
VICTIM = "victim"
BYSTANDERS = ("bystander-1", "bystander-2")


@dataclass(frozen=True)
class Case:
    """A crash point, the hit of it that ends worker 1, and the victim's step that must run twice (if any)."""

    point: str
    hit: int
    runs_twice: str | None

    @property
    def crash_at(self) -> str:
        return f"{self.point}:{self.hit}"


CASES = [
    Case("C1", 2, f"{VICTIM}/1"),
    Case("C2", 4, None),
    Case("C3", 4, None),
    Case("C4", 2, None),
    Case("A1", 2, f"{VICTIM}/1"),
    Case("A2", 2, f"{VICTIM}/1"),
]


async def victim_state(
    hub: TaskHub,
) -> tuple[OrchestrationRuntimeStatus | None, int, OrchestrationRuntimeStatus | None]:
    """The victim's history status, its TaskScheduled count, and its raw Instances row status."""
    loaded = await hub.history.load(VICTIM)
    row = await hub.instances.read(VICTIM, fetch_payloads=False)
    scheduled = sum(1 for e in loaded.events if e.event_type is EventType.TaskScheduled)
    return runtime_state(loaded.events).status, scheduled, row.runtime_status if row is not None else None


@pytest.mark.parametrize("case", CASES, ids=[case.crash_at for case in CASES])
async def test_a_crash_at_each_commit_step_loses_nothing_and_redoes_only_what_the_design_allows(
    case: Case,
    client: DurableOrchestrationClient,
    hub: TaskHub,
    worker_process: Callable[..., WorkerProcess],
    ledger: Path,
) -> None:
    began = time.monotonic()
    first = worker_process("--crash-at", case.crash_at)
    await first.running()
    await client.start_new("ledger_chain", VICTIM, STEPS)
    assert await first.exited(timeout=30) == CRASH_EXIT_CODE, first.output[-3000:]
    assert f"crash point {case.point} hit {case.hit} times" in first.output
    ran_before = ledger_counts(ledger)  # what worker 1 executed before it died
    history_status, scheduled, row_status = await victim_state(hub)

    # The crash left the state this point is about (else the test would prove nothing).
    Running, Completed = OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Completed
    if case.point == "C1":
        assert (history_status, scheduled) == (Running, 1), "step 1 must be sent but not in the history"
    elif case.point == "C2":
        assert (history_status, row_status) == (Completed, Running), "the history ended, the row not yet"
    elif case.point == "C3":
        assert (history_status, row_status) == (Completed, Completed)
        assert await hub.account.queues.count(hub.control_queue_of(VICTIM)) >= 1
    elif case.point == "C4":
        assert (history_status, scheduled) == (Running, 2)
    else:  # A1, A2: step 1's body ran in worker 1, its work item is still there
        assert ran_before[f"{VICTIM}/1"] == 1 and scheduled == 2, ran_before
    crashed = time.monotonic()

    for instance_id in BYSTANDERS:
        await client.start_new("ledger_chain", instance_id, STEPS)
    second = worker_process()
    survivor = await second.running()
    ids = [VICTIM, *BYSTANDERS]
    await wait_until(lambda: raw_rows_ended(hub, ids), timeout=40, interval=0.1, what="every instance to end")
    recovered = time.monotonic()

    report = await check_invariants(
        client, hub, expected={i: chain_output(i, STEPS) for i in ids}, ledger=ledger, steps=STEPS, owners={survivor}
    )
    runs_twice = case.runs_twice
    if case.point == "C4" and ran_before[f"{VICTIM}/1"]:
        runs_twice = f"{VICTIM}/1"  # worker 1's own activity loop ran it before the crash (see the docstring)
    assert report.duplicates == ({runs_twice: 2} if runs_twice else {}), report.duplicates
    assert second.process.poll() is None, second.output[-3000:]
    print(
        f"T01 {case.crash_at}: recovered {recovered - crashed:.1f} s after the crash "
        f"({recovered - began:.1f} s in all); {report.line('invariants')}"
    )
