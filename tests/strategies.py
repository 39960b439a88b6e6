"""The Hypothesis strategies the tests share: history events and queue messages, wide and narrow.

The wide ones (``events``, ``messages`` and the values in them) reach every corner of the wire formats, for the
codec tests. The narrow ones (``small_*``, ``payloads``, ``scheduling_events``, ``answers``) draw from a few names,
ids and payloads, so that the replay fuzzer's events collide with the work its orchestrators schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from durable_storage import _json
from durable_storage._datetimes import DotNetDateTime
from durable_storage._dotnet_json import dump_json
from durable_storage._envelope import MessageData, OrchestrationExecutionContext, TaskMessage
from durable_storage.history import (
    EVENT_CLASSES,
    DistributedTraceContext,
    EventRaisedEvent,
    EventSentEvent,
    FailureDetails,
    HistoryEvent,
    OrchestrationInstance,
    ParentInstance,
    SubOrchestrationInstanceCompletedEvent,
    SubOrchestrationInstanceCreatedEvent,
    SubOrchestrationInstanceFailedEvent,
    TaskCompletedEvent,
    TaskFailedEvent,
    TaskScheduledEvent,
    TimerCreatedEvent,
    TimerFiredEvent,
)
from durable_storage.models import OrchestrationRuntimeStatus

# JSON cannot carry a lone surrogate (.NET would read U+FFFD), so text never holds one.
text = st.text(st.characters(codec="utf-8"), max_size=12)
keys = text.filter(lambda key: key not in ("$type", "__type"))
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def _with_ticks(value: datetime, ticks: int) -> datetime:
    parts = (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
    return DotNetDateTime(*parts, value.tzinfo, extra_ticks=ticks) if ticks else value


def datetimes(zones: st.SearchStrategy[Any]) -> st.SearchStrategy[datetime]:
    """Datetimes in ``zones``, most of them with a seventh fractional digit (a 100-ns tick)."""
    return st.builds(_with_ticks, st.datetimes(timezones=zones), st.integers(0, 9))


_json_values = st.recursive(
    st.none() | st.booleans() | int64 | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
_properties = st.none() | st.dictionaries(keys, _json_values, max_size=3)
_inner_failures = st.builds(FailureDetails, text, text, st.none() | text, st.none(), st.booleans(), _properties)
failures = st.builds(FailureDetails, text, text, st.none() | text, st.none() | _inner_failures, st.booleans())
# A DateTimeOffset always carries an offset, so the start time is never naive.
traces = st.builds(
    DistributedTraceContext,
    text,
    st.none() | text,
    st.none() | text,
    st.none() | text,
    st.none() | datetimes(st.just(timezone.utc) | offsets),
)
instances = st.builds(OrchestrationInstance, text, st.none() | text)
tags = st.dictionaries(keys, text, max_size=3)


def _values(times: st.SearchStrategy[datetime]) -> dict[str, st.SearchStrategy[Any]]:
    strings = "name version input result reason details instance_id correlation client_span_id data parent_execution_id"
    return {
        **dict.fromkeys(strings.split(), text),
        **dict.fromkeys(("event_id", "task_scheduled_id", "timer_id", "generation"), int32),
        **dict.fromkeys(("is_played", "generate_new_trace"), st.booleans()),
        **dict.fromkeys(("timestamp", "fire_at", "scheduled_start_time"), times),
        "orchestration_status": st.sampled_from(OrchestrationRuntimeStatus),
        "orchestration_instance": instances,
        "parent_instance": st.builds(ParentInstance, text, instances, int32, st.none() | text),
        "failure_details": failures,
        "parent_trace_context": traces,
        "tags": tags,
        "state": st.dictionaries(keys, _json_values, max_size=3).map(dump_json),
    }


def events(
    *, zones: st.SearchStrategy[Any] | None = None, classes: Sequence[type[HistoryEvent]] | None = None
) -> st.SearchStrategy[HistoryEvent]:
    """Events of ``classes`` (all by default); their own datetimes in ``zones`` (UTC, naive or an offset by default)."""
    zones = zones if zones is not None else st.sampled_from([timezone.utc, None]) | offsets
    values = _values(datetimes(zones))
    return st.sampled_from(classes or list(EVENT_CLASSES.values())).flatmap(lambda cls: _event(cls, values))


def _event(cls: type[HistoryEvent], values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[HistoryEvent]:
    # Optional members (default None) are sometimes None; the others always hold a value.
    arguments = {
        f.name: (st.none() | values[f.name]) if f.default is None else values[f.name]
        for f in fields(cls)
        if f.name != "_source"
    }
    return st.builds(cls, **arguments)


def messages() -> st.SearchStrategy[MessageData]:
    """Any MessageData, with or without a TaskMessage."""
    contexts = st.builds(OrchestrationExecutionContext, st.none() | tags)
    task_messages = st.builds(
        TaskMessage,
        event=events(),
        sequence_number=int64,
        orchestration_instance=instances,
        orchestration_execution_context=st.none() | contexts,
    )
    return st.builds(
        MessageData,
        activity_id=st.uuids(),
        task_message=st.none() | task_messages,
        compressed_blob_name=st.none() | text,
        sequence_number=int64,
        episode=st.none() | int32,
        sender=st.none() | instances,
        serializable_trace_context=st.none() | text,
    )


# --- narrow: few values, for the replay fuzzer ------------------------------------------------------------------

small_values = st.none() | st.booleans() | st.integers(-3, 3) | st.text("ab", max_size=2) | st.lists(st.integers(0, 2))
garbage = st.sampled_from(
    [
        "",
        "{",
        "not json",
        "NaN",
        '{"result": "{"}',
        '{"exceptionType": "ValueError"}',
        '{"__class__": "Missing", "__module__": "nowhere", "__data__": 1}',
    ]
)
"""Payloads the codec cannot read, or odd ones it can."""
payloads = garbage | small_values.map(_json.dumps) | st.none()
small_times = st.datetimes(datetime(2023, 12, 31), datetime(2024, 2, 1), timezones=st.just(timezone.utc))
small_failures = st.none() | st.builds(
    FailureDetails, st.sampled_from(["ValueError", "Boom"]), st.text("xy", max_size=2)
)
small_texts = st.none() | st.text("xyz", max_size=3)


def event_at(cls: type[HistoryEvent], **members: Any) -> st.SearchStrategy[HistoryEvent]:
    """Events of ``cls`` with ``members`` drawn from the strategies given, at one of the ``small_times``."""
    return st.builds(cls, timestamp=small_times, **members)


def scheduling_events(ids: st.SearchStrategy[int], names: st.SearchStrategy[str]) -> st.SearchStrategy[HistoryEvent]:
    """The events that record work an orchestration scheduled, at sequence ids ``ids``."""
    return st.one_of(
        event_at(TaskScheduledEvent, event_id=ids, name=names, input=payloads),
        event_at(TimerCreatedEvent, event_id=ids, fire_at=small_times),
        event_at(SubOrchestrationInstanceCreatedEvent, event_id=ids, name=names, instance_id=names, input=payloads),
        event_at(EventSentEvent, event_id=ids, instance_id=st.just("@counter@k") | names, name=names, input=payloads),
    )


def answers(ids: st.SearchStrategy[int], names: st.SearchStrategy[str]) -> st.SearchStrategy[HistoryEvent]:
    """Completions of sequence ids and external events, with any payload."""
    return st.one_of(
        event_at(TaskCompletedEvent, task_scheduled_id=ids, result=payloads),
        event_at(EventRaisedEvent, name=names, input=payloads),
        event_at(SubOrchestrationInstanceCompletedEvent, task_scheduled_id=ids, result=payloads),
        event_at(
            TaskFailedEvent,
            task_scheduled_id=ids,
            reason=small_texts,
            details=small_texts,
            failure_details=small_failures,
        ),
        event_at(
            SubOrchestrationInstanceFailedEvent,
            task_scheduled_id=ids,
            reason=small_texts,
            failure_details=small_failures,
        ),
        event_at(TimerFiredEvent, timer_id=ids, fire_at=small_times),
    )
