"""Who may call the server: the token (header or query), loopback-only without one, no cross-origin changes; and
``durable-storage serve`` itself: refuses a public address without a token, serves until SIGTERM, never logs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from durable_storage import DurableOrchestrationClient, TaskHub
from durable_storage.__main__ import main
from durable_storage.errors import ConfigurationError
from durable_storage.testing import wait_until
from durable_storage.web import ManagementServer, create_app, is_loopback
from tests.e2e.support import REPO_ROOT, die_with_parent
from tests.web.support import API, serving

TOKEN = "s3cret-t0ken-for-tests"


async def test_with_a_token_every_request_needs_it(client: DurableOrchestrationClient) -> None:
    async with serving(client, token=TOKEN, worker=False) as served:
        for path in ("/", "/api/info", f"{API}/instances", f"{API}/instances/x"):
            async with served.http.get(path) as response:
                assert response.status == 401, path
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert TOKEN not in await response.text()
        async with served.http.get("/api/info", headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        async with served.http.get("/api/info", params={"token": TOKEN[:-1]}) as response:
            assert response.status == 401

        async with served.http.get("/api/info", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200
            assert (await response.json())["taskHub"] == client.task_hub.name
        async with served.http.get("/", params={"token": TOKEN}) as response:
            assert response.status == 200
            assert "text/html" in response.headers["Content-Type"]
        async with served.http.get(f"{API}/instances/x", params={"token": TOKEN}) as response:
            assert response.status == 404
        assert TOKEN not in repr(served.server)


async def test_without_a_token_only_loopback_hosts_and_same_origin_changes_pass(
    client: DurableOrchestrationClient,
) -> None:
    async with serving(client, worker=False) as served:
        async with served.http.get("/api/info", headers={"Host": "attacker.example"}) as response:
            assert response.status == 403  # a DNS name rebound to 127.0.0.1
        async with served.http.get("/api/info", headers={"Host": "localhost"}) as response:
            assert response.status == 200

        terminate = f"{API}/instances/nobody/terminate"
        async with served.http.post(terminate, headers={"Origin": "http://attacker.example"}) as response:
            assert response.status == 403
        async with served.http.post(terminate, headers={"Origin": served.server.url}) as response:
            assert response.status == 404  # through to the handler: there is no such instance


async def test_the_page_allows_only_its_own_inline_script_and_style(client: DurableOrchestrationClient) -> None:
    async with serving(client, worker=False) as served, served.http.get("/") as response:
        policy = response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert "<script>" in page and "<style>" in page
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_empty_token_is_refused() -> None:
    client = DurableOrchestrationClient.from_connection_string("UseDevelopmentStorage=true")  # contacts nothing
    with pytest.raises(ConfigurationError, match="token"):
        create_app(client, token="")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serve_refuses_a_public_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DURABLE_STORAGE_TOKEN", raising=False)

    code = main(["--connection", "UseDevelopmentStorage=true", "serve", "--host", "0.0.0.0"])

    assert code == 2
    assert "0.0.0.0 is not a loopback address: pass --token" in capsys.readouterr().err


def _start_serve(connection_string: str, hub: TaskHub, log: Path) -> subprocess.Popen[bytes]:
    """``python -m durable_storage ... serve --port 0`` with the token in DURABLE_STORAGE_TOKEN; output to ``log``."""
    command = [
        sys.executable, "-m", "durable_storage", "--connection", connection_string, "--task-hub", hub.name,
        "serve", "--port", "0",
    ]  # fmt: skip
    environment = {key: value for key, value in os.environ.items() if key != "DURABLE_STORAGE_TOKEN"}
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**environment, "DURABLE_STORAGE_TOKEN": TOKEN},
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


async def test_serve_runs_until_sigterm_and_never_prints_the_token(
    connection_string: str, hub: TaskHub, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    process = _start_serve(connection_string, hub, log)
    try:

        async def announced() -> str | None:
            assert process.poll() is None, log.read_text()
            lines = [line for line in log.read_text().splitlines() if line.startswith("dashboard: ")]
            return lines[0].removeprefix("dashboard: ").rstrip("/") if lines else None

        url = await wait_until(announced, timeout=20, what="serve to print its URL")
        async with aiohttp.ClientSession(url) as http:
            async with http.get("/api/info") as response:
                assert response.status == 401
            async with http.get("/api/info", params={"token": TOKEN}) as response:
                assert response.status == 200
        process.send_signal(signal.SIGTERM)

        async def exited() -> bool:
            return process.poll() is not None

        await wait_until(exited, timeout=20, what="serve to stop")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
    output_text = log.read_text()
    assert process.returncode == 0, output_text
    assert "GET /api/info 200" in output_text  # the access log, without the query string
    assert TOKEN not in output_text


async def test_the_server_url_has_the_port_it_got(client: DurableOrchestrationClient) -> None:
    server = ManagementServer(client, port=0)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    async with server:
        assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")
