"""Running ``durable-storage host`` on an app folder in a subprocess, and driving it over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from durable_storage import TaskHub
from durable_storage.testing import unique_hub_name, wait_until
from tests.e2e.support import REPO_ROOT, die_with_parent

APPS = Path(__file__).parent / "apps"
_HUB_OVERRIDE = "AzureFunctionsJobHost__extensions__durableTask__hubName"


def read_log(log: Path) -> str:
    """A process's output so far (small files: read at once, even from a coroutine)."""
    return log.read_text(errors="replace")


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
        return read_log(self.log)

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


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )


def app_environment(connection_string: str, hub: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a process running an app: this one's, the storage account, the hub (as an override of
    host.json's ``hubName``, as on the Functions host) and ``extra`` settings."""
    return {**os.environ, "AzureWebJobsStorage": connection_string, _HUB_OVERRIDE: hub, **(extra or {})}


@asynccontextmanager
async def stopped_with_sigterm(process: subprocess.Popen[bytes], log: Path) -> AsyncIterator[None]:
    """Stop ``process`` with SIGTERM on leaving; it must exit 0 (the log is in the message when it does not)."""
    try:
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0, f"{process.args} exited with {code}:\n{read_log(log)}"


async def wait_for_output(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Wait until ``text`` is in the process's output; fail at once if it exits first."""

    async def there() -> bool:
        assert process.poll() is None, f"{process.args} exited early:\n{read_log(log)}"
        return text in read_log(log)

    await wait_until(there, timeout=60, what=f"{text!r} in the output of {process.args}")


@asynccontextmanager
async def running_host(
    app_dir: Path,
    connection_string: str,
    tmp: Path,
    *args: str,
    hub: str | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[RunningHost]:
    """``durable-storage host APP_DIR --port P``; stopped with SIGTERM (it must exit 0).

    ``hub``: the task hub, which the caller deletes; by default a fresh one, deleted afterwards. ``env``: more
    environment variables for the host.
    """
    port, hub_name = free_port(), hub or unique_hub_name()
    log = tmp / f"host-{port}.log"
    command = [sys.executable, "-m", "durable_storage", "host", str(app_dir), "--port", str(port), *args]
    process = spawn(command, app_environment(connection_string, hub_name, env), log)
    host = RunningHost(process, log, f"http://127.0.0.1:{port}", hub_name)
    try:
        async with stopped_with_sigterm(process, log):
            try:
                await wait_for_output(process, log, "SIGINT or SIGTERM stops")
                yield host
            finally:
                await host.session.close()
    finally:
        if hub is None:
            await delete_hub(connection_string, hub_name)


async def delete_hub(connection_string: str, hub: str) -> None:
    async with TaskHub.from_connection_string(connection_string, task_hub=hub) as created:
        await created.delete()
