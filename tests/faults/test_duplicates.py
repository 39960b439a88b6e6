"""T09 (reliability.md §5.2): queue messages delivered twice, as Azure Queue's at-least-once delivery allows.

The tests copy raw message bodies back into their queues (what a redelivery after a lost delete, or a Put Message
retried after a lost response, looks like) and check what a user sees:

- a duplicated start is ignored: one execution, one ExecutionStarted, one ExecutionCompleted;
- duplicated activity results (TaskCompleted), timers (TimerFired) and work items (TaskScheduled, which run the
  activity again) do not change any output, and every instance completes once;
- a duplicated EventRaised is **not** deduplicated, as in DTFx (an event has no ID to dedupe on): a single
  ``wait_for_external_event`` completes once, and the copy is buffered for the next wait on that name, or dropped
  when the instance ends first.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._envelope import MessageData, TaskMessage, decode_message
from durable_storage.errors import DurableStorageError
from durable_storage.history import OrchestrationInstance, TaskCompletedEvent, TaskScheduledEvent, TimerFiredEvent
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e import apps
from tests.e2e.support import chain_output, events, fast_options, ledger_counts
from tests.faults.invariants import chain_steps, check_invariants

pytestmark = pytest.mark.timeout(90)

STEPS = 3


def event_type(body: str) -> str:
    """The history event a raw queue message carries, e.g. ``TaskCompleted``."""
    message = decode_message(body).task_message
    assert message is not None
    return message.event.event_type.name


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the in-process ``ledgered`` activity appends each execution to."""
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv(apps.LEDGER_VARIABLE, str(path))
    return path


async def copy_visible(hub: TaskHub, queues: list[str], copied: set[str]) -> Counter[str]:
    """Put a copy of every visible message of ``queues`` whose body was not copied yet; count them by event."""
    kinds: Counter[str] = Counter()
    peeked = await asyncio.gather(*(hub.account.queues.peek(queue) for queue in queues))
    for queue, messages in zip(queues, peeked, strict=True):
        for message in messages:
            if message.body in copied:
                continue  # the original and its copy have the same body: each is copied once
            copied.add(message.body)
            await hub.account.queues.put(queue, message.body)
            kinds[event_type(message.body)] += 1
    return kinds


async def test_duplicated_starts_and_events_are_ignored_or_delivered_as_documented(
    client: DurableOrchestrationClient, hub: TaskHub, ledger: Path
) -> None:
    chains = [f"start-{n}" for n in range(4)]
    for instance_id in chains:
        await client.start_new("ledger_chain", instance_id, STEPS)
    await client.start_new("collect", "one-wait", 1)
    await client.raise_event("one-wait", "Item", "only")
    await client.start_new("collect", "two-waits", 2)
    await client.raise_event("two-waits", "Item", "first")
    # Before any worker runs, every start and event is in its control queue: copy each once.
    copies = await copy_visible(hub, list(hub.names.control_queues), set())
    assert copies == {"ExecutionStarted": 6, "EventRaised": 2}

    async with Worker(client, apps.app, options=fast_options()):
        for instance_id in chains:
            status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
            assert status.output == chain_output(instance_id, STEPS)
        single = await client.wait_for_completion("one-wait", timeout=30, poll_interval=0.1)
        # DTFx semantics: the copy of the single event is delivered too, as the next "Item" event. The second
        # wait takes it, so one raise_event (delivered twice) completed two waits.
        double = await client.wait_for_completion("two-waits", timeout=30, poll_interval=0.1)
        expected = {i: chain_output(i, STEPS) for i in chains} | {"one-wait": ["only"], "two-waits": ["first", "first"]}
        report = await check_invariants(
            client, hub, expected=expected, ledger=ledger, activities=chain_steps(chains, STEPS)
        )
    assert single.output == ["only"]  # a single wait completes once, with the event's data
    assert double.output == ["first", "first"]

    for instance_id in [*chains, "one-wait", "two-waits"]:
        history = await client.get_history(instance_id)
        assert len(events(history, "ExecutionStarted")) == 1, f"{instance_id}: the duplicated start ran"
    # The copied start never ran a second execution, so no activity ran twice.
    assert report.duplicate_executions == 0
    print(f"T09 copied before the first episode: {dict(copies)}; {report.line('T09 starts and events')}")


async def resend_recorded(hub: TaskHub, instance_ids: list[str], sent: set[tuple[str, str, int]]) -> Counter[str]:
    """Send again each work item, result and fired timer these histories record (once each): what a Put Message
    retried after its response was lost leaves behind. The copying loop alone cannot be relied on for them: a
    worker hands the results for its own partitions straight to their sessions, held hidden in the queue, wakes its
    activity loop as soon as a work item is sent, and may poll just as a timer comes due, so none of them may ever
    be seen visible."""
    kinds: Counter[str] = Counter()
    for instance_id in instance_ids:
        loaded = await hub.history.load(instance_id)
        target = OrchestrationInstance(instance_id, loaded.execution_id)
        for event in loaded.events:
            control = hub.control_queue_of(instance_id)
            if isinstance(event, TaskCompletedEvent):
                key, queue = (instance_id, "result", event.task_scheduled_id), control
            elif isinstance(event, TimerFiredEvent):
                key, queue = (instance_id, "timer", event.timer_id), control
            elif isinstance(event, TaskScheduledEvent):
                key = (instance_id, "work item", event.event_id)
                queue = hub.names.work_item_queue
            else:
                continue
            if key in sent:
                continue
            sent.add(key)
            message = MessageData(
                activity_id=uuid.uuid4(),
                task_message=TaskMessage(event=event, orchestration_instance=target),
                sender=target,
            )
            await hub.messages.send(queue, message)
            kinds[event.event_type.name] += 1
    return kinds


@contextlib.asynccontextmanager
async def duplicating(hub: TaskHub, results_of: list[str] | None = None) -> AsyncIterator[Counter[str]]:
    """While the block runs, copy every message seen visible in the control and work-item queues (once each), and
    send each work item and result recorded in the histories of ``results_of`` again (once each)."""
    copied: set[str] = set()
    resent: set[tuple[str, str, int]] = set()
    kinds: Counter[str] = Counter()
    queues = [*hub.names.control_queues, hub.names.work_item_queue]
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(DurableStorageError):
                kinds.update(await copy_visible(hub, queues, copied))
                if results_of:
                    kinds.update(await resend_recorded(hub, results_of, resent))
            await asyncio.sleep(0.005)

    task = asyncio.create_task(loop())
    try:
        yield kinds
    finally:
        stop.set()
        await task


async def test_results_timers_and_work_items_copied_while_running_change_no_output(
    client: DurableOrchestrationClient, hub: TaskHub, ledger: Path
) -> None:
    chains = [f"chain-{n:02d}" for n in range(16)]
    timers = [f"timer-{n:02d}" for n in range(8)]

    # A worker that polls an idle queue every 0.3-0.6 s: a message it was not told about (a start, a timer that
    # came due) stays visible long enough for the copying loop to see it.
    async def completed(instance_ids: list[str]) -> bool:
        statuses = await asyncio.gather(*(client.get_status(i) for i in instance_ids))
        return all(s.runtime_status is OrchestrationRuntimeStatus.Completed for s in statuses)

    async with Worker(client, apps.app, options=fast_options(min_polling_interval=0.3, max_polling_interval=0.6)):
        async with duplicating(hub, results_of=[*chains, *timers]) as copies:
            for instance_id in chains:
                await client.start_new("ledger_chain", instance_id, STEPS)
            await wait_until(lambda: completed(chains), timeout=45, interval=0.2, what="the chains to complete")
            # The timers come due once the chains are done: an idle worker polls slowly, and the copying loop sees
            # each TimerFired message while it waits to be received.
            for instance_id in timers:
                await client.start_new("approval", instance_id, 1)  # nobody approves: the 1 s timer fires
            await wait_until(lambda: completed(timers), timeout=30, interval=0.2, what="the timers to fire")
        expected = {i: chain_output(i, STEPS) for i in chains} | dict.fromkeys(
            timers, "escalated: nobody approved in time"
        )
        report = await check_invariants(
            client, hub, expected=expected, ledger=ledger, activities=chain_steps(chains, STEPS)
        )

    # Every kind of message was copied at least once, or the test proved nothing.
    assert {"ExecutionStarted", "TaskScheduled", "TaskCompleted", "TimerFired"} <= set(copies), dict(copies)
    runs = ledger_counts(ledger)
    assert set(runs) == {f"{i}/{step}" for i in chains for step in range(STEPS)}
    # Copied work items ran their activity again (at least once delivery); nothing else did.
    assert sum(runs.values()) - len(runs) <= copies["TaskScheduled"]
    recorded = 0
    for instance_id in chains:
        history = await client.get_history(instance_id)
        assert len(events(history, "ExecutionStarted")) == 1
        results = Counter(e["TaskScheduledId"] for e in events(history, "TaskCompleted"))
        recorded += sum(results.values()) - len(results)
    assert recorded == 0, "a duplicate result was written to history (one result per task is kept)"
    print(
        f"T09 copied while running: {dict(sorted(copies.items()))}; "
        f"{sum(runs.values()) - len(runs)} duplicate activity executions; "
        f"{recorded} duplicate TaskCompleted events recorded in histories; "
        f"{report.line('T09 results, timers and work items')}"
    )
