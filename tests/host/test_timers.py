"""Timer triggers on a real Azurite: once per occurrence across processes, run_on_startup, past-due calls."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from azure.storage.blob.aio import BlobServiceClient

from durable_storage._clock import utcnow
from durable_storage._storage.timer_status import ScheduleStatus
from durable_storage.errors import ConfigurationError
from durable_storage.host._timers import TimerRunner, TimerTrigger, local_zone, resolve_settings
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import wait_until

UTC = timezone.utc
YEARLY = "0 0 0 1 1 *"  # never due during a test


@dataclass
class Calls:
    """What a timer function received, and when (by the runner's clock)."""

    clock: Callable[[], datetime] = utcnow
    seen: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, payload: str) -> None:
        self.seen.append((self.clock(), json.loads(payload)))

    async def count(self, n: int, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        async def enough() -> bool:
            return len(self.seen) >= n

        await wait_until(enough, timeout=timeout, what=f"{n} timer calls")
        return [payload for _, payload in self.seen]


def trigger(invoke: Calls, schedule: str = YEARLY, **options: Any) -> TimerTrigger:
    return TimerTrigger(function_name="tick", schedule=schedule, invoke=invoke, **options)


def runner(hub: TaskHub, *triggers: TimerTrigger, clock: Callable[[], datetime] = utcnow) -> TimerRunner:
    return TimerRunner(triggers, hub=hub, host_id="test-host", clock=clock, zone=UTC, environ={})


def shifted(by: timedelta) -> Callable[[], datetime]:
    return lambda: utcnow() + by


@pytest.fixture
async def hubs(connection_string: str, hub: TaskHub) -> AsyncIterator[list[TaskHub]]:
    """Three clients of one hub, as three host processes would have."""
    async with AsyncExitStack() as stack:
        others = [
            await stack.enter_async_context(
                TaskHub.from_connection_string(connection_string, task_hub=hub.name, retry=FAST_RETRY)
            )
            for _ in range(2)
        ]
        yield [hub, *others]


@pytest.mark.parametrize("schedule", ["* * * * * *", "00:00:01"])
async def test_three_processes_fire_each_occurrence_exactly_once(hubs: list[TaskHub], schedule: str) -> None:
    calls = Calls()
    async with AsyncExitStack() as stack:
        for hub in hubs:
            await stack.enter_async_context(runner(hub, trigger(calls, schedule)))
        await calls.count(4)
    times = sorted(at for at, _ in calls.seen)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    # One call per second: a second call for an occurrence would come milliseconds after the first, and a missed
    # occurrence would leave a gap of two seconds. The margins allow for a loaded machine waking a runner late.
    assert all(0.3 < gap < 1.8 for gap in gaps), gaps
    assert all(payload == {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False}
               for _, payload in calls.seen)  # fmt: skip
    status = await hubs[0].timers.read("test-host", "tick")
    assert status is not None and status.status.last is not None
    assert status.status.next == status.status.last + timedelta(seconds=1)


async def test_run_on_startup_calls_once_at_start(hub: TaskHub) -> None:
    calls = Calls()
    async with runner(hub, trigger(calls, run_on_startup=True)):
        payloads = await calls.count(1)
    # The monitor is on (a yearly schedule) but nothing has run yet: no status, as the host passes it.
    assert payloads == [{"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False}]


async def test_an_occurrence_missed_while_stopped_gives_one_past_due_call(hub: TaskHub) -> None:
    # Every minute, so that the monitor stays on; the runners' clocks are shifted instead of waiting a minute.
    now = utcnow()
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    before_minute = minute - timedelta(seconds=1) - now  # a clock 1 s before a whole minute
    first = Calls(shifted(before_minute))
    async with runner(hub, trigger(first, "0 * * * * *"), clock=shifted(before_minute)):
        await first.count(1)
    stored = await hub.timers.read("test-host", "tick")
    assert stored is not None and stored.status.last == minute and stored.status.next == minute + timedelta(minutes=1)

    # Two processes start after the next occurrence has passed: one makes the past-due call, the other (told to
    # run on startup) only its startup call.
    later = before_minute + timedelta(seconds=62)
    second = Calls(shifted(later))
    options = {"run_on_startup": True}
    async with (
        runner(hub, trigger(second, "0 * * * * *", **options), clock=shifted(later)),
        runner(hub, trigger(second, "0 * * * * *", **options), clock=shifted(later)),
    ):
        payloads = await second.count(2)
    past_due = [payload for payload in payloads if payload["IsPastDue"]]
    assert len(past_due) == 1, payloads
    assert (
        past_due[0]["ScheduleStatus"]
        == ScheduleStatus(
            last=minute, next=minute + timedelta(minutes=1), last_updated=stored.status.last_updated
        ).to_json()
    )
    resumed = await hub.timers.read("test-host", "tick")
    assert resumed is not None and resumed.status.next == minute + timedelta(minutes=2)  # resumes from now


async def test_a_failed_call_is_logged_in_one_line_and_not_retried(
    hub: TaskHub, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Calls()

    async def failing(payload: str) -> None:
        await calls(payload)
        raise RuntimeError("boom\nwith a second line")

    caplog.set_level(logging.ERROR, logger="durable_storage.host._timers")
    async with runner(hub, trigger(failing, "* * * * * *")):  # type: ignore[arg-type]
        await calls.count(2)
    failures = [record.getMessage() for record in caplog.records]
    assert failures[:2] == ["timer function tick failed: RuntimeError: boom"] * 2


async def test_stop_leaves_no_task_behind(hub: TaskHub) -> None:
    started = asyncio.Event()

    async def forever(payload: str) -> None:
        started.set()
        await asyncio.Event().wait()

    timers = runner(hub, trigger(forever, run_on_startup=True))  # type: ignore[arg-type]
    async with timers:
        await asyncio.wait_for(started.wait(), 10)
    await timers.stop()  # idempotent
    assert [task for task in asyncio.all_tasks() if task.get_name().startswith("timer ")] == []


@pytest.mark.parametrize(
    ("schedule", "environ", "message"),
    [
        ("0 0 * *", {}, "timer function 'tick': timer schedule '0 0 * *' is invalid: an NCRONTAB expression has 6"),
        ("%Nightly%", {}, "timer function 'tick': schedule '%Nightly%' names app setting 'Nightly', which is not set"),
        ("%Nightly%", {"Nightly": "0 0 25 * * *"}, "timer schedule '0 0 25 * * *' is invalid: hour 25 is out of"),
    ],
)
def test_a_bad_schedule_is_refused_before_anything_starts(schedule: str, environ: dict[str, str], message: str) -> None:
    hub = TaskHub.from_connection_string("UseDevelopmentStorage=true")  # never contacted
    with pytest.raises(ConfigurationError) as raised:
        TimerRunner([trigger(Calls(), schedule)], hub=hub, host_id="h", zone=UTC, environ=environ)
    assert message in str(raised.value)


def test_names_are_checked_before_anything_starts() -> None:
    hub = TaskHub.from_connection_string("UseDevelopmentStorage=true")
    with pytest.raises(ConfigurationError, match=r"timer host id '\.\./x' is invalid"):
        TimerRunner([trigger(Calls())], hub=hub, host_id="../x", zone=UTC, environ={})
    with pytest.raises(ConfigurationError, match=r"timer functions \['tick'\] are defined more than once"):
        TimerRunner([trigger(Calls()), trigger(Calls())], hub=hub, host_id="h", zone=UTC, environ={})


def test_settings_and_zone_come_from_the_environment() -> None:
    assert resolve_settings("%A% %B%", {"A": "0 */5", "B": "* * * *"}, what="schedule") == "0 */5 * * * *"
    assert local_zone({"WEBSITE_TIME_ZONE": "Europe/Paris", "TZ": "UTC"}) == ZoneInfo("Europe/Paris")
    assert local_zone({"TZ": ":America/New_York"}) == ZoneInfo("America/New_York")
    assert local_zone({}).utcoffset(datetime(2024, 1, 1)) is not None  # the machine's zone
    with pytest.raises(ConfigurationError, match=r"WEBSITE_TIME_ZONE='W\. Europe Standard Time' is not a time zone"):
        local_zone({"WEBSITE_TIME_ZONE": "W. Europe Standard Time"})


async def test_status_writes_are_conditional(hub: TaskHub) -> None:
    status = ScheduleStatus(last=datetime(2024, 1, 1, tzinfo=UTC), next=datetime(2024, 1, 2, tzinfo=UTC))
    created = await hub.timers.try_write("h", "f", status, etag=None)
    assert created is not None
    assert await hub.timers.try_write("h", "f", status, etag=None) is None  # exists already
    replaced = await hub.timers.try_write("h", "f", status, etag=created.etag)
    assert replaced is not None
    assert await hub.timers.try_write("h", "f", status, etag=created.etag) is None  # stale ETag
    stored = await hub.timers.read("h", "f")
    assert stored is not None and stored.status == status and stored.etag == replaced.etag


@pytest.mark.parametrize("content", [b"", b"not json", b'{"Last": "yesterday"}', b"[1]", b"x" * 100_000])
async def test_an_unreadable_status_reads_as_empty_and_is_replaced(
    connection_string: str, hub: TaskHub, content: bytes
) -> None:
    name = hub.timers.blob_name("h", "f")
    await hub.account.blobs.create_container(hub.names.lease_container)
    async with BlobServiceClient.from_connection_string(connection_string) as service:
        await service.get_blob_client(hub.names.lease_container, name).upload_blob(content)
    stored = await hub.timers.read("h", "f")
    assert stored is not None and stored.status == ScheduleStatus()
    status = ScheduleStatus(last=datetime(2024, 1, 1, tzinfo=UTC))
    assert await hub.timers.try_write("h", "f", status, etag=stored.etag) is not None
