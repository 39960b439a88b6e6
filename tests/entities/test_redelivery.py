"""Redelivered queue messages: a request or release already processed is recognised by its key and not run again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage.entities import SchedulerState, redelivery_key, run_batch, scheduled_name
from durable_storage.history import EventRaisedEvent
from durable_storage.models import EntityId
from tests.entities.support import T0, counter, op, release

COUNTER = EntityId("counter", "k")


def test_processed_messages_are_recorded_by_key_in_the_batch_and_the_state() -> None:
    due = datetime(2024, 5, 1, tzinfo=timezone.utc)
    events = [op("add", "r1", 1), op("add", "r2", 2, name=scheduled_name(due)), release("orch-1", "L1")]

    batch = run_batch(counter, COUNTER, SchedulerState(), events)

    assert batch.processed == ["op:r1", "op:r2", "release:L1"]
    assert batch.state.unconfirmed == ["op:r1", "op:r2", "release:L1"]
    assert json.loads(batch.state.to_json())["unconfirmed"] == ["op:r1", "op:r2", "release:L1"]


def test_a_request_whose_key_is_unconfirmed_is_skipped() -> None:
    state = SchedulerState(exists=True, state="5", unconfirmed=["op:r1"])

    batch = run_batch(counter, COUNTER, state, [op("add", "r1", 100), op("get", "r2")])

    assert [s.name for s in batch.sends] == ["r2"]
    assert json.loads(json.loads(batch.sends[0].input)["result"]) == 5
    assert batch.state.state == "5"
    assert batch.processed == ["op:r2"]
    assert batch.state.unconfirmed == ["op:r1", "op:r2"]
    assert batch.operations == 1


def test_the_same_request_twice_in_one_batch_runs_once() -> None:
    batch = run_batch(counter, COUNTER, SchedulerState(), [op("add", "r1", 5), op("add", "r1", 5)])

    assert batch.state.state == "5"
    assert [s.name for s in batch.sends] == ["r1"]
    assert batch.processed == ["op:r1"]


def test_confirmed_keys_are_forgotten() -> None:
    state = SchedulerState(exists=True, state="0", unconfirmed=["op:r1", "op:r2", "release:L1"])

    batch = run_batch(counter, COUNTER, state, [op("add", "r3", 1)], confirmed={"op:r1", "release:L1"})

    assert batch.state.unconfirmed == ["op:r2", "op:r3"]


def test_a_confirmed_request_sent_again_within_a_minute_is_still_recognised_as_a_copy() -> None:
    # A sender's retried send (its first attempt landed after all) queues a second message with the same request.
    first = run_batch(counter, COUNTER, SchedulerState(), [op("add", "r1", 1)], now=T0)
    again = run_batch(
        counter, COUNTER, first.state, [op("add", "r1", 1)], confirmed=["op:r1"], now=T0 + timedelta(seconds=59)
    )

    assert again.state.state == "1"
    assert again.processed == []
    assert again.state.unconfirmed == []


def test_a_confirmed_key_is_forgotten_a_minute_after_its_request_ran() -> None:
    first = run_batch(counter, COUNTER, SchedulerState(), [op("add", "r1", 1)], now=T0)
    later = T0 + timedelta(seconds=61)

    batch = run_batch(counter, COUNTER, first.state, [op("add", "r1", 1)], confirmed=["op:r1"], now=later)

    assert batch.state.state == "2"
    assert batch.state.recent == [("op:r1", later.timestamp())]


def test_at_most_300_recent_keys_are_kept_so_the_state_stays_small() -> None:
    batch = run_batch(counter, COUNTER, SchedulerState(), [op("add", f"r{n}", 1) for n in range(350)], now=T0)

    assert [key for key, _ in batch.state.recent] == [f"op:r{n}" for n in range(50, 350)]
    assert len(batch.state.to_json()) < 30_000  # stays inline in the Instances row (no blob per batch)


def test_a_redelivered_release_does_not_release_a_later_lock_of_the_same_orchestration() -> None:
    # orch-1 released lock L1 (processed earlier), then took the lock again with L2; a copy of L1's release returns.
    state = SchedulerState(locked_by="orch-1", unconfirmed=["release:L1"])

    batch = run_batch(counter, COUNTER, state, [release("orch-1", "L1"), op("add", "x", 1, parent="orch-2")])

    assert batch.state.locked_by == "orch-1"
    assert [r.id for r in batch.state.queue] == ["x"]


def test_a_redelivered_request_that_waits_in_the_queue_is_not_queued_twice() -> None:
    state = SchedulerState(locked_by="orch-1")

    first = run_batch(counter, COUNTER, state, [op("add", "x", 1, parent="orch-2")])
    again = run_batch(counter, COUNTER, first.state, [op("add", "x", 1, parent="orch-2")])

    assert first.processed == ["op:x"]
    assert [r.id for r in again.state.queue] == ["x"]


def test_a_malformed_message_is_rejected_without_a_key_and_the_rest_still_run() -> None:
    events = [
        EventRaisedEvent(timestamp=T0, name="op", input="{broken"),
        EventRaisedEvent(timestamp=T0, name="release", input='{"parent":"orch-1"}'),
        EventRaisedEvent(timestamp=T0, name="continue", input=None),
        op("add", "r1", 1),
    ]

    batch = run_batch(counter, COUNTER, SchedulerState(), events)

    assert len(batch.rejected) == 3
    assert batch.rejected[0].startswith("op: ")
    assert batch.rejected[1].startswith("release: ")
    assert "continue" in batch.rejected[2]
    assert batch.processed == ["op:r1"]
    assert batch.state.state == "1"


def test_at_most_1000_keys_are_kept_the_newest_last() -> None:
    state = SchedulerState(unconfirmed=[f"op:old{i}" for i in range(1000)])

    batch = run_batch(counter, COUNTER, state, [op("add", "new", 1)])

    assert len(batch.state.unconfirmed) == 1000
    assert batch.state.unconfirmed[0] == "op:old1"
    assert batch.state.unconfirmed[-1] == "op:new"


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (op("add", "r1"), "op:r1"),
        (op("add", "r2", name="op@2024-05-01T10:00:00.0000000Z"), "op:r2"),
        (release("orch-1", "L1"), "release:L1"),
        (EventRaisedEvent(timestamp=T0, name="0b6d2f0e-3c8e-4d43-9a0f-4f1d2b9c8a11", input='{"result":"1"}'), None),
        (EventRaisedEvent(timestamp=T0, name="op", input="not json"), None),
        (EventRaisedEvent(timestamp=T0, name="release", input="{}"), None),
    ],
    ids=["op", "scheduled", "release", "response", "malformed-op", "malformed-release"],
)
def test_redelivery_keys(event: EventRaisedEvent, key: str | None) -> None:
    assert redelivery_key(event) == key
