"""Tracing off: without the extra (or with it, unused) nothing of OpenTelemetry is imported, and no span is made.

The subprocess runs an orchestration end to end (client, worker, two activities) in a fresh interpreter, once with
``opentelemetry`` made unimportable by a ``sys.meta_path`` finder that records every attempt, and once installed
but not imported by the application.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, TracerProvider

from durable_storage._clock import utcnow
from durable_storage.history import TaskScheduledEvent
from durable_storage.telemetry import activity_trace, episode_trace, start_trace, use_tracer_provider
from tests.e2e.support import REPO_ROOT

_SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib.abc, json, sys

    attempts = []

    class NoOpenTelemetry(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "opentelemetry":
                attempts.append(name)
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    if sys.argv[2] == "blocked":
        sys.meta_path.insert(0, NoOpenTelemetry())

    from durable_storage import DurableOrchestrationClient, TaskHub, Worker
    from durable_storage.retry import FAST_RETRY
    from durable_storage.testing import unique_hub_name
    from tests.e2e.support import fast_options
    from tests.tracing.app import app

    async def main(connection):
        name = unique_hub_name()
        hub = TaskHub.from_connection_string(connection, task_hub=name, partition_count=2, retry=FAST_RETRY)
        async with hub:
            await hub.create_if_not_exists()
            try:
                async with DurableOrchestrationClient.from_connection_string(
                    connection, task_hub=hub.name, partition_count=2, retry=FAST_RETRY
                ) as client:
                    async with Worker(client, app, options=fast_options()):
                        instance_id = await client.start_new("two_greetings")
                        status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.1)
                        return status.runtime_status.name, status.output
            finally:
                await hub.delete()

    status, output = asyncio.run(main(sys.argv[1]))
    loaded = sorted(name for name in sys.modules if name.split(".")[0] == "opentelemetry")
    print(json.dumps({"status": status, "output": output, "loaded": loaded, "attempts": attempts}))
    """
)


@pytest.mark.parametrize("opentelemetry", ["blocked", "installed"])
def test_an_orchestration_runs_without_importing_opentelemetry(connection_string: str, opentelemetry: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, connection_string, opentelemetry],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["status"], report["output"]) == ("Completed", ["Hello Tokyo!", "Hello Seattle!"])
    assert report["loaded"] == []
    assert report["attempts"] == []  # not even tried


@pytest.mark.parametrize("provider", [None, NoOpTracerProvider()], ids=["global proxy", "no-op"])
def test_without_a_configured_provider_the_hooks_make_nothing(provider: TracerProvider | None) -> None:
    # OpenTelemetry is imported in this process, but with only the API's proxy (nobody set a global provider in the
    # tests) or a no-op provider, tracing is off all the same.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    use_tracer_provider(provider)
    try:
        scheduled = TaskScheduledEvent(name="greet", timestamp=utcnow())
        assert episode_trace() is None
        assert activity_trace(scheduled, "i", "e", 1) is None
        assert start_trace("o", "i", None) is None
    finally:
        use_tracer_provider(None)
