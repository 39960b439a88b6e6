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
from durable_storage.clock import Clock, SkewedClock, utcnow
from durable_storage.errors import ConfigurationError
from durable_storage.taskhub import TaskHub
from durable_storage.testing.faults import FaultPlan
from durable_storage.worker import CrashAt, JsonLinesTrace, Worker, WorkerHooks, WorkerOptions

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


async def run_worker(hub: TaskHub, app: App, options: WorkerOptions, hooks: WorkerHooks | None = None) -> None:
    """Run a worker on ``hub`` until SIGINT or SIGTERM; then stop taking work, finish, and release partitions."""
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
        trace = hooks.dequeue_trace if hooks is not None else None
        if isinstance(trace, JsonLinesTrace):
            await asyncio.to_thread(trace.close)  # the last lines, written off the event loop


@dataclasses.dataclass(frozen=True)
class _Seams:
    """What the hidden test options of ``worker`` turn into: the hub's clock and fault plan, the worker's hooks."""

    clock: Clock
    faults: FaultPlan | None
    hooks: WorkerHooks | None

    @classmethod
    def of(
        cls, crash_at: str | None, clock_skew: float | None, faults: str | None, dequeue_trace: str | None
    ) -> _Seams:
        """Raises ConfigurationError naming the first invalid value."""
        hooks = WorkerHooks(
            crash_point=CrashAt.parse(crash_at) if crash_at else None,
            dequeue_trace=JsonLinesTrace(dequeue_trace) if dequeue_trace else None,
        )
        return cls(
            clock=SkewedClock(clock_skew) if clock_skew is not None else utcnow,
            faults=FaultPlan.from_json(faults) if faults else None,
            hooks=hooks if crash_at or dequeue_trace else None,
        )


def _test_options(function: Any) -> Any:
    """The fault tests' switches (reliability.md §5.1), hidden from --help: production never needs them."""
    switches = [
        ("--crash-at", str, "NAME:N", "End the process (exit 137) the N-th time it reaches crash point NAME."),
        ("--clock-skew", float, "SECONDS", "Shift this worker's wall clock (may be negative)."),
        ("--faults", str, "JSON", "Fail storage requests as this FaultPlan JSON says."),
        ("--dequeue-trace", str, "PATH", "Append a JSON line per dequeue loop event to PATH."),
    ]
    for name, kind, metavar, text in reversed(switches):
        function = click.option(name, type=kind, default=None, metavar=metavar, hidden=True, help=text)(function)
    return function


# WorkerOptions timings a worker process can override (each defaults to WorkerOptions'). Shorter leases and
# visibilities let another worker take over sooner after a crash, at the cost of more storage requests.
_WORKER_SECONDS = {
    "lease_interval": "How long a partition lease lasts without renewal.",
    "lease_renew_interval": "How often leases are renewed and free ones claimed; shorter than --lease-interval.",
    "control_queue_visibility": "How long a received orchestration message stays hidden.",
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
@_test_options
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
    """Run a worker for the App MODULE:APP (e.g. function_app:app) until SIGINT or SIGTERM."""
    try:
        seams = _Seams.of(crash_at, clock_skew, faults, dequeue_trace)
        app = load_app(app_target)
        given: dict[str, Any] = {name: value for name, value in seconds.items() if value is not None}
        options = WorkerOptions(**given)
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    run(run_worker(cli.hub(clock=seams.clock, faults=seams.faults), app, options, seams.hooks))
