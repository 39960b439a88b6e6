"""``durable-storage host``'s wiring: settings, the app, one aiohttp origin, the worker and the timers.

One process, one origin (functions-host.md §1, the lead's design): the app's HTTP triggers under
``/{routePrefix}/``, the Durable Functions webhooks under ``/runtime/webhooks/durabletask/`` and the dashboard at
``/`` (``durable_storage.web``), and the same webhooks under ``/durabletask/`` as the ``rpcBaseUrl`` of the durable
client binding, where the published SDK's client sends its calls (the extension's local RPC endpoint has that
path). A worker runs the app's orchestrators, activities and entities unless ``worker=False``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from durable_storage.app import FunctionKind
from durable_storage.client import DurableOrchestrationClient
from durable_storage.errors import ConfigurationError
from durable_storage.host._binding import binding_json
from durable_storage.host._functions import CLIENT_TYPES, HttpFunction, LoadedApp, TimerFunction, build
from durable_storage.host._http import HttpTriggers
from durable_storage.host._invoke import Invoker, timer_functions
from durable_storage.host._loader_v1 import load_v1
from durable_storage.host._loader_v2 import load_v2
from durable_storage.taskhub import DEFAULT_PARTITION_COUNT, DEFAULT_TASK_HUB
from durable_storage.web import create_app
from durable_storage.web._responses import ORCHESTRATORS
from durable_storage.web._security import AccessLogger
from durable_storage.web._webhooks import RPC_PATH, routes
from durable_storage.worker import Worker, WorkerOptions

__all__ = ["FunctionsHost", "HostSettings", "load_functions", "start_timers"]

_log = logging.getLogger(__name__)
_JOB_HOST = "AzureFunctionsJobHost__"


@dataclass(frozen=True, kw_only=True)
class HostSettings:
    """A stand-in for ``host/_settings.py``'s HostSettings (the same field names), until that module lands."""

    app_dir: Path
    hub_name: str | None = None
    partition_count: int | None = None
    connection_setting: str = "AzureWebJobsStorage"
    route_prefix: str = "api"
    worker_options: dict[str, Any] = field(default_factory=dict)
    script_file: str = "function_app.py"
    warnings: tuple[str, ...] = ()


def _json_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as bad:
        raise ConfigurationError(f"{path} is not JSON: {bad}") from None
    return value if isinstance(value, dict) else {}


def _setting(host_json: Mapping[str, Any], environ: Mapping[str, str], *path: str) -> Any:
    override = environ.get(_JOB_HOST + "__".join(path))
    if override is not None:
        return override
    value: Any = host_json
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def load_settings(app_dir: Path, environ: MutableMapping[str, str]) -> HostSettings:
    """Settings as ``func start`` reads them (minimal): ``local.settings.json`` Values into the environment
    (a variable already set wins), the hub name and route prefix from host.json or its overrides.

    The lead swaps this for ``host._settings.load_host_settings``: this is the one call that reads settings.
    """
    values = _json_file(app_dir / "local.settings.json").get("Values") or {}
    for key, value in values.items():
        if isinstance(value, str | int | float | bool):
            environ.setdefault(str(key), str(value))
    host_json = _json_file(app_dir / "host.json")
    prefix = _setting(host_json, environ, "extensions", "http", "routePrefix")
    hub = _setting(host_json, environ, "extensions", "durableTask", "hubName")
    return HostSettings(
        app_dir=app_dir,
        hub_name=str(hub) if hub else None,
        route_prefix="api" if prefix is None else str(prefix),
        script_file=environ.get("PYTHON_SCRIPT_FILE_NAME") or "function_app.py",
    )


def load_functions(app_dir: Path, script_file: str, *, skip_unsupported: bool) -> LoadedApp:
    """The app in ``app_dir``: v2 when its script file exists (as the worker decides), else ``function.json``
    folders (v1).

    Raises:
        ConfigurationError: nothing to run, or what the loaders and :func:`build` refuse.
    """
    if (app_dir / script_file).is_file():
        found = load_v2(app_dir, script_file)
        return build(found.specs, skip_unsupported=skip_unsupported, app=found.native)
    specs = load_v1(app_dir)
    if not specs:
        raise ConfigurationError(f"{app_dir} has no {script_file} and no function folders with a function.json")
    return build(specs, skip_unsupported=skip_unsupported)


@contextlib.asynccontextmanager
async def start_timers(triggers: Sequence[TimerFunction]) -> AsyncIterator[None]:
    """The seam for the timer runner (``host/_timers.py``'s TimerRunner): the lead plugs it in here."""
    for trigger in triggers:
        _log.warning("timer trigger %r (%s) is not run yet by this host", trigger.function_name, trigger.schedule)
    yield


class FunctionsHost:
    """A Functions app folder served on ``host:port`` while entered: HTTP triggers, webhooks, worker, timers.

    Args:
        app_dir: the app folder (``function_app.py``, or ``function.json`` folders, ``host.json``...).
        port: 0 picks a free port (:attr:`url` has the one chosen).
        worker: run a worker for the app's durable functions in this process.
        token: required on every request when given (``durable_storage.web``'s rule); needed off loopback.
    """

    def __init__(
        self,
        app_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 7071,
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
        self.loaded: LoadedApp | None = None
        self.client: DurableOrchestrationClient | None = None
        self._binding = ""  # the client binding JSON, once the port is known
        self._route_prefix = "api"

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running host."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the host is not running: use it as 'async with FunctionsHost(...)'")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._runner.addresses[0][1]}"

    async def __aenter__(self) -> FunctionsHost:
        settings = load_settings(self.app_dir, self._environ)
        for warning in settings.warnings:
            _log.warning("%s", warning)
        self.loaded = loaded = load_functions(
            self.app_dir, settings.script_file, skip_unsupported=self._skip_unsupported
        )
        client = DurableOrchestrationClient.from_env(
            settings.connection_setting,
            task_hub=settings.hub_name or DEFAULT_TASK_HUB,
            partition_count=settings.partition_count or DEFAULT_PARTITION_COUNT,
        )
        self.client = await self._stack.enter_async_context(client)
        try:
            await self._start(loaded, client, settings)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _start(self, loaded: LoadedApp, client: DurableOrchestrationClient, settings: HostSettings) -> None:
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
        self._runner = await self._listen(app, self._host, self._port)
        rpc_base = self.url if self._token is None else await self._rpc_endpoint(client, orchestrators)
        self._binding = binding_json(self.url, hub, rpc_base_url=rpc_base)
        if self._worker_enabled:
            options = WorkerOptions(**settings.worker_options)
            await self._stack.enter_async_context(Worker(client, loaded.app, options=options))
        await self._stack.enter_async_context(start_timers(timer_functions(loaded.timer_specs, invoker)))
        _log.info("host of %s serving on %s, task hub %s", self.app_dir, self.url, hub)

    async def _listen(self, app: web.Application, host: str, port: int) -> web.AppRunner:
        runner = web.AppRunner(app, access_log_class=AccessLogger, handle_signals=False)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, host, port).start()
        return runner

    async def _rpc_endpoint(self, client: DurableOrchestrationClient, orchestrators: frozenset[str]) -> str:
        # The SDK's client cannot send our token. With one, its calls go to a second listener on loopback only,
        # as the extension's local RPC endpoint (127.0.0.1:17071): loopback is where we answer without a token.
        rpc = create_app(client)
        rpc[ORCHESTRATORS] = orchestrators
        rpc.add_routes(routes(RPC_PATH, sdk_client=True))
        runner = await self._listen(rpc, "127.0.0.1", 0)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    def route_path(self, function: HttpFunction) -> str:
        """The path of an HTTP function's route template (``/api/orchestrators/{functionName}``)."""
        prefix = f"/{self._route_prefix}" if self._route_prefix else ""
        return f"{prefix}/{function.template.template.strip('/')}"

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._runner = None
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
