"""``python -m durable_storage`` / ``durable-storage``: the command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from durable_storage.cli.worker import load_app, run_worker
from durable_storage.errors import DurableStorageError
from durable_storage.taskhub import DEFAULT_PARTITION_COUNT, DEFAULT_TASK_HUB, TaskHub
from durable_storage.worker import WorkerOptions

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="durable-storage", description="Durable Task on Azure Storage")
    parser.add_argument(
        "--connection",
        default=None,
        help="storage connection string (default: the AzureWebJobsStorage settings, as Durable Functions reads them)",
    )
    parser.add_argument("--task-hub", default=os.environ.get("DURABLE_TASK_HUB", DEFAULT_TASK_HUB))
    parser.add_argument("--partition-count", type=int, default=DEFAULT_PARTITION_COUNT)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run a worker for an App until SIGINT/SIGTERM")
    worker.add_argument("app", metavar="MODULE:APP", help="the App to serve, e.g. function_app:app")
    return parser


def _hub(arguments: argparse.Namespace) -> TaskHub:
    if arguments.connection:
        return TaskHub.from_connection_string(
            arguments.connection, task_hub=arguments.task_hub, partition_count=arguments.partition_count
        )
    return TaskHub.from_env(task_hub=arguments.task_hub, partition_count=arguments.partition_count)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad usage or configuration, 1 runtime failure)."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=arguments.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if arguments.command == "worker":
            app = load_app(arguments.app)
            asyncio.run(run_worker(_hub(arguments), app, WorkerOptions()))
    except DurableStorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
