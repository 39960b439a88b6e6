"""Every sample in ``samples/`` runs to the outcome it prints, on Azurite.

Each test runs a sample's ``workload`` (what its ``main()`` runs) under an in-process worker of the sample's app on
the test's fresh task hub, with short timers, and checks what a user would see: the lines printed, the instances'
statuses and outputs, their histories and the entities' state. One test runs a sample as the program a user starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from durable_storage import (
    App,
    DurableOrchestrationClient,
    DurableOrchestrationStatus,
    EntityId,
    OrchestrationRuntimeStatus,
    Worker,
)
from durable_storage.taskhub import TaskHub
from samples import (
    aggregator,
    eternal,
    fan_out_fan_in,
    human_interaction,
    monitor,
    quickstart,
    retries_and_compensation,
    sub_orchestrations,
)
from tests.e2e.support import REPO_ROOT, events, fast_options, names, run_program

Completed = OrchestrationRuntimeStatus.Completed
Failed = OrchestrationRuntimeStatus.Failed
SAMPLES = {
    "quickstart",
    "fan_out_fan_in",
    "monitor",
    "human_interaction",
    "aggregator",
    "sub_orchestrations",
    "eternal",
    "retries_and_compensation",
}


@asynccontextmanager
async def serving(client: DurableOrchestrationClient, app: App) -> AsyncIterator[None]:
    """An in-process worker of ``app`` on the client's hub, stopped (drained) on exit."""
    async with Worker(client, app, options=fast_options()):
        yield


def printed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


async def instances_of(client: DurableOrchestrationClient, name: str) -> list[DurableOrchestrationStatus]:
    return [status for status in await client.get_status_all() if status.name == name]


def test_every_sample_module_has_a_test_here() -> None:
    modules = {path.stem for path in (REPO_ROOT / "samples").glob("*.py") if not path.stem.startswith("_")}
    assert modules == SAMPLES


# --- function chaining --------------------------------------------------------------------------------------------


async def test_the_quickstart_chains_three_greetings(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, quickstart.app):
        assert await quickstart.workload(client, instance_id="chain")

    assert printed(capsys) == [
        "function chaining: hello_orchestrator Completed: ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']"
    ]
    assert names(await client.get_history("chain")) == ["say_hello"] * 3


async def test_the_quickstart_runs_as_a_program_on_the_given_account_and_hub(
    client: DurableOrchestrationClient, connection_string: str, hub: TaskHub
) -> None:
    environment = {**os.environ, "AzureWebJobsStorage": connection_string, "DURABLE_TASK_HUB": hub.name}
    code, stdout, stderr = await run_program(
        sys.executable, "-m", "samples.quickstart", cwd=REPO_ROOT, env=environment, timeout=60
    )

    assert code == 0, stderr
    assert stdout.splitlines() == [
        "function chaining: hello_orchestrator Completed: ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']"
    ]
    # It used the test's Azurite (no Azurite of its own) and the hub DURABLE_TASK_HUB named.
    assert "Starting Azurite" not in stderr
    [run] = await instances_of(client, "hello_orchestrator")
    assert (run.runtime_status, run.output) == (Completed, quickstart.EXPECTED)


# --- fan-out/fan-in -----------------------------------------------------------------------------------------------


async def test_fan_out_measures_every_file_in_parallel_and_sums_them(
    client: DurableOrchestrationClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    sizes = {"a.py": 10, "nested/b.py": 200, "nested/deeper/c.py": 3000, "notes.txt": 7}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)

    async with serving(client, fan_out_fan_in.app):
        assert await fan_out_fan_in.workload(client, root=str(tmp_path), instance_id="backup")

    assert printed(capsys) == [
        f"fan-out/fan-in: 3 files under {tmp_path} measured by 3 parallel activities: 3,210 bytes in all"
    ]
    status = await client.get_status("backup")
    assert (status.runtime_status, status.output) == (Completed, {"files": 3, "bytes": 3210})
    history = await client.get_history("backup")
    assert names(history) == ["get_file_list", "measure_file", "measure_file", "measure_file"]
    # Fanned out: the three measurements were scheduled together, in one episode, before any of them finished.
    positions = [i for i, e in enumerate(history) if e["EventType"] == "TaskScheduled" and e["Name"] == "measure_file"]
    assert positions == list(range(positions[0], positions[0] + 3))


async def test_fan_out_over_no_files_is_an_empty_total(
    client: DurableOrchestrationClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, fan_out_fan_in.app):
        assert await fan_out_fan_in.workload(client, root=str(tmp_path), instance_id="nothing")

    assert (await client.get_status("nothing")).output == {"files": 0, "bytes": 0}
    assert printed(capsys) == [
        f"fan-out/fan-in: 0 files under {tmp_path} measured by 0 parallel activities: 0 bytes in all"
    ]


# --- monitor ------------------------------------------------------------------------------------------------------


async def test_the_monitor_polls_on_durable_timers_until_the_job_completes(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, monitor.app):
        done = await monitor.workload(client, job_seconds=1.5, polling_interval=0.3, deadline=30, instance_id="watch")

    assert done
    status = await client.get_status("watch")
    assert status.runtime_status is Completed
    checks = status.output["checks"]
    assert status.output == {"job": "nightly-build", "status": "Completed", "checks": checks}
    assert checks >= 2  # it was still running at the first check
    assert status.custom_status == {"checks": checks, "job_status": "Completed"}
    history = await client.get_history("watch")
    assert names(history) == ["get_job_status"] * checks + ["send_alert"]
    assert len(events(history, "TimerFired")) == checks - 1
    assert printed(capsys) == [
        f"monitor: job nightly-build completed; the monitor saw it at check {checks} "
        "(checked every 0.3 s with a 30 s deadline)"
    ]


async def test_the_monitor_gives_up_at_its_deadline(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, monitor.app):
        done = await monitor.workload(client, job_seconds=3600, polling_interval=0.3, deadline=1, instance_id="late")

    assert not done  # main() exits with 1
    status = await client.get_status("late")
    assert status.runtime_status is Completed
    assert status.output["status"] == "Expired"
    checks = status.output["checks"]
    assert names(await client.get_history("late")) == ["get_job_status"] * checks
    assert printed(capsys) == [
        f"monitor: job nightly-build still running at the deadline after {checks} checks "
        "(checked every 0.3 s with a 1 s deadline)"
    ]


# --- human interaction --------------------------------------------------------------------------------------------


async def test_an_approval_that_comes_in_time_wins_over_the_timer(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, human_interaction.app):
        assert await human_interaction.workload(client, approver="Alice", timeout=60, instance_id="expense")

    status = await client.get_status("expense")
    assert (status.runtime_status, status.output) == (Completed, "expense report #42 approved by Alice")
    history = await client.get_history("expense")
    assert names(history) == ["request_approval", "process_approval"]
    assert [e["Name"] for e in events(history, "EventRaised")] == ["ApprovalEvent"]
    assert events(history, "TimerFired") == []  # well before its 60 s
    [line] = printed(capsys)
    assert line.startswith("human interaction: expense report #42 approved by Alice (Completed after ")


async def test_nobody_approving_escalates_when_the_durable_timer_fires(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, human_interaction.app):
        assert await human_interaction.workload(client, approver=None, timeout=0.5, instance_id="ignored")

    status = await client.get_status("ignored")
    assert status.runtime_status is Completed
    assert status.output == "expense report #42 escalated to a manager: nobody approved it within 0.5 s"
    history = await client.get_history("ignored")
    assert names(history) == ["request_approval", "escalate"]
    assert len(events(history, "TimerFired")) == 1
    [line] = printed(capsys)
    assert line.startswith(f"human interaction: {status.output} (Completed after ")


# --- aggregator ---------------------------------------------------------------------------------------------------


async def test_the_aggregator_entity_counts_every_concurrent_signal_once(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    readings = list(range(1, 21))

    async with serving(client, aggregator.app):
        assert await aggregator.workload(client, readings=readings, key="sensors")

    state = await client.read_entity_state(EntityId("aggregator", "sensors"))
    assert (state.entity_exists, state.entity_state) == (True, {"count": 20, "sum": 210})
    [report] = await instances_of(client, "report")
    assert (report.runtime_status, report.output) == (Completed, {"count": 20, "sum": 210, "mean": 10.5})
    assert printed(capsys) == [
        "aggregator: @aggregator@sensors counted 20 signals, sum 210",
        "aggregator: report Completed: {'count': 20, 'sum': 210, 'mean': 10.5} (read with call_entity)",
    ]


# --- sub-orchestrations -------------------------------------------------------------------------------------------


async def test_each_device_is_provisioned_by_its_own_sub_orchestration(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    devices = ["thermostat", "camera"]

    async with serving(client, sub_orchestrations.app):
        assert await sub_orchestrations.workload(client, device_ids=devices, instance_id="rollout")

    parent = await client.get_status("rollout")
    assert parent.runtime_status is Completed
    assert [result["device_id"] for result in parent.output] == devices
    for device, result in zip(devices, parent.output, strict=True):
        child = await client.get_status(f"rollout-{device}")
        assert (child.name, child.runtime_status, child.output) == ("device_provisioning", Completed, result)
        assert result == {"device_id": device, "provisioned_by": f"rollout-{device}", "parent": "rollout"}
        assert names(await client.get_history(f"rollout-{device}")) == ["create_api_key", "install_api_key"]
    assert names(await client.get_history("rollout"), "SubOrchestrationInstanceCreated") == ["device_provisioning"] * 2
    assert printed(capsys) == [
        "sub-orchestrations: rollout Completed: 2 devices provisioned in parallel",
        "  by the child orchestrations rollout-thermostat, rollout-camera",
    ]


# --- eternal orchestration ----------------------------------------------------------------------------------------


async def test_the_eternal_orchestration_continues_as_new_for_each_generation(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, eternal.app):
        assert await eternal.workload(client, generations=3, interval=0.2, instance_id="cleanup")

    status = await client.get_status("cleanup", show_input=True)
    assert (status.runtime_status, status.output) == (Completed, "3 cleanups in 3 generations")
    assert status.custom_status == "3 cleanups done"
    assert status.input_ == {"generation": 2, "generations": 3, "interval_seconds": 0.2}  # the last generation's
    # The history is the last generation's alone: its cleanup, and no timer (the demo ends there).
    history = await client.get_history("cleanup")
    assert names(history) == ["do_cleanup"]
    assert events(history, "TimerCreated") == []
    assert printed(capsys) == [
        f"eternal orchestration: cleanup Completed: 3 cleanups in 3 generations, 0.2 s apart "
        f"(its history holds the last generation only: {len(history)} events)"
    ]


# --- retries and compensation -------------------------------------------------------------------------------------


async def test_a_transient_failure_is_retried_and_a_permanent_one_compensated(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, retries_and_compensation.app):
        assert await retries_and_compensation.workload(client, retry_interval_ms=100, gateway_timeouts=2)

    assert printed(capsys) == [
        "retries: alice -> bob 100 transferred; the debit went through on attempt 3 of 3",
        "compensation: alice -> carol 50 refunded to alice: the credit failed 3 times "
        "(Activity function 'credit_account' failed: account carol is closed)",
    ]
    transfers = {status.output["status"]: status for status in await instances_of(client, "transfer_funds")}
    to_bob, to_carol = transfers.pop("transferred"), transfers.pop("refunded")
    assert transfers == {}
    assert to_bob.runtime_status is to_carol.runtime_status is Completed
    assert to_bob.instance_id and to_carol.instance_id
    assert to_bob.output["credit"] == {"account": "bob", "amount": 100}
    assert to_carol.output["refund"] == {"account": "alice", "amount": 50}

    bob_history = await client.get_history(to_bob.instance_id)
    assert names(bob_history) == ["debit_account"] * 3 + ["credit_account"]
    assert len(events(bob_history, "TimerFired")) == 2  # the waits between attempts are durable timers
    carol_history = await client.get_history(to_carol.instance_id)
    assert names(carol_history) == ["debit_account"] + ["credit_account"] * 3 + ["refund_account"]
    assert len(events(carol_history, "TaskFailed")) == 3


async def test_a_debit_that_fails_on_every_attempt_fails_the_transfer(
    client: DurableOrchestrationClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(client, retries_and_compensation.app):
        assert not await retries_and_compensation.workload(client, retry_interval_ms=100, gateway_timeouts=3)

    failed = [s for s in await instances_of(client, "transfer_funds") if s.runtime_status is Failed]
    [to_bob] = failed
    assert "the bank's gateway timed out (attempt 3)" in to_bob.output
    assert printed(capsys) == [
        "transfer alice -> bob 100: Failed: TaskFailedError: Activity function 'debit_account' failed: "
        "the bank's gateway timed out (attempt 3)",
        "compensation: alice -> carol 50 refunded to alice: the credit failed 3 times "
        "(Activity function 'credit_account' failed: account carol is closed)",
    ]
