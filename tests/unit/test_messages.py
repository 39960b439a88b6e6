"""The queue envelope: real .NET messages decode and re-encode unchanged; ours are laid out as a current .NET writer's.

Example files in tests/data/dotnet are real .NET output (tests/data/dotnet/README.md says where each comes from).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from durable_storage._datetimes import extra_ticks
from durable_storage._envelope import (
    MAX_MESSAGE_BYTES,
    MessageData,
    TaskMessage,
    app_lease_id,
    decode_event,
    decode_message,
    encode_event,
    encode_message,
    fnv1a32,
    large_message_blob_name,
    large_message_wrapper,
    needs_blob,
    partition_of,
)
from durable_storage.errors import MessageFormatError
from durable_storage.history import (
    ContinueAsNewEvent,
    EventRaisedEvent,
    EventSentEvent,
    ExecutionCompletedEvent,
    ExecutionResumedEvent,
    ExecutionRewoundEvent,
    ExecutionStartedEvent,
    ExecutionSuspendedEvent,
    ExecutionTerminatedEvent,
    FailureDetails,
    GenericEvent,
    HistoryEvent,
    HistoryStateEvent,
    OrchestrationInstance,
    OrchestratorCompletedEvent,
    OrchestratorStartedEvent,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceCreatedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)
from tests.strategies import events, messages

DATA = Path(__file__).resolve().parents[1] / "data" / "dotnet"
CORE_DICTIONARY = (
    "System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],"
    "[System.String, System.Private.CoreLib]]"
)
OBJECT_DICTIONARY = CORE_DICTIONARY.replace(
    "[System.String, System.Private.CoreLib]]", "[System.Object, System.Private.CoreLib]]"
)


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def ordered(text: str) -> Any:
    """Parsed JSON that also compares member order: every object becomes a list of (name, value) pairs."""
    return json.loads(text, object_pairs_hook=list)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[arg-type, misc]


# --- real .NET messages --------------------------------------------------------------------------------------------

MESSAGE_FILES = [
    "messagedata-executionstarted-client-corelib.json",
    "messagedata-executionstarted-client-mscorlib.json",
    "messagedata-taskscheduled-workitem-df2.9.3.json",
    "messagedata-timerfired-datacontract-mode.json",
]


@pytest.mark.parametrize("name", MESSAGE_FILES)
def test_a_real_message_re_encodes_to_the_same_json_in_the_same_member_order(name: str) -> None:
    body = read(name)
    assert ordered(encode_message(decode_message(body))) == ordered(body)


@pytest.mark.parametrize("name", MESSAGE_FILES[:2])
def test_a_client_start_message_decodes_to_its_values(name: str) -> None:
    message = decode_message(read(name))

    assert message.activity_id == UUID("5406d369-4369-4673-afae-6671a2fa1e57")
    assert (message.sequence_number, message.episode, message.compressed_blob_name) == (40, None, None)
    assert message.sender == OrchestrationInstance("", "")
    assert message.serializable_trace_context is None
    assert message.task_message is not None
    instance = OrchestrationInstance("2.2-34a2c9d4-306e-4467-8470-a8018b2e4f11", "aae324dcc8f943e490b37ec5e5bbf9da")
    assert message.task_message.orchestration_instance == instance
    assert message.task_message.orchestration_execution_context is None
    assert message.task_message.event == ExecutionStartedEvent(
        orchestration_instance=instance,
        name="OrchestrationName",
        version="2.0",
        input="input",
        tags={"tag1": "tagValue"},
        generation=0,
        timestamp=utc(2023, 3, 24, 20, 53, 5, 909351),
    )
    assert extra_ticks(message.task_message.event.timestamp) == 8  # .9093518: the 7th digit survives


def test_a_durable_functions_work_item_message_decodes_to_its_values() -> None:
    message = decode_message(read("messagedata-taskscheduled-workitem-df2.9.3.json"))

    assert (message.sequence_number, message.episode) == (6, 3)
    assert message.sender == OrchestrationInstance(
        "f71ac761454f41468d9923ac39e9bdbc", "f6ac7180e1ac41498e8afe327ee18518"
    )
    assert message.task_message is not None
    assert message.task_message.orchestration_execution_context is not None
    assert message.task_message.orchestration_execution_context.orchestration_tags == {}
    assert message.task_message.event == TaskScheduledEvent(
        event_id=2,
        name="TestFunction_Activity",
        version="",
        input='["London"]',
        timestamp=utc(2023, 4, 5, 3, 31, 23, 626892),
    )


def test_a_datacontract_mode_timer_message_decodes_to_its_values() -> None:
    message = decode_message(read("messagedata-timerfired-datacontract-mode.json"))

    assert (message.sequence_number, message.episode, message.compressed_blob_name) == (147825, 1, None)
    assert message.serializable_trace_context is not None
    assert message.serializable_trace_context.startswith('{"$id":"1","$type":"DurableTask.Core.W3CTraceContext')
    assert message.task_message is not None
    assert message.task_message.orchestration_instance.instance_id == "8f30203236d34f8ea5eeff5428eb5ee7:20"
    assert message.task_message.event == TimerFiredEvent(
        timer_id=1, fire_at=utc(2024, 3, 14, 19, 0, 5, 56336), timestamp=utc(2024, 3, 14, 16, 0, 5, 128542)
    )


def test_a_2016_assembly_qualified_event_decodes_and_re_encodes_unchanged() -> None:
    text = read("historyevent-executionstarted-assemblyqualified.json")
    event = decode_event(text)

    assert event == ExecutionStartedEvent(
        orchestration_instance=OrchestrationInstance("TestInstance", "eda9e8417d3943c193ac6214481865e7"),
        name="GenerationOrchestration",
        version="V2",
        input="null",
        tags={"versiontag": "sample_value"},
        timestamp=utc(2016, 4, 5, 17, 35, 31, 906203),
    )
    assert ordered(encode_event(event)) == ordered(text)


def test_the_events_of_a_2016_runtime_state_decode_and_re_encode_unchanged() -> None:
    state = json.loads(read("orchestration-runtime-state-assemblyqualified.json"))
    texts = [json.dumps(item) for item in state["Events"] + state["NewEvents"]]
    decoded = [decode_event(text) for text in texts]

    assert [ordered(encode_event(event)) for event in decoded] == [ordered(text) for text in texts]
    started, execution, scheduled, completed = decoded[:4]
    assert started == OrchestratorStartedEvent(timestamp=utc(2016, 4, 5, 17, 18, 44, 585102))
    assert execution == ExecutionStartedEvent(
        orchestration_instance=OrchestrationInstance(
            "b26d0baea1934549b087add7a9dd2b83", "06722b8ac29e49e9962230d474483720"
        ),
        name="FrameworkUnitTests.FunctionalTests+GenerationBasicOrchestration",
        version="",
        input="4",
        is_played=True,
        timestamp=utc(2016, 4, 5, 17, 18, 40, 963200),
    )
    assert scheduled == TaskScheduledEvent(
        event_id=0,
        name="FrameworkUnitTests.FunctionalTests+GenerationBasicTask",
        version="",
        timestamp=utc(2016, 4, 5, 17, 18, 44, 609849),
    )
    assert completed == OrchestratorCompletedEvent(timestamp=utc(2016, 4, 5, 17, 18, 44, 609849))
    assert decoded[4:] == decoded[:4]


# --- what we write -------------------------------------------------------------------------------------------------


def test_a_new_activity_reply_is_laid_out_as_a_current_dotnet_writer_does() -> None:
    instance = OrchestrationInstance("abc", "9f0c")
    message = MessageData(
        activity_id=UUID("5406d369-4369-4673-afae-6671a2fa1e57"),
        task_message=TaskMessage(
            event=TaskCompletedEvent(task_scheduled_id=0, result='"Hello"', timestamp=utc(2024, 1, 1)),
            orchestration_instance=instance,
        ),
        sequence_number=41,
        episode=2,
        sender=instance,
    )

    assert encode_message(message) == (
        '{"$type":"DurableTask.AzureStorage.MessageData","ActivityId":"5406d369-4369-4673-afae-6671a2fa1e57",'
        '"TaskMessage":{"$type":"DurableTask.Core.TaskMessage","Event":{"$type":"DurableTask.Core.History.'
        'TaskCompletedEvent","EventType":5,"TaskScheduledId":0,"Result":"\\"Hello\\"","EventId":-1,"IsPlayed":false,'
        '"Timestamp":"2024-01-01T00:00:00Z"},"SequenceNumber":0,"OrchestrationInstance":{"$type":'
        '"DurableTask.Core.OrchestrationInstance","InstanceId":"abc","ExecutionId":"9f0c"},'
        '"OrchestrationExecutionContext":null},"CompressedBlobName":null,"SequenceNumber":41,"Episode":2,'
        '"Sender":{"InstanceId":"abc","ExecutionId":"9f0c"},"SerializableTraceContext":null}'
    )


def test_a_new_start_message_writes_the_members_older_writers_lacked_and_the_dotnet_core_dictionary_type() -> None:
    started = decode_message(read("messagedata-executionstarted-client-corelib.json"))
    assert started.task_message is not None
    fresh_event = replace(started.task_message.event, _source=None)
    fresh = replace(started, _source=None, task_message=replace(started.task_message, event=fresh_event, _source=None))

    event = json.loads(encode_message(fresh))["TaskMessage"]["Event"]

    assert list(event) == [
        "$type", "OrchestrationInstance", "EventType", "ParentInstance", "Name", "Version", "Input", "Tags",
        "Correlation", "ParentTraceContext", "ScheduledStartTime", "Generation", "GenerateNewTrace",
        "EventId", "IsPlayed", "Timestamp",
    ]  # fmt: skip
    assert event["Tags"] == {"$type": CORE_DICTIONARY, "tag1": "tagValue"}
    assert (event["ParentTraceContext"], event["GenerateNewTrace"]) == (None, False)


def test_a_client_message_leaves_out_episode_and_sender() -> None:
    body = encode_message(MessageData(activity_id=UUID(int=1)))

    assert list(json.loads(body)) == [
        "$type", "ActivityId", "TaskMessage", "CompressedBlobName", "SequenceNumber", "SerializableTraceContext",
    ]  # fmt: skip


def test_failure_details_nest_with_their_own_type_names_and_the_object_dictionary_type() -> None:
    inner = FailureDetails("KeyError", "k", properties={"code": 7})
    event = TaskFailedEvent(
        task_scheduled_id=3,
        failure_details=FailureDetails("ValueError", "bad", "trace", inner, is_non_retriable=True),
        timestamp=utc(2024, 1, 1),
    )

    details = json.loads(encode_event(event))["FailureDetails"]

    assert details == {
        "$type": "DurableTask.Core.FailureDetails",
        "ErrorType": "ValueError",
        "ErrorMessage": "bad",
        "StackTrace": "trace",
        "InnerFailure": {
            "$type": "DurableTask.Core.FailureDetails",
            "ErrorType": "KeyError",
            "ErrorMessage": "k",
            "StackTrace": None,
            "InnerFailure": None,
            "IsNonRetriable": False,
            "Properties": {"$type": OBJECT_DICTIONARY, "code": 7},
        },
        "IsNonRetriable": True,
        "Properties": None,
    }


# history-event-fields.md §3: .NET fields, EventType, the class's own properties, then EventId, IsPlayed, Timestamp.
MEMBER_ORDER = {
    ExecutionCompletedEvent: "EventType OrchestrationStatus Result FailureDetails",
    ContinueAsNewEvent: "EventType OrchestrationStatus Result FailureDetails",
    ExecutionTerminatedEvent: "EventType Input",
    TaskScheduledEvent: "EventType Name Version Input ParentTraceContext Tags",
    TaskCompletedEvent: "EventType TaskScheduledId Result",
    TaskFailedEvent: "EventType TaskScheduledId Reason Details FailureDetails",
    SubOrchestrationInstanceCreatedEvent: "EventType Name Version InstanceId Input ClientSpanId Tags",
    SubOrchestrationInstanceCompletedEvent: "EventType TaskScheduledId Result",
    SubOrchestrationInstanceFailedEvent: "EventType TaskScheduledId Reason Details FailureDetails",
    TimerCreatedEvent: "EventType FireAt",
    TimerFiredEvent: "EventType TimerId FireAt",
    OrchestratorStartedEvent: "EventType",
    OrchestratorCompletedEvent: "EventType",
    EventSentEvent: "EventType InstanceId Name Input",
    EventRaisedEvent: "EventType Name Input ParentTraceContext",
    GenericEvent: "Data EventType",
    HistoryStateEvent: "EventType State",
    ExecutionSuspendedEvent: "EventType Reason",
    ExecutionResumedEvent: "EventType Reason",
    ExecutionRewoundEvent: "EventType Reason ParentExecutionId InstanceId ParentTraceContext",
}


@pytest.mark.parametrize("cls", MEMBER_ORDER, ids=lambda cls: cls.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_each_event_class_writes_its_members_in_dotnet_order(cls: type[HistoryEvent], data: st.DataObject) -> None:
    event = data.draw(events(classes=[cls]))
    members = list(json.loads(encode_event(event)))

    assert members == ["$type", *MEMBER_ORDER[cls].split(), "EventId", "IsPlayed", "Timestamp"]
    assert json.loads(encode_event(event))["$type"] == f"DurableTask.Core.History.{cls.__name__}"


# --- what a decoded message remembers ------------------------------------------------------------------------------


def test_members_from_a_newer_writer_survive_decode_and_encode_in_place() -> None:
    body = json.loads(read("messagedata-executionstarted-client-corelib.json"))
    body["FutureEnvelopeMember"] = {"x": [1, 2]}
    event = body["TaskMessage"]["Event"]
    body["TaskMessage"]["Event"] = {**dict(list(event.items())[:3]), "FutureFlag": True, **event}
    text = json.dumps(body)

    assert ordered(encode_message(decode_message(text))) == ordered(text)


def test_a_changed_value_keeps_the_source_layout() -> None:
    message = decode_message(read("messagedata-timerfired-datacontract-mode.json"))
    assert message.task_message is not None
    later = replace(message.task_message.event, is_played=True)
    changed = replace(message, sequence_number=7, task_message=replace(message.task_message, event=later))

    written = json.loads(encode_message(changed))

    assert written["SequenceNumber"] == 7
    assert list(written["TaskMessage"]["Event"].items())[:4] == [
        ("__type", "TimerFiredEvent:#DurableTask.Core.History"),
        ("EventId", -1),
        ("EventType", 11),
        ("IsPlayed", True),
    ]


def test_a_new_event_in_a_decoded_message_gets_its_own_current_layout() -> None:
    message = decode_message(read("messagedata-timerfired-datacontract-mode.json"))
    assert message.task_message is not None
    completed = TaskCompletedEvent(task_scheduled_id=1, timestamp=utc(2024, 1, 1))

    written = json.loads(encode_message(replace(message, task_message=replace(message.task_message, event=completed))))

    assert written["TaskMessage"]["Event"]["$type"] == "DurableTask.Core.History.TaskCompletedEvent"
    assert "__type" not in written["TaskMessage"]["Event"]


def test_the_source_layout_takes_no_part_in_equality_or_repr() -> None:
    body = read("messagedata-taskscheduled-workitem-df2.9.3.json")
    decoded = decode_message(body)
    fresh = decode_message(encode_message(replace(decoded, _source=None)))

    assert fresh == decoded
    assert "_source" not in repr(decoded)


# --- refusals ------------------------------------------------------------------------------------------------------


def corelib_message() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(read("messagedata-executionstarted-client-corelib.json"))
    return loaded


@pytest.mark.parametrize(
    ("path", "type_name"),
    [
        ((), "System.Windows.Data.ObjectDataProvider, PresentationFramework"),
        (("TaskMessage",), "DurableTask.AzureStorage.MessageData"),
        (("TaskMessage", "Event"), "DurableTask.Core.History.RandomEvent, DurableTask.Core"),
        (("TaskMessage", "Event", "OrchestrationInstance"), "DurableTask.Core.ParentInstance"),
        (("TaskMessage", "Event", "Tags"), "System.Collections.Generic.SortedSet`1[[System.String, mscorlib]]"),
    ],
)
def test_a_type_name_outside_the_closed_set_is_refused_by_name(path: tuple[str, ...], type_name: str) -> None:
    body = corelib_message()
    target = body
    for key in path:
        target = target[key]
    target["$type"] = type_name

    with pytest.raises(MessageFormatError, match="is not accepted here") as caught:
        decode_message(json.dumps(body))
    assert type_name in str(caught.value)


ID = '{"ActivityId":"5406d369-4369-4673-afae-6671a2fa1e57"'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"$type":"DurableTask.AzureStorage.MessageData",', "not valid JSON"),
        ('{"a":' + "[" * 30000 + "]" * 30000 + "}", "nested too deeply"),
        (ID + ',"SequenceNumber":1' + "0" * 5000 + "}", "not valid JSON: Exceeds the limit"),
        (ID + ',"SequenceNumber":NaN}', "not valid JSON: NaN is not a number .NET can read"),
        (ID + ',"CompressedBlobName":"\\ud800"}', "lone surrogate"),
        (ID + ',"SequenceNumber":9223372036854775808}', "9223372036854775808 is invalid: must be a 64-bit integer"),
        ('{"ActivityId":"not-a-guid"}', "'not-a-guid' is not a GUID"),
        ('{"SequenceNumber":1}', "'ActivityId' is missing"),
        (ID + ',"TaskMessage":[]}', "MessageData.TaskMessage: expected a JSON object, got list"),
        (ID + ',"SequenceNumber":null}', "MessageData.SequenceNumber is null"),
        ("not base64!", "neither JSON nor base64"),
        (base64.b64encode(b"\xff{}").decode(), "neither JSON nor base64"),
        (base64.b64encode(b"[1, 2]").decode(), "expected a JSON object, got list"),
        ("{" + " " * 70000 + "}", "more than the 65536 allowed"),
    ],
    ids=[
        "corrupt", "deep", "huge-int", "nan", "lone-surrogate", "int64-overflow", "bad-guid", "missing-member",
        "non-object", "null-member", "bad-base64", "bad-utf8", "base64-non-object", "too-long",
    ],
)  # fmt: skip
def test_an_undecodable_body_is_refused_with_a_message_naming_the_problem(body: str, message: str) -> None:
    with pytest.raises(MessageFormatError, match=message):
        decode_message(body)


def test_a_mistyped_event_member_is_named_with_its_path_and_value() -> None:
    body = corelib_message()
    body["TaskMessage"]["Event"]["EventId"] = "2"

    with pytest.raises(MessageFormatError, match=r"MessageData.TaskMessage.Event.EventId: '2' is invalid: must be a"):
        decode_message(json.dumps(body))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('{"EventType":11,"TimerId":1,"Timestamp":"2024-01-01T00:00:00Z"}', "'FireAt' is missing"),
        ('{"$type":"DurableTask.Core.History.TimerFiredEvent","EventType":5}', "EventType 5 .* contradicts"),
        ('{"EventType":2,"Timestamp":"2024-01-01T00:00:00Z"}', r"EventType 2 \(ExecutionFailed\) has no event class"),
        ('{"EventType":99}', "EventType 99 is unknown"),
        ('{"Timestamp":"2024-01-01T00:00:00Z"}', "neither a type hint nor an EventType"),
        ('{"EventType":12,"Timestamp":"2024-13-01T00:00:00Z"}', "month must be in 1..12"),
        ('{"EventType":12,"Timestamp":"2024-01-01 00:00:00"}', "'2024-01-01 00:00:00' is invalid"),
        ('{"EventType":1,"OrchestrationStatus":9,"Timestamp":"2024-01-01T00:00:00Z"}', "status number 9 is unknown"),
        ("[1]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
    ],
)
def test_an_undecodable_event_is_refused_with_a_message_naming_the_problem(event: str, message: str) -> None:
    with pytest.raises(MessageFormatError, match=message):
        decode_event(event)


def test_failure_details_nested_deeper_than_python_can_recurse_are_refused() -> None:
    details = "null"
    for _ in range(600):
        details = '{"ErrorType":"E","ErrorMessage":"m","InnerFailure":' + details + "}"
    event = '{"EventType":6,"TaskScheduledId":0,"Timestamp":"2024-01-01T00:00:00Z","FailureDetails":' + details + "}"

    with pytest.raises(MessageFormatError, match="nested too deeply"):
        decode_event(event, max_chars=len(event))


@pytest.mark.parametrize(
    ("details", "message"),
    [
        (FailureDetails("E", "m", properties={"ratio": float("nan")}), "NaN"),
        (FailureDetails("E", "bad \ud800 text"), "lone surrogate '\\\\ud800'"),
    ],
)
def test_a_value_dotnet_cannot_read_is_refused_on_write(details: FailureDetails, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_event(TaskFailedEvent(task_scheduled_id=0, failure_details=details, timestamp=utc(2024, 1, 1)))


# --- body encodings and large messages (storage-layout.md §3.2, §3.4) ----------------------------------------------


def test_a_base64_body_decodes_like_the_json_it_holds() -> None:
    body = read("messagedata-taskscheduled-workitem-df2.9.3.json")
    message = decode_message(body)
    encoded = encode_message(message, base64_body=True)

    assert decode_message(encoded) == message
    assert base64.b64decode(encoded).decode("utf-8") == encode_message(message)


def test_a_body_over_45_kib_of_utf8_needs_a_blob() -> None:
    assert not needs_blob("x" * MAX_MESSAGE_BYTES)
    assert needs_blob("x" * (MAX_MESSAGE_BYTES + 1))
    assert needs_blob("é" * (MAX_MESSAGE_BYTES // 2 + 1))  # two UTF-8 bytes each


def test_a_large_message_goes_to_a_blob_named_after_instance_activity_and_event_type() -> None:
    message = decode_message(read("messagedata-executionstarted-client-corelib.json"))
    name = large_message_blob_name(message)

    assert name == (
        "2.2-34a2c9d4-306e-4467-8470-a8018b2e4f11/message-5406d36943694673afae6671a2fa1e57-ExecutionStarted.json.gz"
    )
    assert encode_message(large_message_wrapper(name)) == (
        '{"$type":"DurableTask.AzureStorage.MessageData","ActivityId":"00000000-0000-0000-0000-000000000000",'
        f'"TaskMessage":null,"CompressedBlobName":"{name}","SequenceNumber":0,"SerializableTraceContext":null}}'
    )
    with pytest.raises(ValueError, match="has no TaskMessage"):
        large_message_blob_name(large_message_wrapper(name))


# --- routing (storage-layout.md §3.3, fnv1a-vectors.json) ----------------------------------------------------------

VECTORS = json.loads(read("fnv1a-vectors.json"))


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda vector: repr(vector["instanceId"]))
def test_an_instance_id_hashes_and_routes_as_dotnet_does(vector: dict[str, Any]) -> None:
    instance_id = vector["instanceId"]

    assert fnv1a32(instance_id) == vector["hashDecimal"] == int(vector["hash"], 16)
    assert partition_of(instance_id, 4) == vector["partitionOf4"]
    assert partition_of(instance_id, 16) == vector["partitionOf16"]


@pytest.mark.parametrize("vector", VECTORS["appLeaseIdVectors"]["vectors"], ids=lambda vector: vector["appName"])
def test_an_app_name_gives_the_dotnet_app_lease_id(vector: dict[str, Any]) -> None:
    assert app_lease_id(vector["appName"]) == vector["appLeaseId"]


def test_a_partition_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="partition count 0 is invalid"):
        partition_of("a", 0)


# --- properties ----------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(messages())
def test_any_message_survives_encode_and_decode(message: MessageData) -> None:
    body = encode_message(message)
    decoded = decode_message(body, max_chars=len(body))

    assert decoded == message
    assert encode_message(decoded) == body  # also compares the 7th fractional digit of every DateTime


@settings(max_examples=300, deadline=None)
@given(events())
def test_any_event_survives_encode_and_decode(event: HistoryEvent) -> None:
    text = encode_event(event)
    decoded = decode_event(text)

    assert decoded == event
    assert encode_event(decoded) == text
