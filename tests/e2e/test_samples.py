"""The samples a user meets first, end to end: the quickstart (function chaining) and the demo's workload.

Each runs under its own in-process worker for its own App, as a user would run it; the demo's last part runs
``durable-storage host`` on the Functions app quickstart, as ``make demo`` does.
"""

from __future__ import annotations

import pytest

import durable_storage._demo as demo
from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, TaskHub, Worker
from durable_storage.testing import unique_hub_name
from samples import quickstart
from tests.e2e.support import events, fast_options


async def test_the_quickstart_runs_unchanged_and_chains_three_activities(client: DurableOrchestrationClient) -> None:
    async with Worker(client, quickstart.app, options=fast_options()):
        instance_id = await client.start_new("hello_orchestrator")
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    assert status.output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    history = await client.get_history(instance_id)
    scheduled = [(e["Name"], e["Input"]) for e in events(history, "TaskScheduled")]
    assert scheduled == [("say_hello", '"Tokyo"'), ("say_hello", '"Seattle"'), ("say_hello", '"London"')]
    # Chained: each activity is scheduled by its own episode, after the previous result arrived.
    assert len(events(history, "OrchestratorStarted")) == 4


async def test_the_demo_workload_runs_and_prints_every_result(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Worker(client, demo.app, options=fast_options()):
        example = await demo.workload(client, orchestrations=5, fan_out_size=10)

    lines = capsys.readouterr().out.split("\n")
    greetings = [f"Hello {city}!" for city in demo.CITIES]
    assert lines[0] == "starting the quickstart hello_orchestrator ..."
    assert lines[1] == "quickstart hello_orchestrator: Completed ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']"
    assert lines[2] == "running 5 HelloCities5, a fan-out of 10, an approval and a durable timer:"
    # The progress line rewrites itself with "\r": it shows from the first start on (no silent stretch while the
    # instances are started), until every instance ended.
    states = [state for state in lines[3].split("\r") if state]
    assert states[0].startswith("  0/8 started, 0/8 orchestrations finished")
    assert states[-1].startswith("  8/8 started, 8/8 orchestrations finished (")
    assert lines[4] == f"HelloCities5 (first of 5): {greetings}"
    assert lines[5] == f"fan-out of 10 (sum of squares): Completed {sum(n * n for n in range(10))}"
    assert lines[6] == "approval: Completed approved by the demo"
    assert lines[7].startswith("timer: Completed woke up at ")
    assert lines[8].startswith("throughput: 8 orchestrations and 35 activities in ")
    assert lines[9:] == [""]
    assert (await client.get_status(example)).output == greetings


def test_the_demo_ends_with_a_summary_and_the_commands_to_look_further() -> None:
    kept = demo.summary("DemoHub", "abc123", kept=True)
    gone = demo.summary("DemoHub", "abc123", kept=False)

    assert "durable-storage --task-hub DemoHub status abc123" in kept
    assert "durable-storage --task-hub DemoHub serve" in kept and "http://127.0.0.1:7071/" in kept
    assert "list --limit 10" in kept and "azurite" not in kept
    assert "in-memory Azurite stops with it" in gone and "node_modules/.bin/azurite" in gone


async def test_the_demo_runs_the_functions_app_under_host_and_prints_the_curl_commands(
    connection_string: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = unique_hub_name()  # the host subprocess inherits the override; host.json's QuickstartHub stays untouched
    monkeypatch.setenv("AzureFunctionsJobHost__extensions__durableTask__hubName", hub)
    try:
        await demo.host_demo(connection_string)
    finally:
        async with TaskHub.from_connection_string(connection_string, task_hub=hub) as created:
            await created.delete()

    lines = capsys.readouterr().out.split("\n")
    assert lines[:2] == [
        "",
        "the same quickstart as a Functions app (azure.functions + azure.durable_functions), unchanged:",
    ]
    assert lines[2].startswith("  $ durable-storage host samples/function_app_quickstart --port ")
    url = f"http://127.0.0.1:{lines[2].rsplit(' ', 1)[1]}"
    assert lines[3] == f"  $ curl -s -X POST {url}/api/orchestrators/hello_orchestrator"
    assert lines[4].startswith(f"  202, statusQueryGetUri: {url}/runtime/webhooks/durabletask/instances/")
    assert lines[4].endswith(f"?taskHub={hub}")
    assert lines[5] == f"  $ curl -s '{lines[4].split(': ', 1)[1]}'"
    assert lines[6] == '  Completed ["Hello Tokyo!", "Hello Seattle!"]'
    assert lines[7] == "  stopped the host (SIGTERM: it drained and released its partitions)"
