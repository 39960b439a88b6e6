"""``durable-storage worker MODULE:APP | APP_DIR``: run a worker process until SIGINT/SIGTERM, then drain and release.

Given a Functions app folder, the worker loads it as ``durable-storage host`` does (local.settings.json, host.json and
its ``AzureFunctionsJobHost__`` overrides, the v2 script or the v1 ``function.json`` folders) and runs its
orchestrators, activities and entities on the app's task hub, partition count and worker options: extra capacity
for a host app, or the worker behind ``host --no-worker``. The app's HTTP and timer triggers stay with ``host``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click

from durable_storage.app import App
from durable_storage.cli._common import EXIT_USAGE, CliContext, fail, pass_cli, run
from durable_storage.cli._seams import Seams, seam_options
from durable_storage.errors import ConfigurationError
from durable_storage.worker._options import WorkerOptions

if TYPE_CHECKING:
    from durable_storage.host import HostSettings
    from durable_storage.taskhub import TaskHub
    from durable_storage.worker._hooks import WorkerHooks

__all__ = ["folder_settings", "load_app", "load_app_folder", "run_worker", "worker_command"]

_log = logging.getLogger(__name__)


def load_app(target: str) -> App:
    """The App named by ``MODULE:ATTRIBUTE`` (the module is imported from the current directory or sys.path).

    Raises:
        ConfigurationError: the target is malformed, the module cannot be imported, or the attribute is no App.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"app {target!r} is invalid: must be MODULE:ATTRIBUTE, e.g. function_app:app")
    if "" not in sys.path:
        sys.path.insert(0, "")  # like `python -m`, find the user's module in the current directory
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"app {target!r}: module {module_name!r} cannot be imported: {error}") from None
    app: Any = getattr(module, attribute, None)
    if not isinstance(app, App):
        found = sorted(name for name, value in vars(module).items() if isinstance(value, App))
        problem = f"is {type(app).__name__}, not an App" if hasattr(module, attribute) else "does not exist"
        hint = (
            f"the App objects in {module_name}: {', '.join(found)} (e.g. {module_name}:{found[0]})"
            if found
            else f"{module_name} has no durable_storage App at module level"
        )
        raise ConfigurationError(f"app {target!r}: {module_name}.{attribute} {problem}; {hint}")
    return app


def folder_settings(app_dir: Path) -> HostSettings:
    """The settings of the Functions app in ``app_dir``, read as ``host`` reads them: local.settings.json's
    ``Values`` go into the environment first (a variable already set wins), then host.json and its overrides.

    Raises:
        ConfigurationError: what ``durable-storage host`` refuses in the settings, or azure-functions is missing.
    """
    host = _host_package(app_dir)
    for message in host.apply_local_settings(app_dir, os.environ):
        _log.warning("%s", message)
    settings: HostSettings = host.load_host_settings(app_dir, os.environ)
    for warning in settings.warnings:
        _log.warning("%s", warning)
    return settings


def load_app_folder(settings: HostSettings) -> App:
    """The orchestrators, activities and entities of the app of ``settings`` (:func:`folder_settings`), loaded as
    ``host`` loads them. Functions whose triggers the host lacks are left out with a warning: this worker would
    never run them.

    Raises:
        ConfigurationError: what ``durable-storage host`` refuses in the app.
    """
    app_dir = settings.app_dir
    try:
        loaded = _host_package(app_dir).load_functions(
            app_dir, settings.script_file, skip_unsupported=True, allow=settings.functions_allow_list
        )
    except ModuleNotFoundError as error:
        raise ConfigurationError(f"cannot load the app in {app_dir}: {error}") from None
    if loaded.http or loaded.timer_specs:
        print(
            f"{len(loaded.http)} HTTP and {len(loaded.timer_specs)} timer functions are left to "
            "`durable-storage host`; this worker runs the orchestrators, activities and entities",
            flush=True,
        )
    app: App = loaded.app
    return app


def _host_package(app_dir: Path) -> ModuleType:
    try:
        return importlib.import_module("durable_storage.host")  # it needs azure-functions: only for an app folder
    except ModuleNotFoundError as error:
        raise ConfigurationError(
            f"{app_dir} is a Functions app folder, which needs {error.name!r}: pip install 'durable-storage[host]'"
        ) from None


def _folder_hub(cli: CliContext, settings: HostSettings, seams: Seams) -> TaskHub:
    """The app's hub, partition count and connection setting (``--connection`` wins over the setting), with the
    test seams' clock and faults.

    Raises:
        ConfigurationError: ``--task-hub`` or ``--partition-count`` given and not the app's.
    """
    given = _given_global_options()
    if "task_hub" in given and cli.task_hub.lower() != settings.hub_name.lower():
        raise ConfigurationError(
            f"--task-hub {cli.task_hub!r} is not the app's task hub {settings.hub_name!r} (host.json hubName and "
            "its overrides): a worker on another hub would never run the app's work; leave --task-hub out"
        )
    partitions = settings.partition_count
    if "partition_count" in given and partitions is not None and cli.partition_count != partitions:
        raise ConfigurationError(
            f"--partition-count {cli.partition_count} is not the app's partition count {partitions} "
            "(host.json storageProvider.partitionCount); leave --partition-count out"
        )
    partitions = partitions if partitions is not None else cli.partition_count
    from durable_storage.taskhub import TaskHub  # noqa: PLC0415 (the storage SDK: not for --help)

    where: dict[str, Any] = {"task_hub": settings.hub_name, "partition_count": partitions}
    where.update(clock=seams.clock, faults=seams.faults)
    if cli.connection:
        return TaskHub.from_connection_string(cli.connection, **where)
    return TaskHub.from_env(settings.connection_setting, **where)


def _given_global_options() -> set[str]:
    """The global options given on the command line (not defaults), before the command or after it."""
    context = click.get_current_context()
    given = click.core.ParameterSource.COMMANDLINE
    names = ("task_hub", "partition_count")
    return {
        name
        for name in names
        if given in (context.get_parameter_source(name), context.find_root().get_parameter_source(name))
    }


async def run_worker(hub: TaskHub, app: App, options: WorkerOptions, hooks: WorkerHooks | None = None) -> None:
    """Run a worker on ``hub`` until SIGINT or SIGTERM; then stop taking work, finish, and release partitions."""
    from durable_storage.worker import Worker  # noqa: PLC0415 (the storage SDK: not for --help)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with hub, Worker(hub, app, options=options, hooks=hooks) as worker:
            _log.info("worker %s running; SIGINT or SIGTERM stops it", worker.worker_id)
            print(f"worker {worker.worker_id} running on task hub {hub.name}", flush=True)
            await stop.wait()
            print("stopping: draining and releasing partitions", flush=True)
    finally:
        from durable_storage.worker._hooks import JsonLinesTrace  # noqa: PLC0415

        trace = hooks.dequeue_trace if hooks is not None else None
        if isinstance(trace, JsonLinesTrace):
            await asyncio.to_thread(trace.close)  # the last lines, written off the event loop


# WorkerOptions timings a worker process can override (each defaults to WorkerOptions'). Shorter leases and
# visibilities let another worker take over sooner after a crash, at the cost of more storage requests.
_WORKER_SECONDS = {
    "lease_interval": "How long a partition lease lasts without renewal.",
    "lease_renew_interval": "How often leases are renewed and free ones claimed; shorter than --lease-interval.",
    "control_queue_visibility": "How long a received orchestration message stays hidden; renewed while held.",
    "work_item_visibility": "How long a received activity message stays hidden; renewed while it runs.",
    "drain_timeout": "The longest a partition being handed over waits for its running episodes.",
    "replay_deadline": "The longest one replay may run before its orchestration fails (its thread is abandoned).",
}
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(WorkerOptions)}


def _seconds_options(function: Any) -> Any:
    for option, text in reversed(_WORKER_SECONDS.items()):
        function = click.option(
            "--" + option.replace("_", "-"),
            option,
            type=float,
            default=None,
            metavar="SECONDS",
            help=f"{text} [default: {_DEFAULTS[option]:g}]",
        )(function)
    return function


@click.command("worker")
@click.argument("app_target", metavar="MODULE:APP|APP_DIR")
@_seconds_options
@seam_options
@pass_cli
def worker_command(
    cli: CliContext,
    /,
    app_target: str,
    *,
    crash_at: str | None,
    clock_skew: float | None,
    faults: str | None,
    dequeue_trace: str | None,
    **seconds: float | None,
) -> None:
    """Run a worker for the App MODULE:APP (e.g. function_app:app), or for the durable functions of the Functions
    app folder APP_DIR on the app's own task hub and host.json settings, until SIGINT or SIGTERM."""
    given: dict[str, Any] = {name: value for name, value in seconds.items() if value is not None}
    try:
        seams = Seams.of(crash_at=crash_at, clock_skew=clock_skew, faults=faults, dequeue_trace=dequeue_trace)
        if Path(app_target).is_dir():
            settings = folder_settings(Path(app_target))
            hub = _folder_hub(cli, settings, seams)  # checked before the app is imported
            app = load_app_folder(settings)
            # host.json sets the worker as it sets host's; an option given here wins for this process.
            options = WorkerOptions(**{**settings.worker_options, **given})
        else:
            app = load_app(app_target)
            hub, options = cli.hub(clock=seams.clock, faults=seams.faults), WorkerOptions(**given)
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    run(run_worker(hub, app, options, seams.hooks))
