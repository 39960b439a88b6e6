"""``durable-storage host`` itself: an app on our own API, and what the command refuses before it starts."""

from __future__ import annotations

import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable_storage.__main__ import main
from durable_storage.testing import wait_until
from tests.host.support import APPS, RunningHost, running_host


@pytest.fixture(scope="module")
async def native(connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHost]:
    async with running_host(APPS / "native_app", connection_string, tmp_path_factory.mktemp("native")) as host:
        yield host


async def test_an_app_on_our_api_runs_under_the_host_with_our_client(native: RunningHost) -> None:
    code, payload, response = await native.request("POST", "/api/start/21")

    assert code == 202, (payload, native.output[-3000:])
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(native.url)
    status = await native.finished(payload["statusQueryGetUri"])
    assert (status["runtimeStatus"], status["output"]) == ("Completed", 42)
    assert "start: [POST] " in native.output  # the routes are listed at start


def test_a_non_loopback_address_needs_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["host", str(APPS / "native_app"), "--host", "0.0.0.0"])

    assert code == 2
    assert "--host 0.0.0.0 is not a loopback address: pass --token" in capsys.readouterr().err


def test_an_app_with_unsupported_bindings_does_not_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command puts local.settings.json's Values into the environment: here, a copy of the test process's.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    (tmp_path / "queue_app.py").write_text(
        textwrap.dedent(
            """
            import azure.functions as func
            app = func.FunctionApp()

            @app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
            def from_queue(msg):
                pass
            """
        )
    )
    (tmp_path / "local.settings.json").write_text('{"Values": {"PYTHON_SCRIPT_FILE_NAME": "queue_app.py"}}')

    code = main(["host", str(tmp_path), "--port", "0"])

    assert code == 2
    error = capsys.readouterr().err
    assert "trigger type 'queueTrigger' is not supported" in error
    assert "--skip-unsupported" in error


async def test_with_a_token_every_request_needs_it_and_the_sdk_client_still_works(
    connection_string: str, tmp_path: Path
) -> None:
    async with running_host(APPS / "v1_greeter", connection_string, tmp_path, "--token", "s3cret") as host:
        assert (await host.request("POST", "/v1/orchestrators/Greet", json=["Rome"]))[0] == 401
        auth = {"Authorization": "Bearer s3cret"}
        # The app's starter calls the SDK's client, which cannot send the token: it reaches us on loopback.
        code, payload, _ = await host.request("POST", "/v1/orchestrators/Greet", json=["Rome"], headers=auth)
        assert code == 202, (payload, host.output[-3000:])
        assert (await host.request("GET", payload["statusQueryGetUri"]))[0] == 401

        async def completed() -> object:
            code, status, _ = await host.request("GET", payload["statusQueryGetUri"], headers=auth)
            return status if code == 200 else None

        status = await wait_until(completed, timeout=20, what="the greeting to complete")
        assert status["output"] == ["Hello Rome!"]
        assert "s3cret" not in host.output
