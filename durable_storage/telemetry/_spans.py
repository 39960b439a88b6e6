"""The OpenTelemetry side of :mod:`durable_storage.telemetry`; imported only once the application has imported
``opentelemetry.trace`` itself (or handed a provider to ``use_tracer_provider``).

Span names and ``durabletask.*`` attributes follow DurableTask.Core (``Tracing/TraceHelper.cs``, ``Tracing/Schema.cs``);
the W3C ``traceparent`` text is written as ``ISupportsDurableTraceContext.SetParentTraceContext`` writes it
(``00-{trace id}-{span id}-{flags}``, all lower-case hex) and read as ``ActivityContext.TryParse`` reads it.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    NoOpTracerProvider,
    ProxyTracerProvider,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    TracerProvider,
    TraceState,
)
from opentelemetry.util.types import AttributeValue

from durable_storage._envelope import MessageData, with_parent_trace_context
from durable_storage._runtime_state import RuntimeState
from durable_storage.calls import StorageCalls, counting
from durable_storage.history import DistributedTraceContext, ExecutionStartedEvent, TaskScheduledEvent
from durable_storage.models import OrchestrationRuntimeStatus as _Status
from durable_storage.telemetry import TRACER_NAME

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from durable_storage.worker._episode import Episode

__all__ = [
    "ActivityTrace",
    "EpisodeTrace",
    "StartTrace",
    "activity_trace",
    "carried_context",
    "episode_trace",
    "forget_tracer",
    "parent_context",
    "start_trace",
]

T = TypeVar("T")
R = TypeVar("R")
Attributes = dict[str, AttributeValue]

# DurableTask.Core Tracing/Schema.cs and TraceActivityConstants.cs.
TYPE = "durabletask.type"
NAME = "durabletask.task.name"
VERSION = "durabletask.task.version"
INSTANCE_ID = "durabletask.task.instance_id"
EXECUTION_ID = "durabletask.task.execution_id"
STATUS = "durabletask.task.status"
TASK_ID = "durabletask.task.task_id"
STORAGE_CALLS = "durable_storage.storage_calls"

_MAX_TRACE_STATE = 513  # DistributedTraceContext.TraceState drops longer values
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_NEW_TRACE = otel_context.Context()  # the parent context of a root span (never the caller's current one)

_cache: tuple[TracerProvider, Tracer] | None = None


def forget_tracer() -> None:
    """Drop the cached tracer (the provider changed)."""
    global _cache
    _cache = None


def _tracer(override: TracerProvider | None) -> Tracer | None:
    """The tracer of the configured provider; None while there is only the API's proxy or no-op provider."""
    global _cache
    provider = override if override is not None else trace.get_tracer_provider()
    cached = _cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    if isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider)):
        return None
    tracer = provider.get_tracer(TRACER_NAME)
    _cache = (provider, tracer)
    return tracer


def _span_name(kind: str, name: str, version: str | None) -> str:
    # TraceHelper.CreateSpanName.
    return f"{kind}:{name}@({version})" if version else f"{kind}:{name}"


# --- the trace context on the wire -----------------------------------------------------------------------------


def parent_context(carried: DistributedTraceContext | None) -> otel_context.Context:
    """The context to start a span in whose parent is the span ``carried`` names (a new trace without a valid one)."""
    if carried is None:
        return _NEW_TRACE
    match = _TRACEPARENT.fullmatch(carried.trace_parent.strip().lower())
    if match is None:
        return _NEW_TRACE
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or not int(trace_id, 16) or not int(span_id, 16):
        return _NEW_TRACE  # W3C: version ff is invalid, version 00 has exactly four fields, ids are never zero
    state = TraceState.from_header([carried.trace_state]) if carried.trace_state else None
    span_context = SpanContext(
        int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16)), trace_state=state
    )
    return trace.set_span_in_context(NonRecordingSpan(span_context), _NEW_TRACE)


def carried_context(span: Span) -> DistributedTraceContext | None:
    """``span`` as the ParentTraceContext of a message; None for an invalid span (a disabled SDK)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    header = context.trace_state.to_header() if context.trace_state else ""
    return DistributedTraceContext(
        trace_parent=f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}",
        trace_state=header if 0 < len(header) <= _MAX_TRACE_STATE else None,
    )


def _call_attributes(calls: StorageCalls) -> Attributes:
    counts = calls.snapshot()
    attributes: Attributes = {f"{STORAGE_CALLS}.{service}.{operation}": n for (service, operation), n in counts.items()}
    attributes[f"{STORAGE_CALLS}.total"] = sum(counts.values())
    return attributes


def _failed(span: Span, error: BaseException, description: str | None = None) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, description or f"{type(error).__name__}: {error}"))


def _set_outcome(span: Span, state: RuntimeState) -> None:
    # As TaskOrchestrationDispatcher sets the orchestration span's status when the execution ends.
    status = state.status
    if status in (_Status.Completed, _Status.ContinuedAsNew):
        span.set_status(Status(StatusCode.OK))
    elif status is _Status.Failed:
        completed = state.completed
        details = completed.failure_details if completed is not None else None
        description = details.error_message if details is not None else None
        span.set_status(Status(StatusCode.ERROR, description or state.output or status.name))
    elif status is _Status.Terminated:
        span.set_status(Status(StatusCode.ERROR, status.name))


# --- spans -----------------------------------------------------------------------------------------------------


class EpisodeTrace:
    """The span of one orchestration episode: timed from its receive, begun once the episode has run (its parent is
    on the ExecutionStarted, known only then), ended after the checkpoint with the episode's storage calls."""

    __slots__ = ("_context", "_counting", "_span", "_start", "_state", "_tracer", "calls")

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._start = time.time_ns()
        self._span: Span | None = None
        self._context: DistributedTraceContext | None = None
        self._state: RuntimeState | None = None
        self._counting: AbstractContextManager[StorageCalls] | None = None
        self.calls: StorageCalls | None = None

    def __enter__(self) -> EpisodeTrace:
        self._counting = counting()
        self.calls = self._counting.__enter__()
        return self

    def begin(
        self,
        instance_id: str,
        started: ExecutionStartedEvent | None,
        episode: Episode,
        *,
        new_events: int,
        replayed: int,
    ) -> DistributedTraceContext | None:
        """Start the span (once) and describe ``episode``; returns the context its outbound messages carry."""
        span = self._span
        if span is None:
            name = started.name if started is not None else ""
            version = started.version if started is not None else None
            parent = parent_context(started.parent_trace_context if started is not None else None)
            span = self._tracer.start_span(
                _span_name("orchestration", name, version), parent, kind=SpanKind.CONSUMER, start_time=self._start
            )
            self._span = span
            self._context = carried_context(span)
        if span.is_recording():
            attributes: Attributes = {
                TYPE: "orchestration",
                INSTANCE_ID: instance_id,
                EXECUTION_ID: episode.execution_id,
                "durable_storage.new_events": new_events,
                "durable_storage.history_events": replayed,
                "durable_storage.outbound_messages": len(episode.outbound),
            }
            if started is not None:
                attributes[NAME] = started.name
                if started.version:
                    attributes[VERSION] = started.version
            state = episode.state
            if state is not None:
                attributes["durable_storage.episode"] = state.episodes
                if state.status is not None:
                    attributes[STATUS] = state.status.name
            span.set_attributes(attributes)
        self._state = episode.state
        return self._context

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._counting is not None:
            self._counting.__exit__(None, None, None)
        span = self._span
        if span is None:
            return  # no episode ran (its messages were screened out, deferred or discarded)
        if span.is_recording():
            if self.calls is not None:
                span.set_attributes(_call_attributes(self.calls))
            if error is not None:
                _failed(span, error)
            elif self._state is not None:
                _set_outcome(span, self._state)
        span.end()


class ActivityTrace:
    """The span of one activity execution, current while the activity runs, ended after its reply and delete."""

    __slots__ = ("_counting", "_failed", "_span", "_token", "calls")

    def __init__(
        self, tracer: Tracer, scheduled: TaskScheduledEvent, instance_id: str, execution_id: str | None, dequeues: int
    ) -> None:
        attributes: Attributes = {
            TYPE: "activity",
            NAME: scheduled.name,
            INSTANCE_ID: instance_id,
            TASK_ID: scheduled.event_id,
            "durable_storage.dequeue_count": dequeues,
        }
        if execution_id:
            attributes[EXECUTION_ID] = execution_id
        if scheduled.version:
            attributes[VERSION] = scheduled.version
        self._span = tracer.start_span(
            _span_name("activity", scheduled.name, scheduled.version),
            parent_context(scheduled.parent_trace_context),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )
        self._failed = False
        self._token: Token[otel_context.Context] | None = None
        self._counting: AbstractContextManager[StorageCalls] | None = None
        self.calls: StorageCalls | None = None

    def __enter__(self) -> ActivityTrace:
        self._counting = counting()
        self.calls = self._counting.__enter__()
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self

    def wrap(self, function: Callable[[T], R]) -> Callable[[T], R]:
        """``function`` to run on another thread with this span current (an executor does not carry the context)."""
        context = contextvars.copy_context()

        def run(argument: T) -> R:
            return context.run(function, argument)

        return run

    def failed(self, error: BaseException, description: str) -> None:
        """The activity raised ``error``: the span's status is ERROR."""
        self._failed = True
        if self._span.is_recording():
            _failed(self._span, error, description)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
        if self._counting is not None:
            self._counting.__exit__(None, None, None)
        span = self._span
        if span.is_recording():
            if self.calls is not None:
                span.set_attributes(_call_attributes(self.calls))
            if error is not None and not self._failed:
                _failed(span, error)  # the activity ran, but its result could not be delivered
        span.end()


class StartTrace:
    """The span of a client's start of an orchestration: a child of the caller's current span."""

    __slots__ = ("_span",)

    def __init__(self, tracer: Tracer, name: str, instance_id: str, version: str | None) -> None:
        attributes: Attributes = {TYPE: "orchestration", NAME: name, INSTANCE_ID: instance_id}
        if version:
            attributes[VERSION] = version
        self._span = tracer.start_span(
            _span_name("create_orchestration", name, version), kind=SpanKind.PRODUCER, attributes=attributes
        )

    def __enter__(self) -> StartTrace:
        return self

    def stamp(self, message: MessageData, execution_id: str) -> MessageData:
        """``message`` (an ExecutionStarted) with this span as its parent trace context."""
        self._span.set_attribute(EXECUTION_ID, execution_id)
        context = carried_context(self._span)
        return message if context is None else with_parent_trace_context(message, context)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is not None and self._span.is_recording():
            _failed(self._span, error)
        self._span.end()


# --- entry points (durable_storage.telemetry checks that tracing may be on before it imports this module) -------


def episode_trace(override: TracerProvider | None) -> EpisodeTrace | None:
    tracer = _tracer(override)
    return EpisodeTrace(tracer) if tracer is not None else None


def activity_trace(
    override: TracerProvider | None,
    scheduled: TaskScheduledEvent,
    instance_id: str,
    execution_id: str | None,
    dequeue_count: int,
) -> ActivityTrace | None:
    tracer = _tracer(override)
    return ActivityTrace(tracer, scheduled, instance_id, execution_id, dequeue_count) if tracer is not None else None


def start_trace(override: TracerProvider | None, name: str, instance_id: str, version: str | None) -> StartTrace | None:
    tracer = _tracer(override)
    return StartTrace(tracer, name, instance_id, version) if tracer is not None else None
