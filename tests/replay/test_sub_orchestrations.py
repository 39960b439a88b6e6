"""Sub-orchestrations: ``call_sub_orchestrator`` with and without an instance id, versions, results and failures.

A child takes the next sequence id like any scheduling action (storage-layout.md §4). Without an explicit
instance id the child gets ``{parent instance}:{sequence id as 4 hex digits}``, so a replay (or a retry after a
crash) addresses the same child.
"""

from __future__ import annotations

from typing import Any

import pytest

from durable_storage.errors import TaskFailedError
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import Completion, CreateSubOrchestrationAction, ScheduleTaskAction

from .support import H, failure_of, output_of, run


def call_child(**kwargs: Any) -> Any:
    def parent(context: Any) -> Any:
        result = yield context.call_sub_orchestrator("child", {"order": 7}, **kwargs)
        return result

    return parent


def test_a_sub_orchestration_with_an_instance_id_is_started_under_that_id() -> None:
    result = run(call_child(instance_id="order-7-shipping"), H("order-7").new().started("parent"))

    assert result.actions == [
        CreateSubOrchestrationAction(id=0, name="child", instance_id="order-7-shipping", input='{"order": 7}')
    ]


def test_a_sub_orchestration_without_an_instance_id_gets_the_parent_id_and_the_sequence_id_in_hex() -> None:
    def many_children(context: Any) -> Any:
        for _ in range(11):
            yield context.call_activity("step")
        yield context.task_all([context.call_sub_orchestrator("child"), context.call_sub_orchestrator("child")])

    h = H("order-7").started("parent")
    for n in range(11):
        h.scheduled("step").episode().completed(n)
    h.new()

    assert [(a.id, a.instance_id) for a in run(many_children, h).actions] == [
        (11, "order-7:000b"),
        (12, "order-7:000c"),
    ]


def test_the_default_child_instance_id_is_the_same_on_every_replay() -> None:
    first = run(call_child(), H("order-7").new().started("parent")).actions
    h = H("order-7").started("parent").sub_orchestration_created("child", "order-7:0000", {"order": 7})
    again = run(call_child(), h.episode().new().event_raised("unrelated")).all_actions

    assert first == again
    assert first[0].instance_id == "order-7:0000"  # type: ignore[union-attr]


@pytest.mark.parametrize("version", [None, "2.0"])
def test_the_version_asked_for_is_passed_to_the_child(version: str | None) -> None:
    (action,) = run(call_child(instance_id="c", version=version), H().new().started("parent")).actions

    assert isinstance(action, CreateSubOrchestrationAction)
    assert action.version == version


def test_the_childs_output_reaches_the_parent_decoded_from_json() -> None:
    h = H().started("parent").sub_orchestration_created("child", "c", {"order": 7})
    h.episode().new().sub_orchestration_completed(0, {"shipped": True})

    completion = run(call_child(instance_id="c"), h).completion

    assert completion == Completion(id=1, status=OrchestrationRuntimeStatus.Completed, output='{"shipped": true}')


def test_a_failed_child_raises_task_failed_error_in_the_parent() -> None:
    def parent(context: Any) -> Any:
        try:
            yield context.call_sub_orchestrator("child", None, "c")
        except TaskFailedError as error:
            return [str(error), error.reason, error.details]
        return "no failure"

    h = H().started("parent").sub_orchestration_created("child", "c")
    h.episode().new().sub_orchestration_failed(0, "Orchestrator function 'child' failed: boom", "stack")

    reason = "Orchestrator function 'child' failed: boom"
    assert output_of(run(parent, h)) == [f"{reason} \n stack", reason, "stack"]


def test_an_unhandled_child_failure_fails_the_parent() -> None:
    h = H().started("parent").sub_orchestration_created("child", "c", {"order": 7})
    h.episode().new().sub_orchestration_failed(0, "child failed", "details")

    details = failure_of(run(call_child(instance_id="c"), h))

    assert (details.error_type, details.error_message) == ("TaskFailedError", "child failed \n details")


def test_children_and_activities_share_one_sequence_counter() -> None:
    def mixed(context: Any) -> Any:
        yield context.call_activity("prepare")
        yield context.task_all([context.call_sub_orchestrator("child", n, f"c{n}") for n in range(2)])
        yield context.call_activity("finish")

    h = H().started("mixed").scheduled("prepare").episode().completed(0)
    h.sub_orchestration_created("child", "c0", 0).sub_orchestration_created("child", "c1", 1)
    h.episode().new().sub_orchestration_completed(1).sub_orchestration_completed(2)

    result = run(mixed, h)

    assert result.actions == [ScheduleTaskAction(id=3, name="finish", input="null")]
    assert [type(a).__name__ for a in result.all_actions] == [
        "ScheduleTaskAction",
        "CreateSubOrchestrationAction",
        "CreateSubOrchestrationAction",
        "ScheduleTaskAction",
    ]


@pytest.mark.parametrize("instance_id", ["@x@", "@counter@victim", "@@", ""])
def test_a_child_id_an_orchestration_cannot_have_fails_the_parent_before_any_action(instance_id: str) -> None:
    result = run(call_child(instance_id=instance_id), H("order-7").new().started("parent"))

    details = failure_of(result)
    assert details.error_type == "InvalidNameError"
    assert repr(instance_id) in details.error_message
    assert result.actions == []
