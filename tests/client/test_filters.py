"""The OData filters of instance queries, rewind and repair, against every vector of odata-filters.json.

The vectors are the exact strings .NET's tests assert (``origin: test``) or that its code builds (``derived``):
conditions and-ed, each in parentheses when there are several, ``'`` doubled inside quotes, DateTimes in the
round-trip ``O`` format, instance IDs escaped before they are quoted (storage-layout.md §9.3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from durable_storage._datetimes import DotNetDateTime
from durable_storage.client._queries import (
    InstanceQuery,
    all_of,
    any_of,
    column_equals,
    completed_rows_filter,
    failed_rows_filter,
    odata_datetime,
    orchestrator_started_filter,
    partition_key_equals,
    partition_key_greater_or_equal,
    partition_key_less_than,
    scheduling_row_filter,
)
from durable_storage.history import EventType
from durable_storage.models import OrchestrationRuntimeStatus as Status

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "dotnet" / "odata-filters.json").read_text("utf-8"))


def dotnet_time(text: str | None) -> datetime | None:
    """'2018-01-10T10:10:10Z (Kind=Utc)' → an aware datetime; 'default(DateTime)' and null → no condition."""
    if text is None or text == "default(DateTime)":
        return None
    return datetime.fromisoformat(text.split(" ")[0].replace("Z", "+00:00"))


def instance_query(condition: dict[str, Any]) -> InstanceQuery:
    if "Parse(createdTimeFrom, createdTimeTo, runtimeStatus)" in condition:
        start, end, statuses = condition["Parse(createdTimeFrom, createdTimeTo, runtimeStatus)"]
        condition = {"CreatedTimeFrom": start, "CreatedTimeTo": end, "RuntimeStatus": statuses}
    return InstanceQuery(
        created_time_from=dotnet_time(condition.get("CreatedTimeFrom")),
        created_time_to=dotnet_time(condition.get("CreatedTimeTo")),
        runtime_status=[Status[name] for name in condition.get("RuntimeStatus", [])],
        task_hub_names=condition.get("TaskHubNames", []),
        instance_id_prefix=condition.get("InstanceIdPrefix"),
        instance_id=condition.get("InstanceId"),
    )


def built(case: dict[str, Any]) -> str | None:
    """What our builder writes for one .NET test case."""
    condition = case["condition"]
    test = case["test"]
    if test == "PartitionKeyEquals":
        return partition_key_equals(condition["unsanitizedInstanceId"])
    if test == "ColumnEquals":
        return column_equals(condition["column"], condition["value"])
    if test == "PartitionKeyGreaterOrEqual":
        return partition_key_greater_or_equal(condition["sanitizedPartitionKey"])
    if test == "PartitionKeyLessThan":
        return partition_key_less_than(condition["sanitizedPartitionKey"])
    return instance_query(condition).to_filter()


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["test"])
def test_every_dotnet_case_gives_the_exact_filter(case: dict[str, Any]) -> None:
    assert built(case) == case["filter"]


def test_the_tracking_store_template_with_times_of_now() -> None:
    # The .NET test formats DateTime.UtcNow with "O": 7 fractional digits, then Z.
    (template,) = VECTORS["templates"]
    start = datetime.now(timezone.utc)
    end = start + timedelta(hours=1, microseconds=7)
    query = InstanceQuery(
        created_time_from=start, created_time_to=end, runtime_status=[Status.Running, Status.Completed, Status.Failed]
    )

    expected = (
        template["template"]
        .replace("{from:O}", f"{start:%Y-%m-%dT%H:%M:%S.%f}0Z")
        .replace("{to:O}", f"{end:%Y-%m-%dT%H:%M:%S.%f}0Z")
    )
    assert query.to_filter() == expected


DERIVED: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "AzureTableTrackingStore.GetHistoryEntitiesResponseInfoAsync (history read, no expected execution)": lambda e: (
        all_of(partition_key_equals(e["instanceId"]))
    ),
    "AzureTableTrackingStore.GetHistoryEntitiesResponseInfoAsync (history read with expected execution)": lambda e: (
        all_of(
            partition_key_equals(e["instanceId"]),
            any_of(column_equals("RowKey", "sentinel"), column_equals("ExecutionId", e["expectedExecutionId"])),
        )
    ),
    "AzureTableTrackingStore rewind: OrchestratorStarted rows": lambda e: orchestrator_started_filter(e["instanceId"]),
    "AzureTableTrackingStore rewind: failed rows of one execution": lambda e: failed_rows_filter(
        e["instanceId"], e["executionId"]
    ),
    "AzureTableTrackingStore rewind: the scheduling row of a failed task": lambda e: scheduling_row_filter(
        e["instanceId"], e["executionId"], e["taskScheduledId"], EventType.TaskScheduled
    ),
    "AzureTableTrackingStore purge of one instance (Instances row lookup)": lambda e: all_of(
        partition_key_equals(e["instanceId"]), column_equals("RowKey", "")
    ),
    "AzureTableTrackingStore output/input repair lookups": lambda e: completed_rows_filter(
        e["instanceId"], e["executionId"]
    ),
    "OrchestrationInstanceStatusQueryCondition with ExcludeEntities=true and no prefix": lambda e: InstanceQuery(
        exclude_entities=True
    ).to_filter(),
}


@pytest.mark.parametrize("vector", VECTORS["derivedFromSource"], ids=lambda vector: vector["where"])
def test_every_filter_derived_from_the_dotnet_code(vector: dict[str, Any]) -> None:
    assert DERIVED[vector["where"]](vector["example"]) == vector["filter"]


def test_the_sub_orchestration_variant_of_the_scheduling_row_filter() -> None:
    assert scheduling_row_filter("abc", "9f0c", 3, EventType.SubOrchestrationInstanceCreated) == (
        "PartitionKey eq 'abc' and ExecutionId eq '9f0c' and EventId eq 3 and "
        "EventType eq 'SubOrchestrationInstanceCreated'"
    )


def test_excluding_entities_is_one_condition_among_others_and_a_prefix_overrides_it() -> None:
    with_status = InstanceQuery(runtime_status=[Status.Running], exclude_entities=True)
    with_prefix = InstanceQuery(instance_id_prefix="@counter@", exclude_entities=True)

    assert with_status.to_filter() == "(RuntimeStatus eq 'Running') and (PartitionKey lt '@' or PartitionKey ge 'A')"
    assert with_prefix.to_filter() == "(PartitionKey ge '@counter@') and (PartitionKey lt '@counterA')"


def test_a_prefix_is_escaped_like_a_key_before_the_range_is_taken() -> None:
    query = InstanceQuery(instance_id_prefix="orders/7#")

    assert query.to_filter() == "(PartitionKey ge 'orders^07^2') and (PartitionKey lt 'orders^07^3')"


def test_times_are_converted_to_utc_and_keep_the_seventh_digit() -> None:
    plus_two = timezone(timedelta(hours=2))
    ticked = DotNetDateTime(2018, 1, 10, 10, 10, 10, 123456, timezone.utc, extra_ticks=7)

    assert (
        odata_datetime(datetime(2018, 1, 10, 12, 10, 10, tzinfo=plus_two)) == "datetime'2018-01-10T10:10:10.0000000Z'"
    )
    assert odata_datetime(ticked) == "datetime'2018-01-10T10:10:10.1234567Z'"


def test_times_outside_the_table_range_are_moved_into_it_and_years_keep_four_digits() -> None:
    # No stored time lies outside 1601-9999 UTC; a lower bound at its start is no condition, as .NET's MinValue.
    ancient, underflow = (
        datetime(999, 1, 1, tzinfo=timezone.utc),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    )

    assert InstanceQuery(created_time_from=ancient).to_filter() is None
    assert InstanceQuery(created_time_from=underflow, runtime_status=[Status.Failed]).to_filter() == (
        "RuntimeStatus eq 'Failed'"
    )
    assert InstanceQuery(created_time_to=ancient).to_filter() == "CreatedTime le datetime'1601-01-01T00:00:00.0000000Z'"
    assert InstanceQuery(created_time_from=datetime(1601, 1, 1, 0, 0, 1, tzinfo=timezone.utc)).to_filter() == (
        "CreatedTime ge datetime'1601-01-01T00:00:01.0000000Z'"
    )
    assert odata_datetime(ancient) == "datetime'0999-01-01T00:00:00.0000000Z'"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a\ud7ff", "(PartitionKey ge 'a\ud7ff') and (PartitionKey lt 'a\ue000')"),
        ("a\uffff", "(PartitionKey ge 'a\uffff') and (PartitionKey lt 'b')"),
        ("a\U0010ffff\uffff", "(PartitionKey ge 'a\U0010ffff\uffff') and (PartitionKey lt 'b')"),
        ("\U0010ffff", "PartitionKey ge '\U0010ffff'"),
        ("a\U0001f600", "(PartitionKey ge 'a\U0001f600') and (PartitionKey lt 'a\U0001f601')"),
    ],
    ids=["U+D7FF", "U+FFFF", "U+10FFFF", "only U+10FFFF", "emoji"],
)
def test_a_prefix_at_the_top_of_a_unicode_range_gets_a_sendable_upper_bound(prefix: str, expected: str) -> None:
    query = InstanceQuery(instance_id_prefix=prefix)

    assert query.to_filter() == expected
    assert query.admits(prefix + "x") and not query.admits("b")


def test_a_quote_in_an_execution_id_cannot_end_the_literal() -> None:
    assert completed_rows_filter("a'b", "x' or '1'='1") == (
        "PartitionKey eq 'a''b' and ExecutionId eq 'x'' or ''1''=''1' and EventType eq 'ExecutionCompleted'"
    )
