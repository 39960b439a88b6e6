"""``python -m durable_storage`` / ``durable-storage``: the command line."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys

from durable_storage.cli.hub import hub_info
from durable_storage.cli.quarantine import quarantine_command
from durable_storage.cli.worker import load_app, run_worker
from durable_storage.errors import DurableStorageError
from durable_storage.taskhub import DEFAULT_PARTITION_COUNT, DEFAULT_TASK_HUB, TaskHub
from durable_storage.worker import WorkerOptions

__all__ = ["main"]

# WorkerOptions timings a worker process can override (each defaults to WorkerOptions'). Shorter leases and
# visibilities let another worker take over sooner after a crash, at the cost of more storage requests.
_WORKER_SECONDS = {
    "lease_interval": "how long a partition lease lasts without renewal",
    "lease_renew_interval": "how often leases are renewed and free ones claimed; shorter than --lease-interval",
    "control_queue_visibility": "how long a received orchestration message stays hidden",
    "work_item_visibility": "how long a received activity message stays hidden; renewed while it runs",
    "drain_timeout": "the longest a partition being handed over waits for its running episodes",
}


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
    defaults = {field.name: field.default for field in dataclasses.fields(WorkerOptions)}
    for option, help_text in _WORKER_SECONDS.items():
        flag = "--" + option.replace("_", "-")
        text = f"{help_text} (default {defaults[option]:g})"
        worker.add_argument(flag, dest=option, type=float, metavar="SECONDS", help=text)
    hub = commands.add_parser("hub", help="inspect the task hub")
    hub_commands = hub.add_subparsers(dest="hub_command", required=True)
    info = hub_commands.add_parser(
        "info", help="the hub's queues, tables and containers, and each partition's owner, lease and queue"
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    quarantine = commands.add_parser("quarantine", help="messages set aside because they could never be processed")
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = quarantine_commands.add_parser("list", help="every quarantined message, with its reason")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    requeue = quarantine_commands.add_parser("requeue", help="put a quarantined message back into its queue")
    requeue.add_argument("message_id", metavar="MESSAGE_ID")
    requeue.add_argument("--queue", default=None, help="the queue it came from (needed only when ambiguous)")
    return parser


def _worker_options(arguments: argparse.Namespace) -> WorkerOptions:
    given = {option: getattr(arguments, option) for option in _WORKER_SECONDS}
    return WorkerOptions(**{option: value for option, value in given.items() if value is not None})


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
    if arguments.log_level != "DEBUG":
        # The Azure SDK logs every request and response at INFO: a dozen lines per idle poll would drown ours.
        logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        if arguments.command == "worker":
            app = load_app(arguments.app)
            asyncio.run(run_worker(_hub(arguments), app, _worker_options(arguments)))
        elif arguments.command == "hub":
            print(asyncio.run(hub_info(_hub(arguments), as_json=arguments.json)))
        elif arguments.command == "quarantine":
            text, found = asyncio.run(quarantine_command(_hub(arguments), arguments))
            print(text)
            return 0 if found else 1
    except DurableStorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
