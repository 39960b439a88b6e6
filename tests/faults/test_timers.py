"""T22 (reliability.md §5.2): a durable timer longer than the longest single timer becomes a chain of sub-timers.

An in-process worker runs with ``ReplayOptions(max_timer_duration=2 s, long_timer_interval=2 s)``, so a 6 s timer
is sent as TimerFired messages of at most 2 s each (the real limit is the queue's 7-day delay; the .NET provider
once sent them with the default 7-day TTL, so they expired silently: durabletask #660). Half-way through the first
sub-timer the worker stops and another one takes over, so the pending TimerFired can be peeked in its queue.

What a user must see: the code after the timer runs once, never before the timer's FireAt, and at most one poll
interval plus one second after it (the queue's delay has whole-second resolution); the chain is in the history,
each sub-timer fired once, the last one at exactly the FireAt asked for; and every TimerFired message never
expires (Azure reports ``expires_on`` 9999-12-31 for a TTL of -1), both as the service answered each Put Message
and as the pending message peeked from the queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.storage.queue.aio import QueueClient

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage._envelope import decode_message
from durable_storage.history import TimerFiredEvent
from durable_storage.replay import ReplayOptions
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until
from tests.e2e.support import events, fast_options

pytestmark = pytest.mark.timeout(60)

TIMER = 6.0  # seconds
CHUNK = timedelta(seconds=2)
OPTIONS = fast_options(replay=ReplayOptions(max_timer_duration=CHUNK, long_timer_interval=CHUNK))
POLL = OPTIONS.max_polling_interval

app = df.App()
woken: Counter[str] = Counter()
"""Runs of the activity after the timer, per instance."""


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext) -> Any:
    fire_at = context.current_utc_datetime + timedelta(seconds=context.get_input())
    yield context.create_timer(fire_at)
    woke_at = context.current_utc_datetime  # the time of the episode that saw the timer fire
    yield context.call_activity("wake", context.instance_id)
    return {"fire_at": fire_at.isoformat(), "woke_at": woke_at.isoformat()}


@app.activity_trigger(input_name="instance_id")
def wake(instance_id: str) -> None:
    woken[instance_id] += 1


Sent = list[tuple[str, datetime | None]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Every message this process sends, with the expiry time the service answered (Put Message's response)."""
    record: Sent = []
    original: Callable[..., Any] = QueueClient.send_message

    async def send_message(self: QueueClient, content: Any, **kwargs: Any) -> Any:
        message = await original(self, content, **kwargs)
        record.append((str(content), message.expires_on))
        return message

    monkeypatch.setattr(QueueClient, "send_message", send_message)
    return record


def timer_fired(body: str) -> TimerFiredEvent | None:
    message = decode_message(body).task_message
    return message.event if message is not None and isinstance(message.event, TimerFiredEvent) else None


async def peek_timer(connection_string: str, hub: TaskHub) -> tuple[TimerFiredEvent, datetime] | None:
    """A visible TimerFired message in a control queue, and the expiry time the queue shows for it."""
    for queue in hub.names.control_queues:
        async with QueueClient.from_connection_string(connection_string, queue) as peeker:
            for message in await peeker.peek_messages(max_messages=32):
                event = timer_fired(str(message.content))
                if event is not None and message.expires_on is not None:
                    return event, message.expires_on
    return None


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_long_timer_fires_once_on_time_through_never_expiring_sub_timers(
    connection_string: str, hub: TaskHub, client: DurableOrchestrationClient, sent: Sent
) -> None:
    async with Worker(client, app, options=OPTIONS):
        instance_id = await client.start_new("sleeper", None, TIMER)

        async def first_sub_timer() -> list[dict[str, Any]]:
            return events(await client.get_history(instance_id), "TimerCreated")

        await wait_until(first_sub_timer, timeout=10, what="the first sub-timer")
    # No worker now: the first sub-timer's TimerFired waits in the queue, hidden until its FireAt, then visible.
    peeked = await wait_until(
        lambda: peek_timer(connection_string, hub), timeout=CHUNK.total_seconds() + 3, what="the TimerFired message"
    )
    async with Worker(client, app, options=OPTIONS):
        status = await client.wait_for_completion(instance_id, timeout=TIMER + 10, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    fire_at, woke_at = utc(status.output["fire_at"]), utc(status.output["woke_at"])
    history = await client.get_history(instance_id)
    created = events(history, "TimerCreated")
    fired = events(history, "TimerFired")
    late = (woke_at - fire_at).total_seconds()
    print(f"T22: a {TIMER:.0f} s timer in {len(created)} sub-timers woke its code {late:.3f} s after its FireAt")
    assert 0 <= late <= POLL + 1.0, (fire_at, woke_at)
    assert woken[instance_id] == 1

    assert len(created) >= TIMER / CHUNK.total_seconds(), "the timer was not split into sub-timers"
    assert all(utc(t["FireAt"]) - utc(t["Timestamp"]) <= CHUNK for t in created), created
    assert utc(created[-1]["FireAt"]) == fire_at
    assert Counter(t["TimerId"] for t in fired) == Counter(t["EventId"] for t in created), "a sub-timer fired twice"

    event, expires_on = peeked
    assert event.timer_id == created[0]["EventId"] and event.fire_at == utc(created[0]["FireAt"])
    assert expires_on.year == 9999, f"the pending TimerFired message expires on {expires_on}"
    timers_sent = [(timer_fired(body), expires) for body, expires in sent if timer_fired(body) is not None]
    assert len(timers_sent) == len(created), "one TimerFired message per sub-timer"
    assert all(expires is not None and expires.year == 9999 for _, expires in timers_sent), timers_sent
