"""The entity wire formats (entity-messages.md §2-§6): member order, omit rules, tolerant reading."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from durable_storage._datetimes import extra_ticks
from durable_storage.entities import (
    EntityStatus,
    ReleaseMessage,
    RequestMessage,
    ResponseMessage,
    SchedulerState,
    scheduled_name,
    scheduled_time_of,
)
from durable_storage.errors import MessageFormatError
from durable_storage.models import EntityId

REQUEST_ID = "0b6d2f0e-3c8e-4d43-9a0f-4f1d2b9c8a11"
NO_TIME = "0001-01-01T00:00:00"
A = EntityId("Counter", "a")
B = EntityId("counter", "b")
DUE = datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=timezone.utc)


def keys(text: str) -> list[str]:
    return list(json.loads(text))


# --- RequestMessage: writing --------------------------------------------------------------------------------------


def test_a_client_signal_is_written_exactly_as_the_illustration_in_section_6() -> None:
    request = RequestMessage(operation="add", id=REQUEST_ID, is_signal=True, input="5")

    assert request.to_json() == (
        '{"op":"add","signal":true,"input":"5","id":"0b6d2f0e-3c8e-4d43-9a0f-4f1d2b9c8a11",'
        '"Timestamp":"0001-01-01T00:00:00","Predecessor":"0001-01-01T00:00:00"}'
    )


def test_a_call_from_an_orchestration_names_parent_and_execution_after_the_id_and_omits_signal_and_input() -> None:
    request = RequestMessage(operation="get", id=REQUEST_ID, parent_instance_id="orch1", parent_execution_id="9f0c")

    text = request.to_json()

    assert keys(text) == ["op", "id", "parent", "parentExecution", "Timestamp", "Predecessor"]
    assert json.loads(text)["parent"] == "orch1" and json.loads(text)["parentExecution"] == "9f0c"


def test_a_lock_request_writes_a_null_op_and_the_lockset_with_lower_cased_names_and_no_pos_while_it_is_0() -> None:
    request = RequestMessage(
        operation=None, id="L1", parent_instance_id="orch1", parent_execution_id="9f0c", lockset=(A, B)
    )

    assert request.to_json() == (
        '{"op":null,"id":"L1","parent":"orch1","parentExecution":"9f0c","Timestamp":"0001-01-01T00:00:00",'
        '"Predecessor":"0001-01-01T00:00:00","lockset":[{"name":"counter","key":"a"},{"name":"counter","key":"b"}]}'
    )
    assert request.is_lock_request


def test_a_forwarded_lock_request_writes_pos_last() -> None:
    request = RequestMessage(operation=None, id="L1", parent_instance_id="orch1", lockset=(A, B)).advanced()

    text = request.to_json()

    assert keys(text) == ["op", "id", "parent", "Timestamp", "Predecessor", "lockset", "pos"]
    assert json.loads(text)["pos"] == 1
    assert request.advanced().position == 2


def test_an_operation_request_is_not_a_lock_request() -> None:
    assert not RequestMessage(operation="add", id="r").is_lock_request


def test_a_scheduled_request_writes_due_in_utc_between_parent_execution_and_timestamp() -> None:
    berlin = DUE.astimezone(timezone(timedelta(hours=2)))
    request = RequestMessage(
        operation="add", id="r", parent_instance_id="o", parent_execution_id="e", scheduled_time=berlin
    )

    text = request.to_json()

    assert keys(text) == ["op", "id", "parent", "parentExecution", "due", "Timestamp", "Predecessor"]
    assert json.loads(text)["due"] == "2024-05-01T10:00:00.5Z"


@pytest.mark.parametrize(
    "request_",
    [
        RequestMessage(operation="add", id="r1", is_signal=True, input="5"),
        RequestMessage(operation="get", id="r2", parent_instance_id="o", parent_execution_id="e"),
        RequestMessage(operation="add", id="r3", input='{"n": [1, 2]}', scheduled_time=DUE),
        RequestMessage(operation=None, id="L1", parent_instance_id="o", parent_execution_id="e", lockset=(A, B)),
        RequestMessage(operation=None, id="L2", parent_instance_id="o", lockset=(A, B), position=1),
    ],
    ids=["signal", "call", "due", "lockset", "pos"],
)
def test_a_request_survives_a_round_trip(request_: RequestMessage) -> None:
    again = RequestMessage.from_json(request_.to_json())

    assert again == request_
    assert again.is_lock_request == request_.is_lock_request
    assert again.to_json() == request_.to_json()


def test_a_round_tripped_lockset_keeps_entity_order_and_keys() -> None:
    again = RequestMessage.from_json(RequestMessage(operation=None, id="L", lockset=(B, A)).to_json())

    assert again.lockset is not None
    assert [str(e) for e in again.lockset] == ["@counter@b", "@counter@a"]


def test_a_round_tripped_due_time_is_aware_utc() -> None:
    again = RequestMessage.from_json(RequestMessage(operation="add", id="r", scheduled_time=DUE).to_json())

    assert again.scheduled_time == DUE
    assert again.scheduled_time is not None and again.scheduled_time.utcoffset() == timedelta(0)


# --- RequestMessage: reading --------------------------------------------------------------------------------------


def test_the_historic_arg_field_is_read_as_the_input() -> None:
    assert RequestMessage.from_json('{"op":"add","arg":"5","id":"r"}').input == "5"


def test_a_non_string_arg_or_input_is_kept_as_json_text() -> None:
    from_arg = RequestMessage.from_json('{"op":"add","arg":{"n":5},"id":"r"}')
    from_input = RequestMessage.from_json('{"op":"add","input":[1,2],"id":"r"}')

    assert from_arg.input is not None and json.loads(from_arg.input) == {"n": 5}
    assert from_input.input is not None and json.loads(from_input.input) == [1, 2]


def test_input_wins_over_arg() -> None:
    assert RequestMessage.from_json('{"op":"add","input":"1","arg":"2","id":"r"}').input == "1"


def test_cores_extra_members_are_ignored() -> None:
    text = (
        '{"op":"get","id":"r","parent":"orch1","parentExecution":"9f0c","Timestamp":"2024-05-01T10:00:00.123Z",'
        '"Predecessor":"0001-01-01T00:00:00","IsLockRequest":false,"createTrace":false}'
    )

    request = RequestMessage.from_json(text)

    assert (request.operation, request.id, request.parent_instance_id, request.parent_execution_id) == (
        "get",
        "r",
        "orch1",
        "9f0c",
    )
    assert not request.is_lock_request and not request.is_signal and request.input is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        (None, "must be a JSON object"),
        ('"op"', "must be a JSON object"),
        ('{"op":"add"}', "has no id"),
        ('{"op":"add","id":""}', "has no id"),
        ('{"op":"add","id":7}', "has no id"),
        ('{"op":null,"id":"L","lockset":[{"name":"counter"}]}', "'key'"),
        ('{"op":null,"id":"L","lockset":["@counter@a"]}', "malformed"),
        ('{"op":null,"id":"L","lockset":[{"name":"","key":"a"}]}', "entity name"),
        ('{"op":"add","id":"r","due":"tomorrow"}', "tomorrow"),
        ('{"op":"add","id":"r","pos":"two"}', "two"),
    ],
)
def test_a_malformed_request_raises_message_format_error_naming_the_problem(text: str | None, named: str) -> None:
    with pytest.raises(MessageFormatError, match="entity request") as caught:
        RequestMessage.from_json(text)

    assert named in str(caught.value)


# --- ResponseMessage and ReleaseMessage --------------------------------------------------------------------------


def test_a_response_is_just_the_result_text() -> None:
    assert ResponseMessage(result="42").to_json() == '{"result":"42"}'
    assert ResponseMessage(result=None).to_json() == '{"result":null}'


def test_a_failure_response_carries_exception_type_and_failure_details() -> None:
    text = ResponseMessage(result='"boom"', error_type="ValueError", error_message="boom").to_json()

    assert keys(text) == ["result", "exceptionType", "failureDetails"]
    assert json.loads(text) == {
        "result": '"boom"',
        "exceptionType": "ValueError",
        "failureDetails": {
            "ErrorType": "ValueError",
            "ErrorMessage": "boom",
            "StackTrace": None,
            "InnerFailure": None,
            "IsNonRetriable": False,
        },
    }


def test_a_release_is_parent_then_id_and_round_trips() -> None:
    release = ReleaseMessage(parent_instance_id="orch1", id="L1")

    assert release.to_json() == '{"parent":"orch1","id":"L1"}'
    assert ReleaseMessage.from_json(release.to_json()) == release


@pytest.mark.parametrize("text", ['{"parent":"orch1"}', '{"id":"L1"}', '{"parent":1,"id":"L1"}', "[]", "{x"])
def test_a_malformed_release_raises_message_format_error(text: str) -> None:
    with pytest.raises(MessageFormatError, match="entity release"):
        ReleaseMessage.from_json(text)


# --- SchedulerState -----------------------------------------------------------------------------------------------


def test_a_scheduler_state_is_written_as_the_ext_illustration() -> None:
    state = SchedulerState(exists=True, state='{"value":5}')

    assert state.to_json() == '{"exists":true,"state":"{\\"value\\":5}","sorter":{}}'


def test_an_empty_scheduler_state_writes_only_the_sorter() -> None:
    assert SchedulerState().to_json() == '{"sorter":{}}'


def test_a_full_scheduler_state_keeps_member_order_and_round_trips() -> None:
    state = SchedulerState(
        exists=True,
        state="7",
        queue=[
            RequestMessage(operation="add", id="q1", input="1", parent_instance_id="o2", parent_execution_id="e2"),
            RequestMessage(operation=None, id="L3", parent_instance_id="o3", lockset=(A, B), position=1),
            RequestMessage(operation="add", id="q2", is_signal=True, input="2", scheduled_time=DUE),
        ],
        locked_by="o1",
        unconfirmed=["op:q1", "release:L0"],
    )

    text = state.to_json()

    assert keys(text) == ["exists", "state", "queue", "lockedBy", "sorter", "unconfirmed"]
    assert SchedulerState.from_json(text) == state


def test_a_core_state_without_exists_exists_when_it_has_a_state() -> None:
    with_state = SchedulerState.from_json('{"state":"5","sorter":{}}')
    without = SchedulerState.from_json('{"lockedBy":"o1","sorter":{}}')

    assert (with_state.exists, with_state.state) == (True, "5")
    assert (without.exists, without.state, without.locked_by) == (False, None, "o1")


def test_an_explicit_exists_wins_over_the_derived_one() -> None:
    assert SchedulerState.from_json('{"exists":true,"sorter":{}}').exists
    assert not SchedulerState.from_json('{"exists":false,"state":"5"}').exists


@pytest.mark.parametrize("text", [None, "null"])
def test_a_missing_input_is_a_new_empty_entity(text: str | None) -> None:
    state = SchedulerState.from_json(text)

    assert state == SchedulerState()
    assert state.is_empty


def test_an_entity_with_state_queue_or_lock_is_not_empty() -> None:
    assert not SchedulerState(exists=True, state="1").is_empty
    assert not SchedulerState(queue=[RequestMessage(operation="x", id="r")]).is_empty
    assert not SchedulerState(locked_by="o").is_empty


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[]", "must be a JSON object"),
        ("{oops", "not JSON"),
        ('{"queue":[{"op":"add"}]}', "has no id"),
        ('{"queue":[{"op":null,"id":"L","lockset":[{"key":"a"}]}]}', "'name'"),
    ],
)
def test_a_malformed_scheduler_state_raises_message_format_error(text: str, named: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        SchedulerState.from_json(text)

    assert named in str(caught.value)


# --- EntityStatus -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (EntityStatus(exists=False), "{}"),
        (EntityStatus(exists=True), '{"entityExists":true}'),
        (EntityStatus(exists=False, queue_size=2), '{"queueSize":2}'),
        (
            EntityStatus(exists=True, queue_size=3, locked_by="o1"),
            '{"entityExists":true,"queueSize":3,"lockedBy":"o1"}',
        ),
    ],
)
def test_entity_status_omits_defaults(status: EntityStatus, text: str) -> None:
    assert status.to_json() == text


# --- scheduled event names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "due",
    [
        datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc),
        datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc),
        datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 5, 1, 10, 0),  # naive: UTC
    ],
)
def test_a_scheduled_name_round_trips_to_the_same_moment_in_utc(due: datetime) -> None:
    name = scheduled_name(due)
    expected = due if due.tzinfo is not None else due.replace(tzinfo=timezone.utc)

    assert name.startswith("op@") and name.endswith("Z")
    again = scheduled_time_of(name)
    assert again == expected
    assert again is not None and again.utcoffset() == timedelta(0)


def test_a_dotnet_scheduled_name_keeps_its_seventh_digit() -> None:
    name = "op@2024-05-01T10:00:00.1234567Z"

    due = scheduled_time_of(name)

    assert due == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert due is not None and extra_ticks(due) == 7
    assert scheduled_name(due) == name


def test_a_scheduled_name_in_another_zone_is_read_in_utc() -> None:
    assert scheduled_time_of("op@2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("due", "name"),
    [
        (datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc), "op@2024-05-01T10:00:00.0000000Z"),
        (datetime(2024, 5, 1, 10, 0, 0, 123400, tzinfo=timezone.utc), "op@2024-05-01T10:00:00.1234000Z"),
    ],
)
def test_a_scheduled_name_uses_seven_fraction_digits_as_dotnet_round_trip_format(due: datetime, name: str) -> None:
    assert scheduled_name(due) == name


@pytest.mark.parametrize(
    "name", [None, "", "op", "release", "op@", "op@tomorrow", "opx2024-05-01T10:00:00Z", REQUEST_ID]
)
def test_other_event_names_have_no_scheduled_time(name: str | None) -> None:
    assert scheduled_time_of(name) is None


def test_a_dotnet_zero_fraction_name_is_read() -> None:
    assert scheduled_time_of("op@2024-05-01T10:00:00.0000000Z") == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
