"""The samples' runner (``samples/_run.py``): a hub of the sample's own, and a timeout that says why.

Before, every sample ran on ``TestHubName``: with the README's quickstart worker still running there, the human
interaction sample's instance failed at once in that worker ("not registered") while the sample waited 60 s and
reported a bare timeout (issue 21 item 1).
"""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

import durable_storage as df
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub
from samples import _run, human_interaction, quickstart
from tests.e2e.support import REPO_ROOT, run_program


@pytest.fixture
def on_test_hub(monkeypatch: pytest.MonkeyPatch, connection_string: str, hub: TaskHub) -> TaskHub:
    monkeypatch.setenv(_run.CONNECTION_SETTING, connection_string)
    monkeypatch.setenv(_run.HUB_SETTING, hub.name)
    return hub


async def test_a_sample_runs_on_a_hub_of_its_own_unless_one_is_named(connection_string: str) -> None:
    environment = {**os.environ, "AzureWebJobsStorage": connection_string}
    environment.pop("DURABLE_TASK_HUB", None)
    code, _, stderr = await run_program(
        sys.executable, "-m", "samples.quickstart", cwd=REPO_ROOT, env=environment, timeout=60
    )
    own = TaskHub.from_connection_string(connection_string, task_hub="SampleQuickstart")
    async with own, DurableOrchestrationClient.from_connection_string(connection_string, task_hub=own.name) as client:
        try:
            assert code == 0, stderr
            assert "task hub SampleQuickstart (set DURABLE_TASK_HUB for another)" in stderr
            runs = [s for s in await client.get_status_all() if s.name == "hello_orchestrator"]
            assert [s.runtime_status for s in runs] == [OrchestrationRuntimeStatus.Completed]
        finally:
            await own.delete()


async def test_a_sample_whose_instance_fails_at_once_prints_why_without_waiting(
    on_test_hub: TaskHub, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another app's worker on the hub: the one the user left running, which has no approval_workflow.
    ok = await asyncio.wait_for(_run.run(quickstart.app, human_interaction.workload), timeout=30)

    assert not ok
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(
        "human interaction: approval_workflow Failed: LookupError: orchestrator 'approval_workflow' is not registered"
    ), line


async def test_a_sample_that_times_out_lists_the_instances_it_started_with_their_status(
    on_test_hub: TaskHub, capsys: pytest.CaptureFixture[str]
) -> None:
    async def workload(client: df.DurableOrchestrationClient) -> bool:
        instance_id = await client.start_new("approval_workflow", "late", {"title": "t", "timeout_seconds": 600})
        await client.wait_for_completion(instance_id, timeout=0.5)
        return True

    with pytest.raises(TimeoutError):
        await _run.run(human_interaction.app, workload)

    reported = capsys.readouterr().err.splitlines()
    assert [line for line in reported if line.startswith("instance late of approval_workflow: Running")], reported


def test_each_sample_has_its_own_hub_name() -> None:
    assert _run.hub_of(human_interaction.workload) == "SampleHumanInteraction"
    assert _run.hub_of(quickstart.workload) == "SampleQuickstart"
