"""``durable-storage worker APP_DIR``: the worker for a Functions app folder, beside ``host --no-worker``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from durable_storage.__main__ import main
from durable_storage.testing import unique_hub_name
from tests.host.support import (
    APPS,
    app_environment,
    delete_hub,
    running_host,
    spawn,
    stopped_with_sigterm,
    wait_for_output,
)


async def test_a_host_without_a_worker_gets_its_work_done_by_a_worker_on_the_same_folder(
    connection_string: str, tmp_path: Path
) -> None:
    hub, app_dir = unique_hub_name(), APPS / "v2_shop"
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "durable_storage", "worker", str(app_dir)]
    try:
        async with running_host(app_dir, connection_string, tmp_path, "--no-worker", hub=hub) as host:
            worker = spawn(command, app_environment(connection_string, hub), log)
            async with stopped_with_sigterm(worker, log):
                # The worker found the hub through host.json's hubName and its override, as the host did.
                await wait_for_output(worker, log, f"running on task hub {hub}")
                code, payload, _ = await host.request("POST", "/api/orchestrators/price_order", json={"items": ["ab"]})
                assert code == 202, (payload, host.output[-3000:])
                status = await host.finished(payload["statusQueryGetUri"])

        # SHOP_GREETING comes from local.settings.json: the worker applied it before importing the app.
        assert status["runtimeStatus"] == "Completed", log.read_text()
        assert status["output"] == {"total": {"cents": 200, "currency": "EUR"}, "greeting": "welcome"}
        assert "left to `durable-storage host`" in log.read_text()
    finally:
        await delete_hub(connection_string, hub)


@pytest.mark.parametrize(
    "args",
    [
        ["--task-hub", "OtherHub", "worker", str(APPS / "v2_shop")],
        ["worker", str(APPS / "v2_shop"), "--task-hub", "OtherHub"],
    ],
    ids=["before the command", "after it"],
)
def test_a_task_hub_option_that_is_not_the_apps_is_refused(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the command applies local.settings.json's Values
    imported_before = "orders_blueprint" in sys.modules

    code = main(args)

    assert code == 2
    assert "--task-hub 'OtherHub' is not the app's task hub 'ShopHub'" in capsys.readouterr().err
    assert ("orders_blueprint" in sys.modules) == imported_before  # refused before the app was imported


def test_module_colon_app_still_names_an_app_on_our_api(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["worker", "durable_storage:missing"])

    assert code == 2
    assert (
        "durable_storage.missing does not exist; durable_storage has no durable_storage App" in capsys.readouterr().err
    )


def test_the_apps_host_json_sets_the_worker_and_is_checked_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))
    (tmp_path / "function_app.py").write_text("raise AssertionError('the app must not be imported')\n")
    (tmp_path / "host.json").write_text('{"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}}')

    code = main(["worker", str(tmp_path)])

    assert code == 2
    error = capsys.readouterr().err
    assert "host.json extensions.durableTask.maxConcurrentActivityFunctions 0 is invalid" in error
