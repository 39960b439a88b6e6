"""The replay gate on a real task hub: unchanged code passes, each changed version is caught for every order in flight.

The orders were recorded by ``tests.gate.apps.v1`` (see conftest.py); each test replays them against a version of
the code, as ``durable-storage replay`` does in CI before a deployment, and nothing is written to the hub.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from durable_storage import App, OrchestrationRuntimeStatus
from durable_storage.__main__ import main
from durable_storage._clock import utcnow
from durable_storage.errors import ConfigurationError, ResourceNotFoundError
from durable_storage.gate import GateReport, check_histories, check_hub, export_instance, read_exports
from durable_storage.taskhub import TaskHub
from tests.gate import apps
from tests.gate.conftest import Deployed

Completed = OrchestrationRuntimeStatus.Completed


def failures_by_instance(report: GateReport) -> dict[str, tuple[int | None, int | None, str, str]]:
    return {
        check.instance_id: (
            check.failure.sequence,
            check.failure.history_index,
            check.failure.recorded,
            check.failure.actual,
        )
        for check in report.failures
        if check.failure is not None
    }


async def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``durable-storage`` in a thread of its own (it runs its own event loop); exit code, stdout, stderr."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- the library: check_hub -----------------------------------------------------------------------------------------


async def test_unchanged_code_replays_every_order_in_flight(deployed: Deployed) -> None:
    report = await check_hub(deployed.hub, apps.v1)

    assert report.ok
    assert sorted(c.instance_id for c in report.checks) == deployed.in_flight  # the completed order is not in flight
    assert {c.outcome for c in report.checks} == {"passed"}
    [summary] = report.by_name()
    assert (summary.name, summary.replayed, summary.passed, summary.failed) == ("process_order", 3, 3, 0)


async def test_a_renamed_activity_is_caught_at_sequence_0_for_every_order(deployed: Deployed) -> None:
    report = await check_hub(deployed.hub, apps.renamed)

    assert not report.ok
    assert failures_by_instance(report) == {
        instance_id: (
            0,
            deployed.index_of(instance_id, "TaskScheduled", "validate"),
            "TaskScheduled 'validate'",
            "call_activity 'validate_order'",
        )
        for instance_id in deployed.in_flight
    }
    assert all("Non-Deterministic workflow detected" in c.failure.reason for c in report.failures if c.failure)


async def test_an_inserted_step_is_caught_at_sequence_2_where_the_orders_wait(deployed: Deployed) -> None:
    report = await check_hub(deployed.hub, apps.inserted)

    assert failures_by_instance(report) == dict.fromkeys(
        deployed.in_flight,
        (2, None, "nothing: the recorded run was waiting here", "call_activity 'notify_customer'"),
    )


async def test_a_branch_on_the_wall_clock_is_caught_at_sequence_1(deployed: Deployed) -> None:
    report = await check_hub(deployed.hub, apps.wall_clock)

    assert failures_by_instance(report) == {
        instance_id: (
            1,
            deployed.index_of(instance_id, "TaskScheduled", "reserve"),
            "TaskScheduled 'reserve'",
            "call_activity 'expedite'",
        )
        for instance_id in deployed.in_flight
    }


async def test_every_status_includes_the_completed_order_and_a_change_breaks_it_too(deployed: Deployed) -> None:
    unchanged = await check_hub(deployed.hub, apps.v1, statuses=None)
    completed_only = await check_hub(deployed.hub, apps.renamed, statuses=["Completed"])

    assert unchanged.ok and len(unchanged.checks) == 4
    assert [(c.instance_id, c.runtime_status, c.outcome) for c in completed_only.checks] == [
        (deployed.completed, "Completed", "failed")
    ]


async def test_filters_by_name_creation_time_and_a_limit_per_name(deployed: Deployed) -> None:
    other_name = await check_hub(deployed.hub, apps.renamed, names=["no_such_orchestrator"])
    recent = await check_hub(deployed.hub, apps.v1, since=utcnow() - timedelta(hours=1))
    older = await check_hub(deployed.hub, apps.v1, since=utcnow() - timedelta(hours=3))
    latest = await check_hub(deployed.hub, apps.v1, limit=1)

    assert other_name.checks == ()
    assert recent.checks == ()  # recorded two hours ago
    assert len(older.checks) == 3
    assert [c.instance_id for c in latest.checks] == [deployed.in_flight[-1]]  # the most recently created


async def test_an_orchestrator_missing_from_the_app_fails_each_instance_with_the_reason(deployed: Deployed) -> None:
    report = await check_hub(deployed.hub, App())

    assert len(report.failures) == 3
    failure = report.failures[0].failure
    assert failure is not None and failure.sequence is None
    assert "orchestrator 'process_order' is not registered in the app" in failure.reason


async def test_bad_filters_name_the_value_and_a_missing_hub_is_not_found(deployed: Deployed) -> None:
    with pytest.raises(ConfigurationError, match="limit 0 is invalid"):
        await check_hub(deployed.hub, apps.v1, limit=0)
    with pytest.raises(ConfigurationError, match="since"):
        await check_hub(deployed.hub, apps.v1, since=utcnow().replace(tzinfo=None))
    async with TaskHub.from_connection_string(deployed.connection_string, task_hub="gateNoSuchHub") as missing:
        with pytest.raises(ResourceNotFoundError, match="task hub 'gateNoSuchHub' was not found"):
            await check_hub(missing, apps.v1)


async def test_an_exported_history_round_trips_and_replays_the_same(deployed: Deployed) -> None:
    instance_id = deployed.in_flight[0]
    exported = await export_instance(deployed.hub, instance_id)

    [read_back] = read_exports(json.dumps(exported.to_dict()))

    assert read_back == exported
    assert read_back.to_dict()["history"] == deployed.histories[instance_id]  # the shape of client.get_history
    assert (read_back.name, read_back.runtime_status) == ("process_order", "Running")
    assert check_histories(apps.v1, [read_back]).ok
    assert failures_by_instance(check_histories(apps.renamed, [read_back]))[instance_id][0] == 0


# --- the command line -----------------------------------------------------------------------------------------------


async def test_replay_exits_0_and_prints_the_summary_when_the_code_is_unchanged(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await cli(capsys, *deployed.cli_args("replay", "tests.gate.apps:v1"))

    assert code == 0, err
    assert f"task hub {deployed.hub.name}: 3 instances of 1 orchestrator" in out
    assert out.split("\n")[2].split() == ["process_order", "3", "3", "0", "0"]


async def test_replay_exits_1_and_names_each_failing_instance_and_sequence(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await cli(
        capsys, *deployed.cli_args("replay", "tests.gate.apps:wall_clock", "--name", "process_order")
    )

    assert code == 1
    assert "error: 3 instances of 3 no longer replay with this code" in err
    rows = [line for line in out.splitlines() if line.startswith("order-")]
    assert len(rows) == 3
    for row in rows:
        assert row.split()[1:4] == [
            "process_order",
            "1",
            str(deployed.index_of(row.split()[0], "TaskScheduled", "reserve")),
        ]
        assert "TaskScheduled 'reserve'" in row and "call_activity 'expedite'" in row


async def test_replay_json_reports_every_check(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await cli(capsys, *deployed.cli_args("replay", "tests.gate.apps:inserted", "--json", "--limit", "2"))

    report = json.loads(out)
    assert code == 1
    assert report["ok"] is False
    assert report["summary"] == [{"name": "process_order", "replayed": 2, "passed": 0, "failed": 2, "skipped": 0}]
    assert {c["failure"]["sequence"] for c in report["checks"]} == {2}


async def test_history_export_then_replay_from_file_round_trips(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    instance_id = deployed.in_flight[1]
    exported = tmp_path / "order.json"

    code, out, err = await cli(capsys, *deployed.cli_args("history", instance_id, "--export", str(exported)))
    assert code == 0, err
    assert f"exported {len(deployed.histories[instance_id])} events of {instance_id}" in out

    passed = await cli(capsys, "replay", "tests.gate.apps:v1", "--from-file", str(exported))
    failed = await cli(capsys, "replay", "tests.gate.apps:renamed", "--from-file", str(exported), "--json")

    assert passed[0] == 0 and f"file {exported}: 1 instance of 1 orchestrator" in passed[1]
    assert failed[0] == 1
    [check] = json.loads(failed[1])["checks"]
    assert (check["instance_id"], check["failure"]["sequence"]) == (instance_id, 0)


async def test_history_prints_the_events_and_its_json_is_the_export(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = deployed.in_flight[2]

    code, out, _ = await cli(capsys, *deployed.cli_args("history", instance_id))
    as_json = await cli(capsys, *deployed.cli_args("history", instance_id, "--json"))

    assert code == 0
    assert out.startswith(f"instance {instance_id}: process_order, Running")
    assert "TaskScheduled" in out and "validate" in out and "reserve" in out
    assert json.loads(as_json[1])["history"] == deployed.histories[instance_id]


async def test_usage_errors_exit_2_and_unknown_names_exit_3(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad_status = await cli(capsys, *deployed.cli_args("replay", "tests.gate.apps:v1", "--status", "runing"))
    bad_app = await cli(capsys, *deployed.cli_args("replay", "tests.gate.apps:nothing"))
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"format": "something else"}')
    bad_file = await cli(capsys, "replay", "tests.gate.apps:v1", "--from-file", str(garbage))
    no_instance = await cli(capsys, *deployed.cli_args("history", "no-such-order"))
    no_hub = await cli(
        capsys, "--connection", deployed.connection_string, "--task-hub", "gateNoSuchHub", "history", "x"
    )

    assert bad_status[0] == 2 and "'runing' is not a runtime status" in bad_status[2]
    assert (
        bad_app[0] == 2 and "tests.gate.apps.nothing does not exist; the App objects in tests.gate.apps: " in bad_app[2]
    )
    assert bad_file[0] == 2 and "format 'something else'" in bad_file[2]
    assert no_instance[0] == 3 and "instance 'no-such-order' was not found" in no_instance[2]
    assert no_hub[0] == 3 and "task hub 'gateNoSuchHub' does not exist" in no_hub[2]
