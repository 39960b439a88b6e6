"""``durable-storage host``'s wiring: settings, the app, one aiohttp origin, the worker and the timers.

One process, one origin (functions-host.md §1, the lead's design): the app's HTTP triggers under
``/{routePrefix}/``, the Durable Functions webhooks under ``/runtime/webhooks/durabletask/`` and the dashboard at
``/`` (``durable_storage.web``), and the same webhooks under ``/durabletask/`` as the ``rpcBaseUrl`` of the durable
client binding, where the published SDK's client sends its calls (the extension's local RPC endpoint has that
path). A worker runs the app's orchestrators, activities and entities unless ``worker=False``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from types import TracebackType

from aiohttp import web

from durable_storage.app import FunctionKind
from durable_storage.client import DurableOrchestrationClient
from durable_storage.errors import ConfigurationError
from durable_storage.host._binding import binding_json
from durable_storage.host._functions import CLIENT_TYPES, FunctionSpec, HttpFunction, LoadedApp, build
from durable_storage.host._http import HttpTriggers
from durable_storage.host._invoke import Invoker, timer_functions
from durable_storage.host._loader_v1 import load_v1
from durable_storage.host._loader_v2 import load_v2
from durable_storage.host._settings import HostSettings, apply_local_settings, load_host_settings
from durable_storage.host._timers import TimerRunner
from durable_storage.web import create_app
from durable_storage.web._responses import ORCHESTRATORS
from durable_storage.web._security import AccessLogger
from durable_storage.web._webhooks import RPC_PATH, routes
from durable_storage.worker import Worker, WorkerOptions

__all__ = ["DEFAULT_PORT", "FunctionsHost", "load_functions"]

_log = logging.getLogger(__name__)
DEFAULT_PORT = 7071
"""The Functions Core Tools' local port."""


def load_functions(
    app_dir: Path, script_file: str, *, skip_unsupported: bool, allow: Sequence[str] | None = None
) -> LoadedApp:
    """The app in ``app_dir``: v2 when its script file exists (as the worker decides), else ``function.json``
    folders (v1). ``allow`` (host.json ``functions``) keeps only the functions it names, as the host does.

    Raises:
        ConfigurationError: nothing to run, or what the loaders and :func:`build` refuse.
    """
    if (app_dir / script_file).is_file():
        found = load_v2(app_dir, script_file)
        return build(_allowed(found.specs, allow), skip_unsupported=skip_unsupported, app=found.native)
    specs = load_v1(app_dir)
    if not specs:
        raise ConfigurationError(f"{app_dir} has no {script_file} and no function folders with a function.json")
    return build(_allowed(specs, allow), skip_unsupported=skip_unsupported)


def _allowed(specs: Sequence[FunctionSpec], allow: Sequence[str] | None) -> list[FunctionSpec]:
    if allow is None:
        return list(specs)
    wanted = {name.lower() for name in allow}
    return [spec for spec in specs if spec.name.lower() in wanted]


def _default_host_id(app_dir: Path) -> str:
    # The Functions host derives its id from the site (machine) name; ours from the app folder, so that two apps
    # on one hub keep separate timer schedules unless host.json `id` says otherwise.
    name = re.sub(r"[^a-z0-9-]", "-", app_dir.resolve().name.lower()).strip("-")[:32].strip("-")
    return name or "durable-app"


def _bind(host: str, port: int) -> socket.socket:
    # Bound before anything else, so that the URL (and the port 0 chose) is known to the clients and the binding.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class FunctionsHost:
    """A Functions app folder served on ``host:port`` while entered: HTTP triggers, webhooks, worker, timers.

    Args:
        app_dir: the app folder (``function_app.py``, or ``function.json`` folders, ``host.json``...).
        port: 0 picks a free port (:attr:`url` has the one chosen); None: local.settings.json's
            ``Host.LocalHttpPort``, else 7071.
        worker: run a worker for the app's durable functions in this process.
        token: required on every request when given (``durable_storage.web``'s rule); needed off loopback.
    """

    def __init__(
        self,
        app_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        worker: bool = True,
        skip_unsupported: bool = False,
        token: str | None = None,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self._host, self._port, self._worker_enabled = host, port, worker
        self._skip_unsupported, self._token = skip_unsupported, token
        self._environ = os.environ if environ is None else environ
        self._stack = contextlib.AsyncExitStack()
        self._runner: web.AppRunner | None = None
        self._url = ""
        self.loaded: LoadedApp | None = None
        self.client: DurableOrchestrationClient | None = None
        self._binding = ""  # the client binding JSON, once the port is known
        self._route_prefix = "api"

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running host."""
        if not self._url:
            raise RuntimeError("the host is not running: use it as 'async with FunctionsHost(...)'")
        return self._url

    async def __aenter__(self) -> FunctionsHost:
        # As func start: local.settings.json's Values become environment variables before the app is imported.
        for message in apply_local_settings(self.app_dir, self._environ):
            _log.warning("%s", message)
        settings = load_host_settings(self.app_dir, self._environ)
        for warning in settings.warnings:
            _log.warning("%s", warning)
        self.loaded = loaded = load_functions(
            self.app_dir,
            settings.script_file,
            skip_unsupported=self._skip_unsupported,
            allow=settings.functions_allow_list,
        )
        port = self._port if self._port is not None else settings.http_port or DEFAULT_PORT
        sock = _bind(self._host, port)
        self._stack.callback(sock.close)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._url = f"http://{host}:{sock.getsockname()[1]}"
        try:
            # The client's check-status URLs point at this host, which serves the webhooks.
            client = DurableOrchestrationClient.from_env(
                settings.connection_setting,
                task_hub=settings.hub_name,
                partition_count=settings.partition_count,
                management_base_url=self._url,
            )
            self.client = await self._stack.enter_async_context(client)
            await self._start(loaded, client, settings, sock)
        except BaseException:
            self._url = ""
            await self._stack.aclose()
            raise
        return self

    async def _start(
        self, loaded: LoadedApp, client: DurableOrchestrationClient, settings: HostSettings, sock: socket.socket
    ) -> None:
        hub = client.task_hub.name
        self._route_prefix = settings.route_prefix.strip("/")
        _check_client_hubs(loaded, hub)
        invoker = Invoker(lambda spec, binding: self._binding, client)
        triggers = HttpTriggers(loaded.http, invoker, settings.route_prefix)
        app = create_app(client, token=self._token)
        orchestrators = frozenset(loaded.app.names(FunctionKind.ORCHESTRATOR))
        app[ORCHESTRATORS] = orchestrators
        if self._token is None:
            app.add_routes(routes(RPC_PATH, sdk_client=True))
        app.router.add_route("*", triggers.path, triggers.handle)
        self._runner = await self._listen(app, sock)
        rpc_base = self.url if self._token is None else await self._rpc_endpoint(client, orchestrators)
        self._binding = binding_json(self.url, hub, rpc_base_url=rpc_base)
        if self._worker_enabled:
            options = WorkerOptions(**settings.worker_options)
            await self._stack.enter_async_context(Worker(client, loaded.app, options=options))
        timers = timer_functions(loaded.timer_specs, invoker)
        if timers:
            host_id = settings.host_id or _default_host_id(self.app_dir)
            await self._stack.enter_async_context(TimerRunner(timers, hub=client.task_hub, host_id=host_id))
        _log.info("host of %s serving on %s, task hub %s", self.app_dir.resolve(), self.url, hub)

    async def _listen(self, app: web.Application, sock: socket.socket) -> web.AppRunner:
        runner = web.AppRunner(app, access_log_class=AccessLogger, handle_signals=False)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        await web.SockSite(runner, sock).start()
        return runner

    async def _rpc_endpoint(self, client: DurableOrchestrationClient, orchestrators: frozenset[str]) -> str:
        # The SDK's client cannot send our token. With one, its calls go to a second listener on loopback only,
        # as the extension's local RPC endpoint (127.0.0.1:17071): loopback is where we answer without a token.
        rpc = create_app(client)
        rpc[ORCHESTRATORS] = orchestrators
        rpc.add_routes(routes(RPC_PATH, sdk_client=True))
        sock = _bind("127.0.0.1", 0)
        self._stack.callback(sock.close)
        await self._listen(rpc, sock)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def route_path(self, function: HttpFunction) -> str:
        """The path of an HTTP function's route template (``/api/orchestrators/{functionName}``)."""
        prefix = f"/{self._route_prefix}" if self._route_prefix else ""
        return f"{prefix}/{function.template.template.strip('/')}"

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._runner, self._url = None, ""
        await self._stack.aclose()

    def __repr__(self) -> str:
        return f"FunctionsHost({str(self.app_dir)!r}, host={self._host!r}, port={self._port!r})"


def _check_client_hubs(loaded: LoadedApp, hub: str) -> None:
    for function in loaded.http:
        for binding in function.spec.bindings:
            other = binding.fields.get("taskHub") if binding.kind in CLIENT_TYPES else None
            if other and str(other).lower() != hub.lower():
                raise ConfigurationError(
                    f"function {function.spec.name!r}: client binding {binding.name!r} names task hub {other!r}, "
                    f"but this host serves task hub {hub!r} only"
                )
