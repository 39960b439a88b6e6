"""Who may call the server: the token (header or query), loopback-only without one, no cross-origin changes; and
``durable-storage serve`` itself: refuses a public address without a token, serves until SIGTERM, never logs it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

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


def _hostile_requests(token: str) -> list[bytes]:
    """Requests aiohttp refuses while parsing, each with the token where its error message quotes the raw bytes."""
    lines = [
        f"GET /api/info?token={token}&pad={'a' * 9000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # line too long
        f"GET /api/info?token={token}\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # NUL in the query
        f"GET /api/info?tok%65n={token} HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",  # bad version, encoded name
        f"G\x01T /api/info?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # bad method
        f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\x01\r\n\r\n",  # bad header
        f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: {token}{'b' * 9000}\r\n\r\n",  # header too long
        f"GET /api/info?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n",
    ]
    return [line.encode("latin-1") for line in lines]


async def test_no_log_record_of_any_logger_holds_the_token_when_aiohttp_rejects_a_request(
    client: DurableOrchestrationClient, caplog: pytest.LogCaptureFixture
) -> None:
    # aiohttp.server logged "Error handling request" with the raw request line, ?token= and all.
    token = "tkn-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    async with serving(client, token=token, worker=False) as served:
        port = URL(served.server.url).port
        for request in _hostile_requests(token):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            answer = await reader.read(4096)
            writer.close()
            assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0], answer[:100]
        async with served.http.get("/api/info", params={"token": token}) as response:
            assert response.status == 200

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert token[:12] not in logged and token[4:16] not in logged
    assert all(token[:12] not in repr(record.__dict__) for record in caplog.records)
    assert "aiohttp.server" in logged and "LineTooLong (400); the request is not logged" in logged
