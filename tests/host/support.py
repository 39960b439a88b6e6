"""Running ``durable-storage host`` on an app folder in a subprocess, and driving it over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from durable_storage import TaskHub
from durable_storage.testing import unique_hub_name, wait_until
from tests.e2e.support import REPO_ROOT, die_with_parent

APPS = Path(__file__).parent / "apps"
_HUB_OVERRIDE = "AzureFunctionsJobHost__extensions__durableTask__hubName"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class RunningHost:
    """A host process: its base URL, its task hub, its output so far, and an HTTP session to drive it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, url: str, hub: str) -> None:
        self.process, self.log, self.url, self.hub = process, log, url, hub
        self.session = aiohttp.ClientSession()

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        """``(status, body, response)``: the body as JSON when it is JSON, else as text."""
        url = path if path.startswith("http") else self.url + path
        async with self.session.request(method, url, **kwargs) as response:
            text = await response.text()
            try:
                body: Any = await response.json(content_type=None) if text else None
            except ValueError:
                body = text
            return response.status, body, response

    async def finished(self, status_url: str, timeout: float = 30) -> dict[str, Any]:
        """Poll a statusQueryGetUri until the instance ended; its status payload."""

        async def ended() -> dict[str, Any] | None:
            code, body, _ = await self.request("GET", status_url)
            return body if code == 200 else None

        result: dict[str, Any] = await wait_until(ended, timeout=timeout, what=f"{status_url} to end")
        return result


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )


@asynccontextmanager
async def running_host(app_dir: Path, connection_string: str, tmp: Path, *args: str) -> AsyncIterator[RunningHost]:
    """``durable-storage host APP_DIR --port P`` on a fresh hub; stopped with SIGTERM (it must exit 0)."""
    port, hub = free_port(), unique_hub_name()
    env = {**os.environ, "AzureWebJobsStorage": connection_string, _HUB_OVERRIDE: hub}
    log = tmp / f"host-{port}.log"
    command = [sys.executable, "-m", "durable_storage", "host", str(app_dir), "--port", str(port), *args]
    process = _spawn(command, env, log)
    host = RunningHost(process, log, f"http://127.0.0.1:{port}", hub)

    async def ready() -> bool:
        assert process.poll() is None, f"the host exited early:\n{host.output}"
        return "SIGINT or SIGTERM stops" in host.output

    try:
        await wait_until(ready, timeout=60, what="the host to start")
        yield host
    finally:
        await host.session.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0, f"the host exited with {code}:\n{host.output}"
        async with TaskHub.from_connection_string(connection_string, task_hub=hub) as created:
            await created.delete()
