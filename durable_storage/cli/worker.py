"""``durable-storage worker MODULE:APP``: run a worker process until SIGINT/SIGTERM, then drain and release."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import signal
import sys
from typing import Any

import click

from durable_storage.app import App
from durable_storage.cli._common import EXIT_USAGE, CliContext, fail, pass_cli, run
from durable_storage.errors import ConfigurationError
from durable_storage.taskhub import TaskHub
from durable_storage.worker import Worker, WorkerOptions

__all__ = ["load_app", "run_worker", "worker_command"]

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
        raise ConfigurationError(f"app {target!r}: {module_name}.{attribute} is {type(app).__name__}, not an App")
    return app


async def run_worker(hub: TaskHub, app: App, options: WorkerOptions) -> None:
    """Run a worker on ``hub`` until SIGINT or SIGTERM; then stop taking work, finish, and release partitions."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with hub, Worker(hub, app, options=options) as worker:
        _log.info("worker %s running; SIGINT or SIGTERM stops it", worker.worker_id)
        print(f"worker {worker.worker_id} running on task hub {hub.name}", flush=True)
        await stop.wait()
        print("stopping: draining and releasing partitions", flush=True)


# WorkerOptions timings a worker process can override (each defaults to WorkerOptions'). Shorter leases and
# visibilities let another worker take over sooner after a crash, at the cost of more storage requests.
_WORKER_SECONDS = {
    "lease_interval": "How long a partition lease lasts without renewal.",
    "lease_renew_interval": "How often leases are renewed and free ones claimed; shorter than --lease-interval.",
    "control_queue_visibility": "How long a received orchestration message stays hidden; renewed while held.",
    "work_item_visibility": "How long a received activity message stays hidden; renewed while it runs.",
    "drain_timeout": "The longest a partition being handed over waits for its running episodes.",
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
@click.argument("app_target", metavar="MODULE:APP")
@_seconds_options
@pass_cli
def worker_command(cli: CliContext, /, app_target: str, **seconds: float | None) -> None:
    """Run a worker for the App MODULE:APP (e.g. function_app:app) until SIGINT or SIGTERM."""
    try:
        app = load_app(app_target)
        given: dict[str, Any] = {name: value for name, value in seconds.items() if value is not None}
        options = WorkerOptions(**given)
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    run(run_worker(cli.hub(), app, options))
