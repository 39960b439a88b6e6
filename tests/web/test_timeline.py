"""The dashboard's timeline of a history: scheduled steps are paired with their answers, with durations; pure."""

from __future__ import annotations

from typing import Any

from durable_storage.web._timeline import children_of, timeline


def at(seconds: float) -> str:
    whole, fraction = divmod(round(seconds * 10_000_000), 10_000_000)
    return f"2024-05-01T12:00:{whole:02d}.{fraction:07d}Z"


def event(kind: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {"EventType": kind, "EventId": -1, "Timestamp": at(seconds), **fields}


HISTORY = [
    event("OrchestratorStarted", 0),
    event(
        "ExecutionStarted",
        0,
        Name="order",
        Input='{"sku": 1}',
        ParentInstance={"OrchestrationInstance": {"InstanceId": "parent-1"}},
    ),
    {**event("TaskScheduled", 0.1, Name="reserve", Input="1"), "EventId": 0},
    {
        **event("SubOrchestrationInstanceCreated", 0.1, Name="ship", InstanceId="order-1:0001", Input="null"),
        "EventId": 1,
    },
    {**event("TimerCreated", 0.1, FireAt=at(5)), "EventId": 2},
    event("OrchestratorCompleted", 0.1),
    event("TaskCompleted", 0.35, TaskScheduledId=0, Result='"reserved"'),
    event(
        "SubOrchestrationInstanceFailed",
        1.1,
        TaskScheduledId=1,
        Reason="no courier",
        Details="trace",
        FailureDetails={"ErrorType": "ValueError", "ErrorMessage": "no courier", "StackTrace": "trace"},
    ),
    event("EventRaised", 2, Name="Approval", Input='"yes"'),
    event("GenericEvent", 2, Data="rewound"),
    event("ExecutionTerminated", 3, Input='"stop"'),
]


def test_each_scheduled_step_ends_with_its_answer_and_its_duration() -> None:
    items = timeline(HISTORY)

    assert [item["kind"] for item in items] == [
        "started",
        "activity",
        "suborchestration",
        "timer",
        "eventRaised",
        "terminated",
    ]
    started, activity, child, timer, raised, terminated = items
    assert (started["name"], started["input"], started["parentInstanceId"]) == ("order", {"sku": 1}, "parent-1")
    assert activity == {
        "kind": "activity",
        "start": at(0.1),
        "end": at(0.35),
        "durationMs": 250.0,
        "eventId": 0,
        "status": "completed",
        "name": "reserve",
        "input": 1,
        "result": "reserved",
    }
    assert (child["status"], child["instanceId"], child["durationMs"]) == ("failed", "order-1:0001", 1000.0)
    assert (child["failure"], child["details"]) == ("ValueError: no courier", "trace")
    assert (timer["status"], timer["end"], timer["fireAt"]) == ("scheduled", None, at(5))  # not fired yet
    assert (raised["name"], raised["input"]) == ("Approval", "yes")
    assert terminated["reason"] == "stop"


def test_a_timer_ends_when_it_was_due() -> None:
    created = {**event("TimerCreated", 0.1, FireAt=at(0.4)), "EventId": 0}
    fired = event("TimerFired", 0.1, TimerId=0, FireAt=at(0.4))  # DTFx stamps it when it creates it

    (timer,) = timeline([created, fired])

    assert (timer["status"], timer["start"], timer["end"], timer["durationMs"]) == ("fired", at(0.1), at(0.4), 300.0)


def test_an_answer_without_its_scheduling_row_is_shown_on_its_own() -> None:
    items = timeline([event("TaskCompleted", 1, TaskScheduledId=7, Result="2")])

    assert items == [
        {
            "kind": "activity",
            "start": at(1),
            "end": at(1),
            "durationMs": 0.0,
            "eventId": 7,
            "name": None,
            "status": "completed",
            "result": 2,
        }
    ]


def test_the_end_of_an_execution() -> None:
    failed = event(
        "ExecutionCompleted",
        1,
        OrchestrationStatus="Failed",
        FailureDetails={"ErrorType": "KeyError", "ErrorMessage": "'x'", "StackTrace": "tb"},
    )
    done = event("ExecutionCompleted", 1, OrchestrationStatus="Completed", Result="[1, 2]")

    assert timeline([failed])[0] | {"start": None} == {
        "kind": "failed",
        "start": None,
        "end": None,
        "durationMs": None,
        "status": "Failed",
        "failure": "KeyError: 'x'",
        "userFrames": None,
        "details": "tb",
    }
    assert (timeline([done])[0]["kind"], timeline([done])[0]["result"]) == ("completed", [1, 2])


def test_children_are_the_sub_orchestrations_started_each_once() -> None:
    created = [
        event("SubOrchestrationInstanceCreated", 0, Name="a", InstanceId="p:0001"),
        event("SubOrchestrationInstanceCreated", 0, Name="b", InstanceId="p-named"),
        event("SubOrchestrationInstanceCreated", 0, Name="a", InstanceId="p:0001"),
    ]

    assert children_of([*created, event("TaskScheduled", 0, Name="x")]) == ["p:0001", "p-named"]
