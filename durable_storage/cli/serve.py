"""``durable-storage serve``: the Durable Functions HTTP API and the dashboard, until SIGINT/SIGTERM.

Loopback (127.0.0.1) by default. Any other address needs a token, because the API can start, terminate and purge
instances: ``--token`` or ``DURABLE_STORAGE_TOKEN``, then every request carries ``Authorization: Bearer TOKEN`` or
``?token=TOKEN``. The token is never printed or logged.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import click

from durable_storage.cli._common import EXIT_USAGE, CliContext, fail, pass_cli, run
from durable_storage.errors import ConfigurationError

if TYPE_CHECKING:
    from durable_storage.client import DurableOrchestrationClient

__all__ = ["checked_token", "serve_command", "token_option"]

_SETTING = "DURABLE_STORAGE_TOKEN"  # the environment variable that can hold the token

token_option = click.option(
    "--token",
    envvar=_SETTING,
    default=None,
    show_envvar=True,
    help="Require 'Authorization: Bearer TOKEN' (or ?token=TOKEN) on every request; needed off loopback.",
)
"""``--token`` of the commands that serve HTTP (``serve``, ``host``)."""


def checked_token(host: str, token: str | None, *, exposed: str) -> str | None:
    """The token (None for an empty one); exits 2 when ``host`` is not loopback and there is none.

    ``exposed``: what anyone reaching the address could do, for the message.
    """
    from durable_storage.web import is_loopback  # noqa: PLC0415 (aiohttp and the storage SDK: not for --help)

    token = token or None
    if token is None and not is_loopback(host):
        fail(
            f"--host {host} is not a loopback address: pass --token (or set {_SETTING}), or anyone who can "
            f"reach it could {exposed}",
            EXIT_USAGE,
        )
    return token


async def _serve(client: DurableOrchestrationClient, host: str, port: int, token: str | None) -> None:
    # The web server and the client's modules import aiohttp and the storage SDK: not for --help.
    from durable_storage.client._management import WEBHOOK_PATH  # noqa: PLC0415
    from durable_storage.web import ManagementServer  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with client, ManagementServer(client, host=host, port=port, token=token) as server:
        print(f"dashboard: {server.url}/", flush=True)
        print(f"Durable Functions HTTP API: {server.url}{WEBHOOK_PATH}/", flush=True)
        print(f"task hub {client.task_hub.name}; SIGINT or SIGTERM stops", flush=True)
        if token:
            print("every request needs the token: 'Authorization: Bearer TOKEN' or '?token=TOKEN'", flush=True)
        await stop.wait()
        print("stopping", flush=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=7071, show_default=True, help="0 picks a free port.")
@token_option
@pass_cli
def serve_command(cli: CliContext, /, host: str, port: int, token: str | None) -> None:
    """Serve the Durable Functions HTTP API and a dashboard of the task hub until SIGINT or SIGTERM."""
    token = checked_token(host, token, exposed="start, terminate and purge instances")
    try:
        client = cli.client()
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    try:
        run(_serve(client, host, port, token))
    except OSError as error:  # the port is taken, the address is not ours
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
