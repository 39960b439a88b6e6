"""Run the web application on a TCP port, as an async context manager (``serve`` and the tests use it)."""

from __future__ import annotations

import logging
from types import TracebackType

from aiohttp import web

from durable_storage._settings import check_int, show
from durable_storage.client import DurableOrchestrationClient
from durable_storage.errors import ConfigurationError
from durable_storage.web._app import create_app
from durable_storage.web._security import AccessLogger

__all__ = ["ManagementServer"]

_log = logging.getLogger(__name__)


class ManagementServer:
    """The management API and dashboard of ``client``'s hub, listening on ``host:port`` while entered.

    Port 0 picks a free port; :attr:`url` has the one chosen. ``repr`` never shows the token.

    Example::

        async with ManagementServer(client, port=0) as server:
            print(server.url)        # http://127.0.0.1:PORT
    """

    def __init__(
        self, client: DurableOrchestrationClient, *, host: str = "127.0.0.1", port: int = 7071, token: str | None = None
    ) -> None:
        if not isinstance(host, str) or not host:
            raise ConfigurationError(f"host {show(host)} is invalid: must be a non-empty str (a name or an address)")
        self._port = check_int(port, "port", low=0, high=65535)
        self._app = create_app(client, token=token)
        self._host = host
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server (the port it really got)."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the server is not running: use it as 'async with ManagementServer(...)'")
        port = self._runner.addresses[0][1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}"

    async def __aenter__(self) -> ManagementServer:
        runner = web.AppRunner(self._app, access_log_class=AccessLogger, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        _log.info("serving on %s", self.url)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def __repr__(self) -> str:
        return f"ManagementServer(host={self._host!r}, port={self._port!r})"
