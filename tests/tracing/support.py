"""Helpers of the tracing tests: finding a test's spans among the finished ones, and waiting for them."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from durable_storage.testing import wait_until

INSTANCE_ID = "durabletask.task.instance_id"


def spans_of(exporter: InMemorySpanExporter, instance_id: str, prefix: str = "") -> list[ReadableSpan]:
    """The finished spans about ``instance_id`` whose names start with ``prefix``, in the order they ended."""
    return [
        span
        for span in exporter.get_finished_spans()
        if span.attributes is not None
        and span.attributes.get(INSTANCE_ID) == instance_id
        and span.name.startswith(prefix)
    ]


async def ended(exporter: InMemorySpanExporter, instance_id: str, prefix: str, count: int) -> list[ReadableSpan]:
    """Wait until ``count`` spans named ``prefix``... about ``instance_id`` have ended; returns them.

    A span ends after its checkpoint or reply, a moment after the status a test waits for is visible.
    """

    async def there() -> list[ReadableSpan]:
        spans = spans_of(exporter, instance_id, prefix)
        return spans if len(spans) >= count else []

    spans = await wait_until(there, timeout=20, what=f"{count} {prefix} spans of {instance_id}")
    return spans


def attribute(span: ReadableSpan, name: str) -> object:
    assert span.attributes is not None
    return span.attributes.get(name)


def by_episode(episodes: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """Episode spans in episode order."""
    return sorted(episodes, key=lambda span: int(attribute(span, "durable_storage.episode")))  # type: ignore[call-overload]


def parent_id(span: ReadableSpan) -> int:
    assert span.parent is not None, f"{span.name} has no parent"
    return int(span.parent.span_id)


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


def traceparent(span: ReadableSpan) -> str:
    """The W3C traceparent naming ``span``, as it goes into a ParentTraceContext."""
    assert span.context is not None
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-{span.context.trace_flags:02x}"
