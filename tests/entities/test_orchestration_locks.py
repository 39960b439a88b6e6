"""Critical sections and scheduled signals from an orchestration, through the replay engine.

``lock_entities`` sends one lock request (``op``) to the first entity of the sorted lock set; the grant is the
response event named after the request id. Leaving the ``with`` block, returning, failing or continuing as new
sends a ``release`` to every locked entity.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_storage.entities import scheduled_name, scheduled_time_of
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.replay import OrchestratorFunction, ReplayResult, ScheduleTaskAction, SendEventAction, replay
from durable_storage.replay._context import EntityLock
from durable_storage.testing.history import HistoryBuilder

ORCH = "orch-1"
EXECUTION = "0123456789abcdef0123456789abcdef"  # HistoryBuilder's execution id
FIRST = EntityId("Counter", "a")
SECOND = EntityId("counter", "b")
GRANT = json.dumps({"result": json.dumps("Lock Acquisition Completed")})


def run(orchestrator: OrchestratorFunction, history: HistoryBuilder) -> ReplayResult:
    return replay(
        orchestrator, instance_id=history.instance_id, past_events=history.past, new_events=history.new_events
    )


def sends(result: ReplayResult) -> list[SendEventAction]:
    return [a for a in result.actions if isinstance(a, SendEventAction)]


def sent_lock(orchestrator: OrchestratorFunction) -> tuple[HistoryBuilder, SendEventAction, str]:
    """The history after the first episode sent the lock request, the lock action and its request id."""
    result = run(orchestrator, HistoryBuilder(ORCH).new().started("o"))
    [action] = result.actions
    assert isinstance(action, SendEventAction)
    history = HistoryBuilder(ORCH).started("o").event_sent(action.instance_id, action.name, action.input)
    return history.episode().new(), action, json.loads(action.input or "")["id"]


def granted(orchestrator: OrchestratorFunction) -> tuple[HistoryBuilder, str]:
    """The history in which the lock was requested and, in the new episode, granted."""
    history, _, request_id = sent_lock(orchestrator)
    return history.event_raised(request_id, raw=GRANT), request_id


def release_of(action: SendEventAction) -> tuple[str, str, dict[str, Any]]:
    return action.instance_id, action.name, json.loads(action.input or "")


def releases(request_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    body = {"parent": ORCH, "id": request_id}
    return [("@counter@a", "release", body), ("@counter@b", "release", body)]


# --- the lock request ---------------------------------------------------------------------------------------------


def critical(context: Any) -> Any:
    with (yield context.lock_entities(SECOND, FIRST)):
        inside = yield context.call_activity("inside")
    after = yield context.call_activity("after")
    return [inside, after]


def test_lock_entities_sends_one_op_to_the_first_entity_with_the_whole_sorted_lockset() -> None:
    result = run(critical, HistoryBuilder(ORCH).new().started("o"))

    [action] = result.actions
    assert isinstance(action, SendEventAction)
    assert (action.id, action.instance_id, action.name, action.scheduled_time) == (0, "@counter@a", "op", None)
    request = json.loads(action.input or "")
    assert request["op"] is None
    assert request["lockset"] == [{"name": "counter", "key": "a"}, {"name": "counter", "key": "b"}]
    assert (request["parent"], request["parentExecution"]) == (ORCH, EXECUTION)
    assert "pos" not in request and "signal" not in request
    assert str(uuid.UUID(request["id"])) == request["id"]
    assert result.completion is None


def test_the_lockset_is_deduplicated_and_accepts_iterables() -> None:
    def many(context: Any) -> Any:
        yield context.lock_entities([SECOND, FIRST], EntityId("COUNTER", "a"), (e for e in [SECOND]))

    [action] = run(many, HistoryBuilder(ORCH).new().started("o")).actions

    assert isinstance(action, SendEventAction)
    assert json.loads(action.input or "")["lockset"] == [
        {"name": "counter", "key": "a"},
        {"name": "counter", "key": "b"},
    ]


@pytest.mark.parametrize("arguments", [(), ("@counter@a",), ([],)], ids=["nothing", "a-string", "empty-list"])
def test_lock_entities_without_entity_ids_fails_the_orchestration_with_value_error(arguments: tuple[Any, ...]) -> None:
    def wrong(context: Any) -> Any:
        yield context.lock_entities(*arguments)

    result = run(wrong, HistoryBuilder(ORCH).new().started("o"))

    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Failed
    assert result.completion.failure_details is not None
    assert result.completion.failure_details.error_type == "ValueError"
    assert result.actions == []


def test_the_block_does_not_run_before_the_grant() -> None:
    history, _, _ = sent_lock(critical)

    result = run(critical, history.event_raised("something-else", raw=GRANT))

    assert result.actions == []
    assert result.completion is None


def test_after_the_grant_the_block_runs() -> None:
    history, _ = granted(critical)

    result = run(critical, history)

    assert result.actions == [ScheduleTaskAction(id=1, name="inside", input="null")]
    assert result.completion is None


def test_the_lock_is_an_entity_lock_over_the_sorted_entities() -> None:
    seen: list[Any] = []

    def keep(context: Any) -> Any:
        lock = yield context.lock_entities(SECOND, FIRST)
        seen.append(lock)
        yield context.wait_for_external_event("never")

    history, request_id = granted(keep)
    run(keep, history)

    [lock] = seen
    assert isinstance(lock, EntityLock)
    assert [str(e) for e in lock.entities] == ["@counter@a", "@counter@b"]
    assert lock.request_id == request_id


def test_leaving_the_block_sends_a_release_to_each_entity_before_what_follows() -> None:
    history, request_id = granted(critical)
    history.scheduled("inside").episode().new().completed(1, "in")

    result = run(critical, history)

    release_a, release_b, after = result.actions
    assert isinstance(release_a, SendEventAction) and isinstance(release_b, SendEventAction)
    assert [release_of(release_a), release_of(release_b)] == releases(request_id)
    assert (release_a.id, release_b.id) == (2, 3)
    assert after == ScheduleTaskAction(id=4, name="after", input="null")


def test_releases_recorded_in_history_are_not_sent_again() -> None:
    history, request_id = granted(critical)
    history.scheduled("inside").episode().completed(1, "in")
    history.event_sent("@counter@a", "release", json.dumps({"parent": ORCH, "id": request_id}))
    history.event_sent("@counter@b", "release", json.dumps({"parent": ORCH, "id": request_id}))
    history.scheduled("after").episode().new().completed(4, "out")

    result = run(critical, history)

    assert result.actions == []
    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Completed
    assert json.loads(result.completion.output or "") == ["in", "out"]


def test_an_explicit_release_is_idempotent_and_the_with_block_does_not_release_again() -> None:
    def twice(context: Any) -> Any:
        with (yield context.lock_entities(FIRST, SECOND)) as lock:
            lock.release()
            lock.release()
            yield context.call_activity("unlocked")
        return "done"

    history, request_id = granted(twice)

    result = run(twice, history)

    release_a, release_b, activity = result.actions
    assert isinstance(release_a, SendEventAction) and isinstance(release_b, SendEventAction)
    assert [release_of(release_a), release_of(release_b)] == releases(request_id)
    assert activity == ScheduleTaskAction(id=3, name="unlocked", input="null")


def test_a_new_critical_section_after_leaving_one_is_allowed() -> None:
    def one_after_another(context: Any) -> Any:
        with (yield context.lock_entities(FIRST)):
            pass
        yield context.lock_entities(SECOND)

    history, _ = granted(one_after_another)

    result = run(one_after_another, history)

    release, second_lock = sends(result)
    assert (release.instance_id, release.name) == ("@counter@a", "release")
    assert (second_lock.instance_id, second_lock.name) == ("@counter@b", "op")
    assert json.loads(second_lock.input or "")["lockset"] == [{"name": "counter", "key": "b"}]
    assert result.completion is None


# --- the end of the execution releases the locks ------------------------------------------------------------------


def test_returning_while_holding_the_lock_sends_the_releases_before_completing() -> None:
    def keep(context: Any) -> Any:
        yield context.lock_entities(FIRST, SECOND)
        return "done"

    history, request_id = granted(keep)

    result = run(keep, history)

    assert [release_of(a) for a in sends(result)] == releases(request_id)
    assert result.completion is not None
    assert (result.completion.status, result.completion.id) == (OrchestrationRuntimeStatus.Completed, 3)
    assert result.completion.output == '"done"'


def test_returning_from_inside_the_block_sends_the_releases_once() -> None:
    def early(context: Any) -> Any:
        with (yield context.lock_entities(FIRST, SECOND)):
            return "early"

    history, request_id = granted(early)

    result = run(early, history)

    assert [release_of(a) for a in sends(result)] == releases(request_id)
    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Completed


def test_raising_while_holding_the_lock_sends_the_releases_and_fails() -> None:
    def boom(context: Any) -> Any:
        yield context.lock_entities(FIRST, SECOND)
        raise ValueError("boom")

    history, request_id = granted(boom)

    result = run(boom, history)

    assert [release_of(a) for a in sends(result)] == releases(request_id)
    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Failed
    assert result.completion.failure_details is not None
    assert result.completion.failure_details.error_type == "ValueError"
    assert result.completion.id == 3


def test_raising_inside_the_block_sends_the_releases_once_and_fails() -> None:
    def boom(context: Any) -> Any:
        with (yield context.lock_entities(FIRST, SECOND)):
            raise ValueError("boom")

    history, request_id = granted(boom)

    result = run(boom, history)

    assert [release_of(a) for a in sends(result)] == releases(request_id)
    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Failed


def test_continuing_as_new_while_holding_the_lock_sends_the_releases_first() -> None:
    def again(context: Any) -> Any:
        with (yield context.lock_entities(FIRST, SECOND)):
            context.continue_as_new(5)

    history, request_id = granted(again)

    result = run(again, history)

    release_a, release_b = sends(result)
    assert [release_of(release_a), release_of(release_b)] == releases(request_id)
    assert result.completion is not None
    assert result.completion.status is OrchestrationRuntimeStatus.ContinuedAsNew
    assert result.completion.output == "5"
    assert result.completion.id > release_b.id


def test_nesting_critical_sections_fails_the_orchestration_with_runtime_error_and_releases() -> None:
    def nested(context: Any) -> Any:
        with (yield context.lock_entities(FIRST, SECOND)):
            yield context.lock_entities(EntityId("counter", "c"))

    history, request_id = granted(nested)

    result = run(nested, history)

    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Failed
    details = result.completion.failure_details
    assert details is not None and details.error_type == "RuntimeError"
    assert "already holds locks" in details.error_message and "@counter@a" in details.error_message
    assert [release_of(a) for a in sends(result)] == releases(request_id)


def test_failing_on_an_unencodable_custom_status_while_holding_the_lock_releases_it() -> None:
    def bad_status(context: Any) -> Any:
        with (yield context.lock_entities(FIRST, SECOND)):
            context.set_custom_status({1, 2})
            yield context.wait_for_external_event("go")

    history, request_id = granted(bad_status)

    result = run(bad_status, history)

    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Failed
    assert [release_of(a) for a in sends(result)] == releases(request_id)


# --- scheduled signals --------------------------------------------------------------------------------------------

DUE = datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=timezone.utc)


def signal_at(when: Any) -> OrchestratorFunction:
    def orchestrator(context: Any) -> Any:
        context.signal_entity(FIRST, "add", 1, scheduled_time=when)
        return "sent"

    return orchestrator


def test_a_scheduled_signal_is_sent_under_the_op_at_due_name_with_its_scheduled_time() -> None:
    result = run(signal_at(DUE), HistoryBuilder(ORCH).new().started("o"))

    [action] = sends(result)
    assert (action.id, action.instance_id) == (0, "@counter@a")
    assert action.name == scheduled_name(DUE)
    assert action.name.startswith("op@")
    assert scheduled_time_of(action.name) == DUE
    assert action.scheduled_time == DUE
    request = json.loads(action.input or "")
    assert (request["op"], request["signal"], request["input"], request["parent"]) == ("add", True, "1", ORCH)
    assert request["due"] == "2024-05-01T10:00:00.5Z"
    assert result.completion is not None and result.completion.status is OrchestrationRuntimeStatus.Completed


def test_a_naive_or_zoned_scheduled_time_is_taken_in_utc() -> None:
    naive = run(signal_at(DUE.replace(tzinfo=None)), HistoryBuilder(ORCH).new().started("o"))
    zoned = run(signal_at(DUE.astimezone(timezone(timedelta(hours=-5)))), HistoryBuilder(ORCH).new().started("o"))

    assert [a.name for a in sends(naive)] == [a.name for a in sends(zoned)] == [scheduled_name(DUE)]
    assert sends(zoned)[0].scheduled_time == DUE


def test_a_signal_without_a_scheduled_time_is_a_plain_op() -> None:
    result = run(signal_at(None), HistoryBuilder(ORCH).new().started("o"))

    [action] = sends(result)
    assert (action.name, action.scheduled_time) == ("op", None)
    assert "due" not in json.loads(action.input or "")


def test_a_replayed_scheduled_signal_is_not_sent_again() -> None:
    [action] = sends(run(signal_at(DUE), HistoryBuilder(ORCH).new().started("o")))
    history = HistoryBuilder(ORCH).started("o").event_sent(action.instance_id, action.name, action.input)
    history.episode().new().event_raised("unrelated")

    def wait_after(context: Any) -> Any:
        context.signal_entity(FIRST, "add", 1, scheduled_time=DUE)
        yield context.wait_for_external_event("never")

    assert run(wait_after, history).actions == []


def test_a_scheduled_signal_name_uses_the_dotnet_round_trip_format() -> None:
    [action] = sends(run(signal_at(DUE), HistoryBuilder(ORCH).new().started("o")))

    assert action.name == "op@2024-05-01T10:00:00.5000000Z"
