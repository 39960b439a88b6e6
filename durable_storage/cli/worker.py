"""``durable-storage worker MODULE:APP``: run a worker process until SIGINT/SIGTERM, then drain and release."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from typing import Any

from durable_storage.app import App
from durable_storage.errors import ConfigurationError
from durable_storage.taskhub import TaskHub
from durable_storage.worker import Worker, WorkerOptions

__all__ = ["load_app", "run_worker"]

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
