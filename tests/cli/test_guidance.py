"""Errors that say what to do (issue 21 item 3): the App objects a module has, the hub options after the command,
where an unreachable account was looked for and how to start Azurite there, and .NET's containers in ``hub info``.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from durable_storage.__main__ import main
from durable_storage._connection import DEV_ACCOUNT_KEY
from durable_storage.taskhub import TaskHub
from tests.cli.conftest import Cli, Ran


async def _main(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def test_a_worker_target_without_that_app_lists_the_apps_the_module_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "guidance_function_app.py").write_text(
        "import durable_storage as df\nmyApp = df.App()\nshop = df.Blueprint()\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    missing = main(["worker", "guidance_function_app:app"])
    missing_err = capsys.readouterr().err
    not_an_app = main(["worker", "guidance_function_app:df"])
    not_an_app_err = capsys.readouterr().err

    assert missing == 2
    assert "guidance_function_app.app does not exist" in missing_err
    assert "the App objects in guidance_function_app: myApp, shop (e.g. guidance_function_app:myApp)" in missing_err
    assert not_an_app == 2 and "guidance_function_app.df is module, not an App" in not_an_app_err


async def test_the_hub_options_are_accepted_after_the_command_and_win_over_those_before(
    connection_string: str, hub: TaskHub, capsys: pytest.CaptureFixture[str]
) -> None:
    after = await _main(capsys, "hub", "info", "--task-hub", hub.name, "--connection", connection_string)
    both = await _main(
        capsys, "--task-hub", "OtherHub", "list", "--json", "--task-hub", hub.name, "--connection", connection_string
    )
    count = await _main(
        capsys, "hub", "create", "--connection", connection_string, "--task-hub", hub.name, "--partition-count", "2"
    )

    assert after.code == 0 and f"task hub {hub.name}: 4 partitions" in after.out, after.err
    assert (both.code, both.json()) == (0, []), both.err
    assert count.code == 2 and f"task hub '{hub.name}' exists with 4 partitions, not 2" in count.err


def _closed_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _account(name: str, blob: int, queue: int, table: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={name};AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/{name};QueueEndpoint=http://127.0.0.1:{queue}/{name};"
        f"TableEndpoint=http://127.0.0.1:{table}/{name}"
    )


async def test_an_unreachable_development_account_names_the_endpoint_and_the_azurite_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    blob, queue, table = _closed_ports(3)

    ran = await _main(capsys, "--connection", _account("devstoreaccount1", blob, queue, table), "hub", "info")

    assert ran.code == 1
    assert f"nothing answered at http://127.0.0.1:{table}/devstoreaccount1, the local development storage" in ran.err
    assert (
        f"npx azurite --inMemoryPersistence --skipApiVersionCheck --blobPort {blob} --queuePort {queue} "
        f"--tablePort {table}" in ran.err
    )
    assert DEV_ACCOUNT_KEY not in ran.err


async def test_an_unreachable_account_of_ones_own_names_the_endpoint_without_azurite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    blob, queue, table = _closed_ports(3)

    ran = await _main(capsys, "hub", "info", "--connection", _account("mine", blob, queue, table))

    assert ran.code == 1
    assert f"nothing answered at http://127.0.0.1:{table}/mine: check the account's endpoints" in ran.err
    assert "azurite" not in ran.err


async def test_hub_info_marks_the_dotnet_lease_containers_as_not_used_rather_than_missing(
    cli: Cli, hub: TaskHub
) -> None:
    ran = await cli("hub", "info")

    [containers] = [line for line in ran.out.splitlines() if line.startswith("containers: ")]
    prefix = hub.name.lower()
    assert containers == (
        f"containers: {prefix}-largemessages, {prefix}-leases (not used by this provider), "
        f"{prefix}-applease (not used by this provider)"
    )


def test_hub_options_given_to_host_are_refused_not_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # host reads its hub and account from the app's settings: before, --task-hub X was silently not used.
    before = main(["--task-hub", "Elsewhere", "host", str(tmp_path)])
    before_err = capsys.readouterr().err
    after = main(["host", str(tmp_path), "--task-hub", "Elsewhere"])
    after_err = capsys.readouterr().err

    assert before == 2 and "--task-hub cannot be given to `host`: it reads the task hub from host.json" in before_err
    assert after == 2 and "No such option '--task-hub'" in after_err
