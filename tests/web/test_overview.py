"""The dashboard's views over many instances, without a browser: newest first across creation-time windows, pages
that follow a cursor, scans that stop at their limit and say so, the summary's counts and chart; and the pure parts
(failures trimmed to the user's frames, what a history says an instance waits for).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage._clock import utcnow
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.tables import WriteMode
from durable_storage.errors import ConfigurationError
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.web import _overview
from durable_storage.web._failures import failure_view, split_message, user_frames
from durable_storage.web._overview import decode_cursor
from durable_storage.web._summary import BUCKETS, summarize, summary_filter
from durable_storage.web._timeline import waiting_for
from tests.web.support import Served, unique

Status = OrchestrationRuntimeStatus

# As the worker stored it: an orchestrator that let an activity's failure through (trimmed of the ^^^ lines).
TRACE = """Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/durable_storage/replay/_engine.py", line 397, in _resume
    yielded = generator.throw(task.result)
  File "/srv/app/orders.py", line 59, in checkout
    yield context.call_activity("charge", order)
durable_storage.errors.TaskFailedError: Activity function 'charge' failed: declined
  amount: 12 EUR
 Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/durable_storage/worker/_activity.py", line 301, in _call
    value = await loop.run_in_executor(self._threads, call, argument)
  File "/usr/lib/python3.11/concurrent/futures/thread.py", line 58, in run
    result = self.fn(*self.args, **self.kwargs)
  File "/srv/app/.venv/lib/python3.11/site-packages/stripe/api.py", line 12, in charge
    raise CardError(message)
  File "<frozen importlib._bootstrap>", line 1, in _call_with_frames_removed
ValueError: declined
  amount: 12 EUR
"""
MESSAGE = "Activity function 'charge' failed: declined\n  amount: 12 EUR \n Traceback (most recent call last):\n  x"


def test_a_failure_shows_its_message_once_and_the_users_frames() -> None:
    assert split_message(MESSAGE) == (
        "Activity function 'charge' failed: declined\n  amount: 12 EUR",
        "Traceback (most recent call last):\n  x",
    )
    assert split_message("one line\n") == ("one line", None)
    assert user_frames(TRACE) == "\n".join(
        [
            '  File "/srv/app/orders.py", line 59, in checkout',
            '    yield context.call_activity("charge", order)',
            '  File "/srv/app/.venv/lib/python3.11/site-packages/stripe/api.py", line 12, in charge',
            "    raise CardError(message)",
        ]
    )
    assert user_frames('Traceback (most recent call last):\n  File "/x/durable_storage/a.py", line 1, in f\nE') is None
    view = failure_view(MESSAGE, TRACE)
    assert (view["message"], view["details"]) == (
        "Activity function 'charge' failed: declined\n  amount: 12 EUR",
        TRACE,
    )
    assert failure_view(None, None) == {"message": None, "userFrames": None, "details": None}


def event(kind: str, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": kind, "EventId": event_id, "Timestamp": "2024-05-01T12:00:00.0000000Z", **fields}


def test_what_an_instance_waits_for_is_its_open_steps_and_the_events_it_received() -> None:
    history = [
        event("ExecutionStarted", Name="o"),
        event("TaskScheduled", 0, Name="done"),
        event("TaskCompleted", TaskScheduledId=0, Result="1"),
        event("TaskScheduled", 1, Name="pack"),
        event("TimerCreated", 2, FireAt="2024-05-01T13:00:00.0000000Z"),
        event("SubOrchestrationInstanceCreated", 3, Name="collect", InstanceId="o-items"),
        event("EventRaised", Name="Item"),
        event("EventRaised", Name="Item"),
    ]

    found = waiting_for(history)

    assert [(s["kind"], s["name"], s["instanceId"], s["fireAt"]) for s in found["steps"]] == [
        ("activity", "pack", None, None),
        ("timer", "timer", None, "2024-05-01T13:00:00.0000000Z"),
        ("suborchestration", "collect", "o-items", None),
    ]
    assert found["received"] == {"Item": 2}
    assert waiting_for([event("ExecutionStarted", Name="o")]) == {"steps": [], "received": {}}


def record(instance_id: str, status: Status, created: datetime, completed: datetime | None = None) -> InstanceRecord:
    return InstanceRecord(
        instance_id=instance_id, name="o", runtime_status=status, created_time=created, completed_time=completed
    )


def test_the_summary_counts_statuses_and_buckets_what_was_created_and_ended() -> None:
    until = datetime(2024, 5, 1, 13, 0, tzinfo=timezone.utc)
    since = until - timedelta(hours=1)
    rows = [
        record("old-running", Status.Running, since - timedelta(days=3)),  # counted, not charted
        record("a", Status.Completed, since + timedelta(seconds=30), since + timedelta(minutes=2, seconds=1)),
        record("b", Status.Failed, since + timedelta(minutes=2), since + timedelta(minutes=59, seconds=59)),
        record("c", Status.Completed, since - timedelta(hours=2), until + timedelta(seconds=1)),  # a fast clock
    ]

    found = summarize(rows, since=since, until=until, capped=False)

    assert found["counts"] == {s.name: {"Running": 1, "Completed": 2, "Failed": 1}.get(s.name, 0) for s in Status}
    assert (found["total"], found["capped"], found["bucketSeconds"], len(found["buckets"])) == (4, False, 60, BUCKETS)
    charted = {
        i: (b["created"], b["completed"], b["failed"])
        for i, b in enumerate(found["buckets"])
        if any((b["created"], b["completed"], b["failed"]))
    }
    assert charted == {0: (1, 0, 0), 2: (1, 1, 0), 59: (0, 1, 1)}
    assert found["buckets"][2]["start"] == "2024-05-01T12:02:00Z"
    assert summary_filter(since) == (
        "(PartitionKey lt '@' or PartitionKey ge 'A') and (RuntimeStatus eq 'Pending' or RuntimeStatus eq 'Running'"
        " or RuntimeStatus eq 'Suspended' or RuntimeStatus eq 'ContinuedAsNew'"
        " or CreatedTime ge datetime'2024-05-01T12:00:00.0000000Z' or CompletedTime ge"
        " datetime'2024-05-01T12:00:00.0000000Z')"
    )


def test_a_cursor_that_was_not_made_here_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigurationError, match=r"continuationToken is invalid") as raised:
        decode_cursor("secret-looking-value")
    assert "secret-looking-value" not in str(raised.value)


async def write_rows(served: Served, prefix: str, ages: dict[str, timedelta]) -> datetime:
    hub = served.client.task_hub
    now = utcnow()
    for suffix, age in ages.items():
        row = record(prefix + suffix, Status.Completed, now - age, now - age)
        await hub.instances.write(row, mode=WriteMode.INSERT)
    return now


async def pages(served: Served, query: dict[str, str]) -> list[list[str]]:
    found: list[list[str]] = []
    token: str | None = None
    while True:
        params = {**query, **({"continuationToken": token} if token else {})}
        async with served.http.get("/api/instances", params=params) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        found.append([s["instanceId"] for s in body["instances"]])
        token = body["continuationToken"]
        if token is None:
            return found


async def test_the_list_is_newest_first_across_windows_and_pages(served: Served) -> None:
    prefix = unique("newest")
    # IDs in the opposite order of age; one per window (the last hour, day, 30 days, before).
    ages = {"a": timedelta(days=90), "b": timedelta(days=3), "c": timedelta(hours=5), "d": timedelta(minutes=5)}
    await write_rows(served, prefix, ages)

    assert await pages(served, {"instanceIdPrefix": prefix, "top": "1"}) == [[prefix + s] for s in "dcba"]
    assert await pages(served, {"instanceIdPrefix": prefix, "top": "3"}) == [
        [prefix + s for s in "dcb"],
        [prefix + "a"],
    ]
    since = (utcnow() - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await pages(served, {"instanceIdPrefix": prefix, "createdTimeFrom": since}) == [[prefix + s for s in "dcb"]]


async def test_a_scan_stops_at_its_limit_and_says_so(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = unique("capped")
    await write_rows(served, prefix, {str(i): timedelta(minutes=i) for i in range(5)})
    monkeypatch.setattr(_overview, "SCAN_ROWS", 3)
    monkeypatch.setattr(_overview, "_PAGE_ROWS", 2)

    async with served.http.get("/api/instances", params={"instanceIdPrefix": prefix}) as response:
        body = await response.json()
    async with served.http.get("/api/summary", params={"window": "600"}) as response:
        summary = await response.json()

    assert (body["capped"], len(body["instances"])) == (True, 3)
    assert (summary["capped"], summary["total"]) == (True, 3)


@pytest.mark.parametrize("window", ["5", "abc", "604801", "-60"])
async def test_a_summary_window_out_of_range_is_a_400_naming_it(served: Served, window: str) -> None:
    async with served.http.get("/api/summary", params={"window": window}) as response:
        assert response.status == 400
        assert f"window={window!r} is invalid: must be 60 to 604800 seconds" in (await response.json())["Message"]
