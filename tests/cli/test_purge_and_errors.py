"""``durable-storage purge``, and the exit codes and messages of values that are wrong or name nothing."""

from __future__ import annotations

from datetime import timedelta

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus, Worker
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name
from tests.cli.conftest import Cli
from tests.e2e.support import reaches

Status = OrchestrationRuntimeStatus


async def test_purge_by_filter_removes_only_the_ended_instances_created_before_the_time(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    await client.start_new("echo_orchestrator", "old-done", "x")
    await client.start_new("unhandled", "old-failed")
    await client.start_new("collect", "old-running", 1)
    for instance_id in ("old-done", "old-failed"):
        await client.wait_for_completion(instance_id, timeout=20, poll_interval=0.1)
    await reaches(client, "old-running", Status.Running)
    # Azurite compares times to the millisecond: a cutoff 1 ms after the last old start, long before the new one.
    created = (await client.get_status("old-running")).created_time
    assert created is not None
    cutoff = created + timedelta(milliseconds=1)
    await client.start_new("echo_orchestrator", "new-done", "y")
    await client.wait_for_completion("new-done", timeout=20, poll_interval=0.1)

    refused = await cli("purge", "--before", cutoff.isoformat(), "--status", "Completed,Failed")
    purged = await cli("purge", "--before", cutoff.isoformat(), "--status", "Completed,Failed", "--yes", "--json")

    assert refused.code == 2 and "refusing to purge 2 instances" in refused.err and "--yes" in refused.err
    assert (purged.code, purged.json()) == (0, {"instancesDeleted": 2})
    assert "2/2" in purged.err  # the progress bar, on stderr
    remaining = [status.instance_id for status in await client.get_status_all()]
    assert remaining == ["new-done", "old-running"]


async def test_purge_one_instance_then_it_is_not_found(
    cli: Cli, client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await client.start_new("echo_orchestrator", "gone")

    purged = await cli("purge", "gone")
    again = await cli("purge", "gone")
    status = await cli("status", "gone")

    assert (purged.code, purged.out.strip()) == (0, "purged 1 instance")
    assert (again.code, again.err.strip()) == (3, f"error: instance 'gone' was not found in task hub '{hub.name}'")
    assert status.code == 3 and "'gone' was not found" in status.err


async def test_purge_by_filter_refuses_statuses_that_have_not_ended(cli: Cli) -> None:
    ran = await cli("purge", "--before", "1d", "--status", "running,completed")

    assert ran.code == 2
    assert "Running: only instances that have ended are purged by filter" in ran.err


async def test_bad_values_exit_2_naming_the_option_and_the_value(cli: Cli) -> None:
    bad_json = await cli("start", "echo_orchestrator", "--input", "{city: Tokyo}")
    bare_word = await cli("raise", "some-id", "Approval", "--data", "yes")
    bad_status = await cli("list", "--status", "Completed,Done")
    bad_time = await cli("list", "--since", "last tuesday")
    bad_age = await cli("purge", "--before", "3y")
    both = await cli("terminate", "some-id", "--status", "Running")
    neither = await cli("purge")

    assert [r.code for r in (bad_json, bare_word, bad_status, bad_time, bad_age, both, neither)] == [2] * 7
    assert "Invalid value for '--input': '{city: Tokyo}' is not JSON" in bad_json.err
    assert "Invalid value for '--data': 'yes' is not JSON" in bare_word.err and "'\"text\"'" in bare_word.err
    assert "Invalid value for '--status': 'Done' is not a runtime status: must be one of Running, Completed" in (
        bad_status.err
    )
    assert "Invalid value for '--since': 'last tuesday' is not a time: must be ISO 8601" in bad_time.err
    assert "'3y' is not a time" in bad_age.err
    assert "give an instance ID or filters" in both.err and "give an instance ID, or --before" in neither.err
    assert bad_json.out == bad_status.out == ""


async def test_missing_instances_exit_3_naming_them(cli: Cli) -> None:
    ran = {command: await cli(command, "nobody") for command in ("status", "suspend", "resume", "terminate")}
    raised = await cli("raise", "nobody", "Approval", "--data", "1")

    for command, result in {**ran, "raise": raised}.items():
        assert result.code == 3, command
        assert "instance 'nobody' was not found" in result.err, command


async def test_a_mistyped_task_hub_exits_3_and_creates_nothing(cli: Cli, connection_string: str) -> None:
    other = unique_hub_name()

    ran = await cli("list", task_hub=other)

    assert ran.code == 3 and f"task hub '{other}' does not exist" in ran.err and "hub create" in ran.err
    async with TaskHub.from_connection_string(connection_string, task_hub=other) as hub:
        assert await hub.stored_partition_count() is None


async def test_an_orchestration_id_starting_with_at_exits_2_and_starts_nothing(
    cli: Cli, client: DurableOrchestrationClient
) -> None:
    now = await cli("start", "echo_orchestrator", "--id", "@x@", "--input", "1")
    later = await cli("start", "echo_orchestrator", "--id", "@counter@victim", "--start-at", "1h")

    assert (now.code, later.code) == (2, 2)
    assert "instance ID '@x@' is invalid: must not start with '@'" in now.err
    assert "'@counter@victim' is invalid" in later.err
    assert await client.get_status_all() == []
