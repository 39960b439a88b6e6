"""A worker says at WARNING what fails: every instance it fails, every activity failure, and work it cannot do.

Two apps on one task hub fail each other's instances at once; before, the worker logged nothing and the sample that
started the instance waited out its timeout (issue 21 item 1).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage.testing import wait_until
from durable_storage.worker._reports import one_line
from tests.e2e import apps
from tests.e2e.support import fast_options

_WORKER_LOGGER = "durable_storage.worker"

local_app = df.App()


@local_app.activity_trigger(input_name="city", local=True)
def refuse(city: str) -> str:
    raise PermissionError(f"{city} is closed\nsecond line of detail")


@local_app.orchestration_trigger(context_name="context")
def visit(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("refuse", "Paris"))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name.startswith(_WORKER_LOGGER) and r.levelno == logging.WARNING
    ]


async def _logged(caplog: pytest.LogCaptureFixture, instance_id: str, count: int = 1) -> None:
    # The failure is logged once the checkpoint is complete, a moment after the status reads Failed.
    async def enough() -> bool:
        return sum(instance_id in m for m in _warnings(caplog)) >= count

    await wait_until(enough, timeout=10, what=f"{count} warnings about {instance_id}")


async def _ends_failed(client: DurableOrchestrationClient, instance_id: str) -> None:
    async def failed() -> bool:
        status = await client.get_status(instance_id)
        return status.runtime_status is OrchestrationRuntimeStatus.Failed

    await wait_until(failed, timeout=30)


async def test_an_orchestration_that_raises_is_logged_with_its_name_instance_and_reason(
    client: DurableOrchestrationClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=_WORKER_LOGGER)
    async with Worker(client, apps.app, options=fast_options()):
        instance_id = await client.start_new("unhandled")
        await _ends_failed(client, instance_id)
        await _logged(caplog, instance_id)

    [line] = [m for m in _warnings(caplog) if instance_id in m and "orchestration" in m]
    assert f"orchestration 'unhandled' instance {instance_id} failed (task hub {client.task_hub.name})" in line
    assert "KeyError" in line and "the order has no customer" in line
    assert "\n" not in line


async def test_a_failing_activity_is_logged_by_the_worker_that_ran_it(
    client: DurableOrchestrationClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=_WORKER_LOGGER)
    async with Worker(client, apps.app, options=fast_options()):
        # flaky fails its first `failures` calls; with one attempt, the instance fails too
        instance_id = await client.start_new("flaky_then_done", client_input={"key": uuid.uuid4().hex, "failures": 1})
        await _ends_failed(client, instance_id)
        await _logged(caplog, instance_id, 2)

    activity = [m for m in _warnings(caplog) if m.startswith("activity 'flaky'")]
    assert len(activity) == 1, _warnings(caplog)
    assert f"of instance {instance_id} failed (task hub {client.task_hub.name})" in activity[0]


async def test_a_local_activity_failure_is_logged_on_one_line(
    client: DurableOrchestrationClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=_WORKER_LOGGER)
    async with Worker(client, local_app, options=fast_options()):
        instance_id = await client.start_new("visit")
        await _ends_failed(client, instance_id)
        await _logged(caplog, instance_id, 2)

    [activity] = [m for m in _warnings(caplog) if m.startswith("activity 'refuse'")]
    assert activity.endswith("PermissionError: Paris is closed")


async def test_work_for_a_name_this_app_does_not_register_is_reported_once_with_the_hub_and_what_it_registers(
    client: DurableOrchestrationClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=_WORKER_LOGGER)
    async with Worker(client, local_app, options=fast_options()):
        first = await client.start_new("approval_workflow")  # another app's orchestrator, on the same hub
        second = await client.start_new("approval_workflow")
        await _ends_failed(client, first)
        await _ends_failed(client, second)
        await _logged(caplog, second)

    unregistered = [m for m in _warnings(caplog) if "does not register" in m]
    assert len(unregistered) == 1, unregistered
    assert f"task hub {client.task_hub.name} has work for orchestrator 'approval_workflow'" in unregistered[0]
    assert "it registers orchestrators: 'visit'" in unregistered[0]
    failed = [m for m in _warnings(caplog) if "orchestration 'approval_workflow'" in m]
    assert len(failed) == 2  # every instance failed is still logged


def test_one_line_keeps_the_first_line_and_cuts_long_text() -> None:
    assert one_line("\n  boom  \nTraceback...") == "boom"
    assert one_line("") == ""
    cut = one_line("x" * 1000)
    assert len(cut) == 300 and cut.endswith("…")


def test_a_reason_with_controls_or_a_lone_surrogate_is_logged_escaped() -> None:
    # A log line reaches terminals and pipes (and pytest-xdist's UTF-8 channel, which a lone surrogate broke).
    assert one_line("bad \ud800 value\x1b[2J\nsecond line") == "bad \\ud800 value\\x1b[2J"
