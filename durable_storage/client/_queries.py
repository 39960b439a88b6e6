"""OData ``$filter`` strings over the Instances and History tables, byte for byte as DurableTask.AzureStorage; pure.

The strings are pinned by .NET's own tests (tests/data/dotnet/odata-filters.json): conditions joined with ``and``,
each in parentheses when there is more than one; values single-quoted with ``'`` doubled, which is the whole
defence against OData injection (durabletask PR #1369); DateTimes in .NET's round-trip ``O`` format inside
``datetime'...'``; statuses by name. Instance IDs are escaped with KeySanitation before they are quoted, because
PartitionKeys hold the escaped form (storage-layout.md §1.3, §9.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from durable_storage._datetimes import STORABLE_MIN, clamp_storable, extra_ticks
from durable_storage._names import escape_key
from durable_storage.history import EventType
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = [
    "InstanceQuery",
    "all_of",
    "any_of",
    "column_equals",
    "completed_rows_filter",
    "failed_rows_filter",
    "odata_datetime",
    "orchestrator_started_filter",
    "partition_key_equals",
    "partition_key_greater_or_equal",
    "partition_key_less_than",
    "quote",
    "scheduling_row_filter",
]

# Entity instance IDs start with '@' ('@name@key'); 'A' is the next character up, so this keeps everything else.
_EXCLUDE_ENTITIES = "PartitionKey lt '@' or PartitionKey ge 'A'"


def quote(value: str) -> str:
    """``value`` as an OData string literal: single quotes around it, and each ``'`` in it doubled."""
    return "'" + value.replace("'", "''") + "'"


def odata_datetime(value: datetime) -> str:
    """``datetime'...'`` in .NET's ``O`` format for a UTC DateTime: always 7 fractional digits and ``Z``.

    ``value`` must be timezone-aware and storable (``_datetimes.is_storable``); it is converted to UTC first.
    """
    utc = value.astimezone(timezone.utc)
    ticks = utc.microsecond * 10 + extra_ticks(value)
    # Not strftime: its %Y drops the leading zeros of a year below 1000 on Linux.
    return f"datetime'{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{ticks:07d}Z'"


def column_equals(column: str, value: str | int) -> str:
    """``{column} eq {value}``: a string is quoted, an integer (such as EventId) is written bare."""
    literal = str(value) if isinstance(value, int) else quote(value)
    return f"{column} eq {literal}"


def partition_key_equals(instance_id: str) -> str:
    """``PartitionKey eq '<escaped id>'`` for a raw instance ID (AzureTableQueryFilter.PartitionKeyEquals)."""
    return column_equals("PartitionKey", escape_key(instance_id))


def partition_key_greater_or_equal(sanitized_key: str) -> str:
    """``PartitionKey ge '<key>'`` for an already escaped key."""
    return f"PartitionKey ge {quote(sanitized_key)}"


def partition_key_less_than(sanitized_key: str) -> str:
    """``PartitionKey lt '<key>'`` for an already escaped key."""
    return f"PartitionKey lt {quote(sanitized_key)}"


def all_of(*conditions: str) -> str:
    """Conditions joined with ``and``, as the tracking store writes History filters (no parentheses added)."""
    return " and ".join(conditions)


def any_of(*conditions: str) -> str:
    """Conditions joined with ``or`` inside parentheses, so the group can be and-ed safely."""
    return "(" + " or ".join(conditions) + ")"


def _next_key(sanitized_prefix: str) -> str | None:
    """A key above every key that starts with the prefix, in code point and in UTF-16 order alike; None if none is.

    .NET increments the last UTF-16 unit, which after U+D7FF gives half a surrogate pair (not sendable) and after
    U+FFFF or U+10FFFF overflows. Here U+D7FF goes to U+E000, and a last U+FFFF or U+10FFFF is dropped and the
    character before it incremented instead. In UTF-16 order such a bound also admits some keys without the prefix
    (a character above U+FFFF after U+D7FF, say), so the rows are checked against the prefix as they come back.
    """
    head = sanitized_prefix.rstrip("\uffff\U0010ffff")
    if not head:
        return None
    last = ord(head[-1])
    return head[:-1] + ("\ue000" if last == 0xD7FF else chr(last + 1))


@dataclass(frozen=True, kw_only=True)
class InstanceQuery:
    """The conditions of an Instances query (.NET ``OrchestrationInstanceStatusQueryCondition``).

    Attributes:
        created_time_from: only instances created at or after this (aware) time.
        created_time_to: only instances created at or before this (aware) time.
        runtime_status: only instances in one of these statuses (empty: any status).
        task_hub_names: only rows whose TaskHubName is one of these (empty: any).
        instance_id_prefix: only instance IDs starting with this (empty: any).
        instance_id: only this instance ID (None: any; ``""`` is a condition too, as in .NET).
        exclude_entities: leave out entity instances (IDs starting with ``@``); ignored with a prefix.
    """

    created_time_from: datetime | None = None
    created_time_to: datetime | None = None
    runtime_status: Sequence[OrchestrationRuntimeStatus] = ()
    task_hub_names: Sequence[str] = ()
    instance_id_prefix: str | None = None
    instance_id: str | None = None
    exclude_entities: bool = False

    def to_filter(self) -> str | None:
        """The ``$filter`` string, or None when there is no condition (an unfiltered query)."""
        conditions: list[str] = []
        # No stored time lies outside the storable range, so a bound moved into it matches the same rows; a lower
        # bound at its start is no condition at all, as .NET leaves out CreatedTimeFrom = DateTime.MinValue.
        if self.created_time_from is not None and clamp_storable(self.created_time_from) > STORABLE_MIN:
            conditions.append(f"CreatedTime ge {odata_datetime(clamp_storable(self.created_time_from))}")
        if self.created_time_to is not None:
            conditions.append(f"CreatedTime le {odata_datetime(clamp_storable(self.created_time_to))}")
        if self.runtime_status:
            conditions.append(" or ".join(column_equals("RuntimeStatus", s.value) for s in self.runtime_status))
        if self.task_hub_names:
            conditions.append(" or ".join(column_equals("TaskHubName", name) for name in self.task_hub_names))
        if self.instance_id_prefix:
            prefix = escape_key(self.instance_id_prefix)
            conditions.append(partition_key_greater_or_equal(prefix))
            upper = _next_key(prefix)
            if upper is not None:
                conditions.append(partition_key_less_than(upper))
        elif self.exclude_entities:
            conditions.append(_EXCLUDE_ENTITIES)
        if self.instance_id is not None:
            conditions.append(partition_key_equals(self.instance_id))
        if not conditions:
            return None
        if len(conditions) == 1:
            return conditions[0]
        return " and ".join(f"({condition})" for condition in conditions)

    def admits(self, instance_id: str) -> bool:
        """False for an instance the filter's key range let through but the prefix does not (see ``_next_key``)."""
        return not self.instance_id_prefix or instance_id.startswith(self.instance_id_prefix)


# --- History filters of rewind and status repair (derived from AzureTableTrackingStore) -------------------------


def orchestrator_started_filter(instance_id: str) -> str:
    """The OrchestratorStarted rows of an instance: the latest one names the execution a rewind works on."""
    return all_of(partition_key_equals(instance_id), column_equals("EventType", EventType.OrchestratorStarted.name))


def failed_rows_filter(instance_id: str, execution_id: str) -> str:
    """The rows of one execution a rewind clears: ExecutionCompleted(Failed), TaskFailed, SubOrchestration failed."""
    return all_of(
        partition_key_equals(instance_id),
        column_equals("ExecutionId", execution_id),
        any_of(
            column_equals("OrchestrationStatus", OrchestrationRuntimeStatus.Failed.value),
            column_equals("EventType", EventType.TaskFailed.name),
            column_equals("EventType", EventType.SubOrchestrationInstanceFailed.name),
        ),
    )


def scheduling_row_filter(instance_id: str, execution_id: str, event_id: int, event_type: EventType) -> str:
    """The TaskScheduled or SubOrchestrationInstanceCreated row that a failure row answers."""
    return all_of(
        partition_key_equals(instance_id),
        column_equals("ExecutionId", execution_id),
        column_equals("EventId", event_id),
        column_equals("EventType", event_type.name),
    )


def completed_rows_filter(instance_id: str, execution_id: str) -> str:
    """The ExecutionCompleted rows of one execution: present exactly when that execution ended."""
    return all_of(
        partition_key_equals(instance_id),
        column_equals("ExecutionId", execution_id),
        column_equals("EventType", EventType.ExecutionCompleted.name),
    )
