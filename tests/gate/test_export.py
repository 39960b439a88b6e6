"""The export format: every kind of event survives the trip to JSON and back, and bad files say what is wrong."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from durable_storage.client._status import event_to_json
from durable_storage.errors import MessageFormatError
from durable_storage.gate import EXPORT_FORMAT, ExportedHistory, event_from_json, read_exports, write_exports
from durable_storage.history import FailureDetails
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.testing import HistoryBuilder

T = datetime(2024, 1, 1, 8, tzinfo=timezone.utc)


def every_kind() -> HistoryBuilder:
    h = HistoryBuilder("x/1", execution_id="e1").started("o", input={"n": 1}, parent=("parent", "pe", 4))
    h.activity_completed("a", [1, 2]).activity_failed("b", "boom", "trace", error_type="ValueError")
    h.timer_fired(fire_at=T).sub_orchestration_completed("child", {"ok": True}, instance_id="kid")
    h.sub_orchestration_failed("child", "child failed").event_sent("@counter@k", "op", '{"op":"add"}')
    h.event_raised("go", "data").suspended("pause").resumed("go on").terminated("enough")
    failure = FailureDetails(error_type="E", error_message="m", stack_trace="s", properties={"k": 1})
    return h.execution_completed(status=OrchestrationRuntimeStatus.Failed, failure=failure)


def exported(history: HistoryBuilder) -> ExportedHistory:
    return ExportedHistory(
        instance_id=history.instance_id,
        execution_id=history.execution_id,
        name="o",
        runtime_status="Failed",
        input='{"n": 1}',
        events=tuple(history.events),
    )


def test_every_kind_of_event_round_trips_through_the_get_history_shape() -> None:
    events = every_kind().events

    assert [event_from_json(json.loads(json.dumps(event_to_json(e)))) for e in events] == events


def test_a_file_of_one_or_several_exports_reads_back_equal() -> None:
    one = exported(every_kind())
    two = ExportedHistory("y", None, None, None, None, ())

    assert read_exports(write_exports([one])) == [one]
    assert read_exports(write_exports([one, two])) == [one, two]
    assert json.loads(write_exports([one]))["format"] == EXPORT_FORMAT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not valid JSON"),
        ('{"format": "v0"}', "format 'v0': must be 'durable-storage-history/1'"),
        (f'{{"format": "{EXPORT_FORMAT}", "history": []}}', "instance_id None: must be a non-empty string"),
        (f'{{"format": "{EXPORT_FORMAT}", "instance_id": "i", "history": {{}}}}', "history dict: must be a list"),
        (
            f'{{"format": "{EXPORT_FORMAT}", "instance_id": "i", "history": [{{"EventType": "Nope"}}]}}',
            "export history\\[0\\]: EventType 'Nope' is unknown: must be one of ExecutionStarted",
        ),
        (
            f'[{{"format": "{EXPORT_FORMAT}", "instance_id": "i", "history": ['
            '{"EventType": "ExecutionCompleted", "OrchestrationStatus": "Done", "Timestamp": "2024-01-01T00:00:00Z"}'
            "]}]",
            "export\\[0\\] history\\[0\\]: OrchestrationStatus 'Done' is unknown: must be one of Running",
        ),
    ],
)
def test_a_bad_export_names_the_document_the_event_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(MessageFormatError, match=message):
        read_exports(text)
