"""History table rows, as DurableTask.AzureStorage's TableEntityConverter writes them (history-event-fields.md §4)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from durable_storage._datetimes import DotNetDateTime, extra_ticks
from durable_storage._envelope import encode_event
from durable_storage._storage.codec import LARGE_PROPERTY_COLUMNS, event_to_row, row_to_event
from durable_storage.errors import MessageFormatError
from durable_storage.history import (
    ContinueAsNewEvent,
    DistributedTraceContext,
    ExecutionCompletedEvent,
    ExecutionStartedEvent,
    FailureDetails,
    HistoryEvent,
    OrchestrationInstance,
    OrchestratorStartedEvent,
    ParentInstance,
    TaskCompletedEvent,
    TaskScheduledEvent,
    TimerFiredEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus
from tests.strategies import events

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_a_scheduled_activity_row_has_native_columns_enum_names_and_json_for_complex_members() -> None:
    event = TaskScheduledEvent(event_id=0, name="act", version="", timestamp=T0)

    assert event_to_row(event, execution_id="e1") == {
        "EventType": "TaskScheduled",
        "Name": "act",
        "Version": "",
        "ParentTraceContext": "null",  # a null complex value is the text "null"
        "Tags": "null",
        "EventId": 0,
        "IsPlayed": False,
        "_Timestamp": T0,  # Timestamp is reserved by Table storage
        "ExecutionId": "e1",
    }  # Input is None, so it has no column


def test_a_start_row_stores_instance_parent_and_tags_as_json_without_type_names() -> None:
    event = ExecutionStartedEvent(
        orchestration_instance=OrchestrationInstance("child", "e2"),
        parent_instance=ParentInstance("parent", OrchestrationInstance("p", "e1"), 4, ""),
        name="orch",
        input='{"x":1}',
        tags={"owner": "me"},
        scheduled_start_time=datetime(2024, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=1))),
        generation=0,
        timestamp=T0,
    )

    row = event_to_row(event, execution_id="e2")

    assert row["OrchestrationInstance"] == '{"InstanceId":"child","ExecutionId":"e2"}'
    assert row["ParentInstance"] == (
        '{"Name":"parent","OrchestrationInstance":{"InstanceId":"p","ExecutionId":"e1"},"TaskScheduleId":4,"Version":""}'
    )
    assert row["Tags"] == '{"owner":"me"}'
    assert row["ScheduledStartTime"] == datetime(2024, 1, 2, tzinfo=timezone.utc)  # converted to UTC
    assert (row["Generation"], row["GenerateNewTrace"], row["EventType"]) == (0, False, "ExecutionStarted")
    assert "Version" not in row
    assert row_to_event(row) == event


def test_a_failed_completion_stores_its_status_by_name_and_its_failure_as_plain_json() -> None:
    event = ExecutionCompletedEvent(
        event_id=3,
        orchestration_status=OrchestrationRuntimeStatus.Failed,
        failure_details=FailureDetails("ValueError", "bad", inner_failure=FailureDetails("KeyError", "k")),
        timestamp=T0,
    )

    row = event_to_row(event, execution_id="e1")

    assert row["OrchestrationStatus"] == "Failed"
    assert json.loads(str(row["FailureDetails"]), object_pairs_hook=list) == [
        ("ErrorType", "ValueError"),
        ("ErrorMessage", "bad"),
        ("StackTrace", None),
        ("InnerFailure", [("ErrorType", "KeyError"), ("ErrorMessage", "k"), ("StackTrace", None),
                          ("InnerFailure", None), ("IsNonRetriable", False), ("Properties", None)]),
        ("IsNonRetriable", False),
        ("Properties", None),
    ]  # fmt: skip


def test_continue_as_new_has_its_own_event_type_name() -> None:
    row = event_to_row(ContinueAsNewEvent(result='"again"', timestamp=T0), execution_id="e1")

    assert (row["EventType"], row["OrchestrationStatus"], row["Result"]) == (
        "ContinueAsNew",
        "ContinuedAsNew",
        '"again"',
    )


def test_every_timestamp_is_written_in_utc_with_its_extra_tick() -> None:
    fired = TimerFiredEvent(
        timer_id=1,
        fire_at=DotNetDateTime(2024, 1, 1, 9, 0, 0, 5, timezone(timedelta(hours=9)), extra_ticks=7),
        timestamp=datetime(2024, 1, 1, 0, 0),  # naive: taken as UTC
    )

    row = event_to_row(fired, execution_id="e1")

    assert row["FireAt"] == datetime(2024, 1, 1, 0, 0, 0, 5, timezone.utc)
    assert extra_ticks(row["FireAt"]) == 7  # type: ignore[arg-type]
    assert row["_Timestamp"] == T0


def test_the_trace_context_start_time_keeps_its_offset_form_inside_json() -> None:
    trace = DistributedTraceContext("00-abc-def-01", activity_start_time=T0)
    row = event_to_row(TaskScheduledEvent(name="a", parent_trace_context=trace, timestamp=T0), execution_id="e")

    assert row["ParentTraceContext"] == (
        '{"TraceParent":"00-abc-def-01","TraceState":null,"Id":null,"SpanId":null,'
        '"ActivityStartTime":"2024-01-01T00:00:00+00:00"}'
    )


class ServiceDatetime(datetime):
    """Like azure-data-tables' TablesEntityDatetime: the service's own 7-digit text rides along."""

    tables_service_value = "2023-03-24T20:53:05.9093518Z"


def test_reading_ignores_keys_and_metadata_and_keeps_the_service_tick() -> None:
    row = {
        "PartitionKey": "abc",
        "RowKey": "0000000000000000",
        "Timestamp": datetime(2025, 1, 1, tzinfo=timezone.utc),
        "etag": "W/\"datetime'2025'\"",
        "odata.metadata": "x",
        "EventType": "OrchestratorStarted",
        "EventId": -1,
        "IsPlayed": True,
        "_Timestamp": ServiceDatetime(2023, 3, 24, 20, 53, 5, 909351, tzinfo=timezone.utc),
        "ExecutionId": "e1",
        "InputBlobName": "abc/history-...-Input.json.gz",
    }

    event = row_to_event(row)

    assert event == OrchestratorStartedEvent(
        is_played=True, timestamp=datetime(2023, 3, 24, 20, 53, 5, 909351, timezone.utc)
    )
    assert extra_ticks(event.timestamp) == 8
    assert type(event.timestamp) is DotNetDateTime


def test_a_missing_column_reads_as_null_or_the_default() -> None:
    row = {"EventType": "TaskCompleted", "TaskScheduledId": 2, "_Timestamp": T0}

    assert row_to_event(row) == TaskCompletedEvent(task_scheduled_id=2, timestamp=T0)


def test_datetimes_given_as_text_are_read_too() -> None:
    row = {"EventType": "TimerFired", "TimerId": 0, "FireAt": "2024-01-01T00:00:00.0000001Z", "_Timestamp": T0}

    assert extra_ticks(row_to_event(row).fire_at) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"EventType": "Bogus"}, "EventType 'Bogus' is not the name of a history event class"),
        ({"EventType": "ExecutionFailed"}, "EventType 'ExecutionFailed'"),
        ({"EventType": 4}, "EventType 4 is not"),
        ({"EventId": "3"}, "column EventId: '3' is invalid: must be a 32-bit integer"),
        ({"TaskScheduledId": None}, "required column 'TaskScheduledId' is missing or null"),
        ({"_Timestamp": 17}, "column _Timestamp: 17 is invalid: must be a string"),
        ({"_Timestamp": "yesterday"}, "'yesterday' is invalid"),
        ({"IsPlayed": 1}, "column IsPlayed: 1 is invalid: must be true or false"),
    ],
)
def test_a_corrupt_row_is_refused_naming_the_column_and_value(columns: dict[str, object], message: str) -> None:
    row: dict[str, object] = {"PartitionKey": "abc", "RowKey": "0000000000000001", "EventType": "TaskCompleted"}
    row |= {"TaskScheduledId": 0, "_Timestamp": T0, **columns}

    with pytest.raises(MessageFormatError, match=message) as caught:
        row_to_event(row)
    if "EventType" not in columns:
        assert "History row 'abc'/'0000000000000001'" in str(caught.value)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"OrchestrationInstance": "null"}, "required column 'OrchestrationInstance' is missing or null"),
        ({"OrchestrationInstance": "{not json"}, "is not valid JSON"),
        ({"OrchestrationInstance": '{"InstanceId":5}'}, r"OrchestrationInstance.InstanceId: 5 is invalid"),
        ({"Tags": '{"a":1}'}, r"Tags.a: 1 is invalid: must be a string"),
        ({"Tags": "[" * 5000 + "]" * 5000}, "nested too deeply"),
    ],
)
def test_a_corrupt_json_column_is_refused(columns: dict[str, object], message: str) -> None:
    row: dict[str, object] = {"EventType": "ExecutionStarted", "Name": "o", "_Timestamp": T0}
    row |= {"OrchestrationInstance": '{"InstanceId":"i","ExecutionId":"e"}', **columns}

    with pytest.raises(MessageFormatError, match=message):
        row_to_event(row)


def test_the_offload_candidates_are_the_dotnet_list() -> None:
    # storage-layout.md §2.3, in the order of ATS CompressLargeMessageAsync.
    assert LARGE_PROPERTY_COLUMNS == (
        "Name", "Input", "Result", "Output", "Reason", "Details", "Correlation", "FailureDetails", "Tags",
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(events(zones=st.just(timezone.utc)))
def test_any_utc_event_survives_a_row_and_back(event: HistoryEvent) -> None:
    row = event_to_row(event, execution_id="e1")
    decoded = row_to_event(row)

    assert decoded == event
    assert encode_event(decoded) == encode_event(event)  # also the 7th fractional digit of every DateTime
    assert all(value is not None for value in row.values())
