"""Start and stop a local Azurite: in-memory, telemetry off, loopback only.

Used by the test suite (one Azurite per test session on free ports), by ``make demo`` (the default ports, when
nothing listens there) and by users' own integration tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from durable_storage._connection import DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME

__all__ = ["CONNECTION_VARIABLE", "Azurite", "AzuriteError", "azurite_listening"]

CONNECTION_VARIABLE = "DURABLE_STORAGE_TEST_CONNECTION"
"""The environment variable that names an existing account to test against instead of starting Azurite."""

_log = logging.getLogger(__name__)

# Azurite prints one such line per service once it listens; the Table line comes last (toolchain.md §2).
_READY = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://127\.0\.0\.1:(\d+)")
_SERVICES = ("Blob", "Queue", "Table")
_START_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1


class AzuriteError(RuntimeError):
    """Azurite could not be found or did not start."""


def azurite_listening(host: str = "127.0.0.1", ports: tuple[int, ...] = (10000, 10001, 10002)) -> bool:
    """True when something accepts TCP connections on every one of ``ports``."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) != 0:
                return False
    return True


def _find_azurite() -> list[str]:
    """The command that runs Azurite: $DURABLE_STORAGE_AZURITE, the repo's node_modules, or `azurite` on PATH."""
    explicit = os.environ.get("DURABLE_STORAGE_AZURITE")
    if explicit:
        return [explicit] if not explicit.endswith(".js") else ["node", explicit]
    # Going through node directly saves ~0.4 s per start over npx (toolchain.md §2).
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        script = base / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"
        if script.is_file():
            return ["node", str(script)]
    found = shutil.which("azurite")
    if found:
        return [found]
    raise AzuriteError(
        "Azurite was not found: run `npm ci` in the repository (package.json pins it), "
        "set DURABLE_STORAGE_AZURITE to azurite.js, or put `azurite` on PATH"
    )


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: a SIGKILLed test run must not leave an orphaned Azurite behind (toolchain.md §4).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Azurite:
    """One Azurite process. Ports 0 (the default) pick free ports; read them from :attr:`ports`.

    Example::

        with Azurite() as azurite:
            hub = TaskHub.from_connection_string(azurite.connection_string, task_hub="Test")
    """

    def __init__(
        self,
        *,
        blob_port: int = 0,
        queue_port: int = 0,
        table_port: int = 0,
        extent_memory_limit_mb: int | None = 512,
        debug_log: str | os.PathLike[str] | None = None,
    ) -> None:
        self._requested = {"Blob": blob_port, "Queue": queue_port, "Table": table_port}
        self._extent_limit = extent_memory_limit_mb
        self._debug_log = debug_log
        self._process: subprocess.Popen[str] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self.ports: dict[str, int] = {}

    def _command(self) -> list[str]:
        # Always in memory, telemetry off, loopback only; --skipApiVersionCheck because the SDKs speak newer
        # REST versions than Azurite 3.35 knows (toolchain.md §3).
        command = [
            *_find_azurite(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--blobHost",
            "127.0.0.1",
            "--queueHost",
            "127.0.0.1",
            "--tableHost",
            "127.0.0.1",
        ]
        for service in _SERVICES:
            command += [f"--{service.lower()}Port", str(self._requested[service])]
        if self._extent_limit is not None:
            command += ["--extentMemoryLimit", str(self._extent_limit)]
        if self._debug_log is not None:
            command += ["--debug", str(self._debug_log)]
        return command

    def start(self) -> Azurite:
        """Start Azurite and wait until all three services listen. Idempotent."""
        if self._process is not None:
            return self
        # --location cannot be combined with in-memory mode; a private cwd keeps any stray file out of the repo.
        self._workdir = tempfile.TemporaryDirectory(prefix="azurite-")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            self._command(),
            cwd=self._workdir.name,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
        try:
            self.ports = self._wait_ready(self._process)
        except BaseException:
            self.stop()
            raise
        _log.info("Azurite started on ports %s", self.ports)
        return self

    @staticmethod
    def _wait_ready(process: subprocess.Popen[str]) -> dict[str, int]:
        assert process.stdout is not None
        ports: dict[str, int] = {}
        output: list[str] = []
        timer = threading.Timer(_START_TIMEOUT, process.kill)
        timer.start()
        try:
            for line in process.stdout:  # EOF when Azurite exits (or is killed by the timer)
                output.append(line.rstrip())
                if match := _READY.search(line):
                    ports[match[1]] = int(match[2])
                if len(ports) == len(_SERVICES):
                    break
        finally:
            timer.cancel()
        if len(ports) != len(_SERVICES):
            raise AzuriteError("Azurite did not start:\n" + "\n".join(output[-20:]))
        # Keep draining stdout so a chatty Azurite can never block on a full pipe.
        threading.Thread(target=process.stdout.read, daemon=True, name="azurite-stdout").start()
        return ports

    def stop(self) -> None:
        """Stop Azurite (SIGTERM, then SIGKILL after 10 s) and forget its data. Idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def connection_string(self) -> str:
        """An account-key connection string with this Azurite's explicit endpoints."""
        if not self.ports:
            raise AzuriteError("Azurite is not started")
        return connection_string_for(self.ports["Blob"], self.ports["Queue"], self.ports["Table"])

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Azurite(ports={self.ports!r}, running={self.running})"


def connection_string_for(blob_port: int, queue_port: int, table_port: int) -> str:
    """The connection string of the Azurite development account on the given loopback ports."""
    endpoint = "http://127.0.0.1:{}/" + DEV_ACCOUNT_NAME
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint={endpoint.format(blob_port)};QueueEndpoint={endpoint.format(queue_port)};"
        f"TableEndpoint={endpoint.format(table_port)};"
    )
