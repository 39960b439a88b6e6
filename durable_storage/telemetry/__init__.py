"""OpenTelemetry traces of orchestration episodes and activity executions, linked across the queue hops (optional).

Enabling it: install the extra (``pip install 'durable-storage[otel]'``) plus an SDK and an exporter, and configure
a tracer provider as usual, before the client and the worker run::

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)

(or ``durable_storage.telemetry.use_tracer_provider(provider)`` to give durable_storage a provider of its own).

What is traced, with DurableTask.Core's span names and ``durabletask.*`` attributes (``Tracing/TraceHelper.cs``,
``Tracing/Schema.cs``, ``Tracing/TraceActivityConstants.cs``), version suffix ``@(version)`` when one is set:

* ``create_orchestration:{name}`` (PRODUCER): a client's ``start_new``, a child of the caller's current span.
* ``orchestration:{name}`` (CONSUMER): one span per episode of an orchestration, from the receive to the checkpoint.
  Its parent is the trace context on the execution's ExecutionStarted (so a request span → ``start_new`` →
  every episode make one trace). Attributes: ``durabletask.type`` ``orchestration``, ``durabletask.task.name``,
  ``.version``, ``.instance_id``, ``.execution_id``, ``.status`` (the runtime status after the episode), and
  ``durable_storage.episode`` (its number), ``.new_events``, ``.history_events`` (replayed), ``.outbound_messages``,
  ``durable_storage.storage_calls.total`` and ``durable_storage.storage_calls.{service}.{operation}`` (the storage
  requests of the episode, as :func:`durable_storage.calls.counting` counts them, retries included).
* ``activity:{name}`` (CONSUMER): one span per activity execution, a child of the episode that scheduled it.
  Attributes: ``durabletask.type`` ``activity``, ``durabletask.task.name``, ``.version``, ``.instance_id``,
  ``.execution_id``, ``.task_id`` (the TaskScheduled event id), ``durable_storage.dequeue_count`` and the storage
  calls of the execution (renewals, the reply, the delete). A failed activity's span has status ERROR and the
  exception recorded. The activity function runs with its span current, so spans it starts are its children.

Across the queues the W3C trace context travels as .NET's provider carries it: the ``ParentTraceContext`` member
(``DurableTask.Core.Tracing.DistributedTraceContext``: ``TraceParent``, ``TraceState``, ``Id``, ``SpanId``,
``ActivityStartTime``) of the ExecutionStarted a client or a parent orchestration sends and of each TaskScheduled,
in the queue message and in the History row. Messages written by .NET with it are read the same way.

Without the extra nothing of OpenTelemetry is imported, ever: durable_storage uses OpenTelemetry only once the
application itself has imported ``opentelemetry.trace`` (which configuring a provider does). Until then, and while
no provider is configured (the API's default proxy or no-op provider), each hook costs one dictionary look-up or
one type check per episode or activity, and nothing is allocated.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from durable_storage.history import TaskScheduledEvent

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from durable_storage.telemetry._spans import ActivityTrace, EpisodeTrace, StartTrace

__all__ = ["TRACER_NAME", "use_tracer_provider"]

TRACER_NAME = "durable_storage"
"""The instrumentation scope name of durable_storage's spans."""

_TRACE_MODULE = "opentelemetry.trace"
_SPANS = "durable_storage.telemetry._spans"
_override: TracerProvider | None = None


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace with ``provider`` instead of OpenTelemetry's global one; None goes back to the global provider."""
    global _override
    _override = provider
    if provider is not None or _SPANS in sys.modules:
        from durable_storage.telemetry import _spans  # noqa: PLC0415

        _spans.forget_tracer()


def _tracing() -> bool:
    # The whole cost when OpenTelemetry is not in use: nobody imported it, so no provider can be configured.
    return _override is not None or _TRACE_MODULE in sys.modules


def episode_trace() -> EpisodeTrace | None:
    """The trace of an orchestration episode about to run; None unless tracing is configured."""
    if not _tracing():
        return None
    from durable_storage.telemetry import _spans  # noqa: PLC0415  (it imports OpenTelemetry: only when tracing)

    return _spans.episode_trace(_override)


def activity_trace(
    scheduled: TaskScheduledEvent, instance_id: str, execution_id: str | None, dequeue_count: int
) -> ActivityTrace | None:
    """The trace of one execution of the activity ``scheduled`` asks for; None unless tracing is configured."""
    if not _tracing():
        return None
    from durable_storage.telemetry import _spans  # noqa: PLC0415  (it imports OpenTelemetry: only when tracing)

    return _spans.activity_trace(_override, scheduled, instance_id, execution_id, dequeue_count)


def start_trace(name: str, instance_id: str, version: str | None) -> StartTrace | None:
    """The trace of a client's start of an orchestration; None unless tracing is configured."""
    if not _tracing():
        return None
    from durable_storage.telemetry import _spans  # noqa: PLC0415  (it imports OpenTelemetry: only when tracing)

    return _spans.start_trace(_override, name, instance_id, version)
