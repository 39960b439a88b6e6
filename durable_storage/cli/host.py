"""``durable-storage host [APP_DIR]``: run a Durable Functions Python app folder as ``func start`` would.

One process: the app's HTTP triggers, the Durable Functions webhooks and the dashboard on one origin, and a worker
for its orchestrators, activities and entities (``--no-worker`` serves HTTP only; more capacity comes from more
``host`` processes or ``durable-storage worker`` on the same hub). SIGINT or SIGTERM stops taking requests and
work, drains, and releases the partitions. Loopback by default; any other address needs a token, as ``serve``.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from durable_storage.cli._common import EXIT_USAGE, fail, run
from durable_storage.cli.serve import checked_token, token_option
from durable_storage.errors import ConfigurationError

__all__ = ["host_command"]


async def _host(
    app_dir: Path, *, host: str, port: int | None, worker: bool, skip_unsupported: bool, token: str | None
) -> None:
    from durable_storage.host import FunctionsHost  # noqa: PLC0415 (aiohttp and the storage SDK: not for --help)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running = FunctionsHost(
        app_dir, host=host, port=port, worker=worker, skip_unsupported=skip_unsupported, token=token
    )
    async with running:
        assert running.loaded is not None and running.client is not None
        for function in running.loaded.http:
            methods = ",".join(sorted(function.methods)) if function.methods else "all"
            print(f"  {function.spec.name}: [{methods}] {running.url}{running.route_path(function)}", flush=True)
        print(f"Durable Functions HTTP API: {running.url}/runtime/webhooks/durabletask/", flush=True)
        print(f"dashboard: {running.url}/", flush=True)
        role = "with a worker" if worker else "without a worker (--no-worker)"
        print(f"task hub {running.client.task_hub.name}, {role}; SIGINT or SIGTERM stops", flush=True)
        await stop.wait()
        print("stopping: draining and releasing partitions", flush=True)


@click.command("host")
@click.argument("app_dir", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="0 picks a free port. [default: local.settings.json's Host.LocalHttpPort, else 7071]",
)
@click.option("--no-worker", is_flag=True, help="Serve HTTP only; run no orchestrations, activities or entities.")
@click.option("--skip-unsupported", is_flag=True, help="Start without the functions whose triggers we lack.")
@token_option
def host_command(
    app_dir: Path, *, host: str, port: int | None, no_worker: bool, skip_unsupported: bool, token: str | None
) -> None:
    """Run the Functions app in APP_DIR (default: here): HTTP triggers, webhooks, dashboard and a worker."""
    token = checked_token(host, token, exposed="run the app's functions and start, terminate and purge instances")
    try:
        run(_host(app_dir, host=host, port=port, worker=not no_worker, skip_unsupported=skip_unsupported, token=token))
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    except ModuleNotFoundError as error:
        fail(f"cannot load the app in {app_dir}: {error}", EXIT_USAGE)
    except OSError as error:
        fail(f"cannot listen on {host}:{'the configured port' if port is None else port}: {error.strerror or error}")
