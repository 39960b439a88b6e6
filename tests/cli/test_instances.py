"""``durable-storage start|status|list|raise|terminate|suspend|resume|rewind``, as a user sees them.

Each test runs the commands against a real Azurite, with an in-process worker where an instance must run.
"""

from __future__ import annotations

import uuid

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from tests.cli.conftest import Cli
from tests.e2e.support import reaches
from tests.web.support import STATUS_MEMBERS

Status = OrchestrationRuntimeStatus


async def test_start_then_status_shows_the_instance_its_input_and_output(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    started = await cli("start", "echo_orchestrator", "--input", '{"city": "Tokyo"}', "--id", "cli-echo")
    assert (started.code, started.out.strip()) == (0, "started echo_orchestrator as instance cli-echo")
    await client.wait_for_completion("cli-echo", timeout=20, poll_interval=0.1)

    shown = await cli("status", "cli-echo")
    as_json = await cli("status", "cli-echo", "--json")

    assert shown.code == 0
    rows = dict(line.split(None, 1) for line in shown.out.replace("Instance ID", "Id").splitlines() if line)
    assert rows["Id"].strip() == "cli-echo" and rows["Status"].strip() == "Completed"
    assert rows["Input"].strip() == rows["Output"].strip() == '{"city": "Tokyo"}'
    status = as_json.json()
    assert list(status) == STATUS_MEMBERS  # the Durable Functions HTTP API shape, nulls included
    assert status["runtimeStatus"] == "Completed" and status["customStatus"] is None
    assert status["input"] == status["output"] == {"city": "Tokyo"}


async def test_start_with_a_generated_id_a_version_and_a_later_start(
    cli: Cli, client: DurableOrchestrationClient
) -> None:
    started = await cli("start", "echo_orchestrator", "--version", "2.0", "--start-at", "1h", "--json")

    instance_id = started.json()["instanceId"]
    assert started.json() == {"instanceId": instance_id, "name": "echo_orchestrator"} and len(instance_id) == 32
    assert (await client.get_status(instance_id)).runtime_status is Status.Pending


async def test_list_filters_by_status_prefix_name_and_time(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    for instance_id in ("done-1", "done-2"):
        await client.start_new("echo_orchestrator", instance_id, instance_id)
    await client.start_new("collect", "wait-1", 1)
    for instance_id in ("done-1", "done-2"):
        await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    await reaches(client, "wait-1", Status.Running)

    def ids(output: str) -> list[str]:
        return [line.split()[0] for line in output.splitlines()[1:]]

    everything = await cli("list")
    completed = await cli("list", "--status", "completed")
    waiting = await cli("list", "--prefix", "wait-", "--json")
    by_name = await cli("list", "--name", "COLLECT", "--status", "Running,Pending")
    limited = await cli("list", "--limit", "1")
    old = await cli("list", "--until", "1h")
    recent = await cli("list", "--since", "10m", "--all", "--json")
    costed = await cli("list", "--status", "completed", "--cost")
    costed_json = await cli("list", "--prefix", "done-1", "--cost", "--json")

    header = "INSTANCE ID  NAME               STATUS     CREATED               LAST UPDATED          OUTPUT"
    assert (everything.code, everything.out.splitlines()[0]) == (0, header)
    assert ids(everything.out) == ["done-1", "done-2", "wait-1"]
    assert "Completed" in everything.out and "done-2" in everything.out.splitlines()[2]
    assert ids(completed.out) == ["done-1", "done-2"]
    assert [s["instanceId"] for s in waiting.json()] == ["wait-1"] and waiting.json()[0]["runtimeStatus"] == "Running"
    assert ids(by_name.out) == ["wait-1"]
    assert ids(limited.out) == ["done-1"] and "showing the first 1: more match" in limited.err
    assert (old.code, old.out) == (0, "") and "no instance matches" in old.err
    assert len(recent.json()) == 3
    # --cost adds the estimate of `durable-storage cost` to each row: transactions, a price and the bytes stored.
    assert costed.out.splitlines()[0].split()[-4:] == ["TRANSACTIONS", "EST.", "USD", "STORED"], costed.out
    assert all("$" in line and int(line.split()[-4]) > 10 for line in costed.out.splitlines()[1:]), costed.out
    (done_1,) = costed_json.json()
    assert done_1["instanceId"] == "done-1" and done_1["cost"]["transactions"], done_1


async def test_raise_completes_a_waiting_orchestration(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    await cli("start", "approval", "--input", "300", "--id", "needs-ok")
    await reaches(client, "needs-ok", Status.Running)

    raised = await cli("raise", "needs-ok", "Approval", "--data", '"ann"')

    assert (raised.code, raised.out.strip()) == (0, "event Approval raised to instance needs-ok")
    done = await client.wait_for_completion("needs-ok", timeout=20, poll_interval=0.1)
    assert (done.runtime_status, done.output) == (Status.Completed, "approved by ann")
    ended = await cli("raise", "needs-ok", "Approval")
    assert ended.code == 1 and "needs-ok" in ended.err and "Completed" in ended.err


async def test_suspend_resume_and_terminate_change_the_status(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    await client.start_new("collect", "held", 1)
    await reaches(client, "held", Status.Running)

    suspended = await cli("suspend", "held", "--reason", "maintenance")
    await reaches(client, "held", Status.Suspended)
    resumed = await cli("resume", "held")
    await reaches(client, "held", Status.Running)
    terminated = await cli("terminate", "held", "--reason", "no longer needed")
    await reaches(client, "held", Status.Terminated)
    again = await cli("terminate", "held")

    assert [suspended.code, resumed.code, terminated.code] == [0, 0, 0]
    assert terminated.out.strip() == "terminate sent to instance held: a worker applies it"
    assert (await client.get_status("held")).output == "no longer needed"
    assert (again.code, again.out.strip()) == (0, "instance held is already Terminated: nothing to terminate")


async def test_rewind_runs_a_failed_instance_again(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    key = uuid.uuid4().hex
    await client.start_new("flaky_then_done", "flaky", {"key": key, "failures": 1})
    failed = await client.wait_for_completion("flaky", timeout=20, poll_interval=0.1)
    assert failed.runtime_status is Status.Failed

    rewound = await cli("rewind", "flaky", "--reason", "fixed")
    done = await client.wait_for_completion("flaky", timeout=20, poll_interval=0.1)
    not_failed = await cli("rewind", "flaky")

    assert rewound.code == 0 and done.runtime_status is Status.Completed
    assert not_failed.code == 1 and "only a Failed instance can be rewound" in not_failed.err


async def test_bulk_terminate_ends_the_matches_only_after_confirmation(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    batch = ["batch-1", "batch-2", "batch-3"]
    for instance_id in [*batch, "other-1"]:
        await client.start_new("collect", instance_id, 1)
    for instance_id in [*batch, "other-1"]:
        await reaches(client, instance_id, Status.Running)

    refused = await cli("terminate", "--status", "running", "--prefix", "batch-")
    assert refused.code == 2 and "pass --yes" in refused.err and "terminate 3 instances" in refused.err

    done = await cli("terminate", "--status", "running", "--prefix", "batch-", "--yes", "--reason", "cleanup")

    assert (done.code, done.out.strip()) == (0, "terminate sent to 3 instances: the workers apply it")
    assert "3/3" in done.err  # the progress bar, on stderr
    for instance_id in batch:
        await reaches(client, instance_id, Status.Terminated)
    assert (await client.get_status("other-1")).runtime_status is Status.Running


async def test_bulk_terminate_asks_on_a_terminal(
    cli: Cli, client: DurableOrchestrationClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.start_new("collect", "asked", 1)  # Pending: no worker runs here

    class Terminal:
        def __init__(self, answer: str) -> None:
            self.answer = answer

        def isatty(self) -> bool:
            return True

        def readline(self) -> str:
            return self.answer

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    declined = await cli("terminate", "--prefix", "ask")
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    accepted = await cli("terminate", "--prefix", "ask")

    assert declined.code == 1 and "Terminate 1 instance" in declined.err and "did not terminate" in declined.err
    assert accepted.code == 0 and accepted.out.strip() == "terminate sent to 1 instance: the workers apply it"
