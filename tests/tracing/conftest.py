"""Tracing fixtures: an OpenTelemetry SDK provider that keeps finished spans in memory, and a worker using it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.telemetry import use_tracer_provider
from tests.e2e.support import fast_options
from tests.tracing.app import app


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """The finished spans of the test."""
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """durable_storage's tracer provider for the test (the global one is left alone): spans go to ``exporter``."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    use_tracer_provider(tracer_provider)
    try:
        yield tracer_provider
    finally:
        use_tracer_provider(None)
        tracer_provider.shutdown()


@pytest.fixture
async def worker(client: DurableOrchestrationClient, provider: TracerProvider) -> AsyncIterator[Worker]:
    """An in-process worker of ``tests.tracing.app`` on the client's hub, tracing with ``provider``."""
    async with Worker(client, app, options=fast_options()) as running:
        yield running
