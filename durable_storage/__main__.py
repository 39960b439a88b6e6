"""``python -m durable_storage`` / ``durable-storage``: the command line (click, with rich tables).

Commands are imported when used (``--help`` lists them all without importing the web server or the worker).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from durable_storage._names import DEFAULT_PARTITION_COUNT, DEFAULT_TASK_HUB, MAX_PARTITIONS
from durable_storage.cli._common import CliContext

__all__ = ["cli", "main"]

# name -> (module, attribute, one-line help)
_INSTANCES = "durable_storage.cli.instances"
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "worker": ("durable_storage.cli.worker", "worker_command", "Run a worker for an App until SIGINT/SIGTERM."),
    "host": ("durable_storage.cli.host", "host_command", "Run a Durable Functions app folder, as `func start` would."),
    "serve": ("durable_storage.cli.serve", "serve_command", "The dashboard and the Durable Functions HTTP API."),
    "start": (_INSTANCES, "start_command", "Start an orchestration."),
    "status": (_INSTANCES, "status_command", "One instance's status."),
    "list": (_INSTANCES, "list_command", "Instances, filtered by status, name, prefix or time."),
    "raise": (_INSTANCES, "raise_command", "Raise an external event to an instance."),
    "terminate": (_INSTANCES, "terminate_command", "Terminate an instance, or every instance a filter matches."),
    "suspend": (_INSTANCES, "suspend_command", "Suspend a running instance."),
    "resume": (_INSTANCES, "resume_command", "Resume a suspended instance."),
    "rewind": (_INSTANCES, "rewind_command", "Rewind a failed instance."),
    "purge": (_INSTANCES, "purge_command", "Delete an instance's history, or every ended instance a filter matches."),
    "history": ("durable_storage.cli.history", "history_command", "An instance's history, or export it as JSON."),
    "replay": ("durable_storage.cli.replay", "replay_command", "Replay stored histories against your code (CI gate)."),
    "cost": ("durable_storage.cli.cost", "cost_command", "Storage transactions, price and bytes of an instance."),
    "hub": ("durable_storage.cli.hub", "hub_group", "Create, inspect or delete the task hub."),
    "quarantine": ("durable_storage.cli.quarantine", "quarantine_group", "Messages set aside as unprocessable."),
}

# Commands that read the hub and account from the app's own settings (host.json, local.settings.json).
_OWN_SETTINGS = frozenset({"host"})


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = _COMMANDS.get(cmd_name)
        if known is None:
            return super().get_command(ctx, cmd_name)
        module, attribute, _ = known
        command: click.Command = getattr(importlib.import_module(module), attribute)
        if cmd_name not in _OWN_SETTINGS:
            _accept_global_options(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The one-line help comes from the table above, so that --help imports no command module.
        rows = [(name, _COMMANDS[name][2]) for name in sorted(_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


# The options of the hub and account, given before the command (``--task-hub X list``) or after it, on any
# command (``list --task-hub X``): the place users type them, as in `func` and `az`.
_HUB_OPTIONS: dict[str, dict[str, Any]] = {
    "--connection": {
        "help": "Storage connection string (default: the AzureWebJobsStorage settings, as Durable Functions reads "
        "them)."
    },
    "--task-hub": {"help": "The task hub. [default: TestHubName, or $DURABLE_TASK_HUB]"},
    "--partition-count": {
        "type": click.IntRange(1, MAX_PARTITIONS),
        "help": f"Partitions of a hub to create (default {DEFAULT_PARTITION_COUNT}); an existing hub's own count is "
        "used when none is given, and a count given must match it.",
    },
}


def _hub_options(function: Any) -> Any:
    for name, settings in reversed(_HUB_OPTIONS.items()):
        function = click.option(name, default=None, **settings)(function)
    return function


def _accept_global_options(command: click.Command) -> None:
    """Give ``command`` (every command of a group) the hub options, which then override those given before it."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_global_options(sub)
        return
    present = {opt for param in command.params for opt in getattr(param, "opts", ())}
    for name, settings in _HUB_OPTIONS.items():
        if name not in present:
            option = click.Option([name], default=None, expose_value=False, callback=_override, **settings)
            command.params.append(option)


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None and param.name is not None:
        setattr(ctx.ensure_object(CliContext), param.name, value)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@_hub_options
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=None,
    help="Log level on stderr (default: INFO for worker and serve, WARNING for the rest).",
)
@click.pass_context
def cli(
    ctx: click.Context, connection: str | None, task_hub: str | None, partition_count: int | None, log_level: str | None
) -> None:
    """Durable Task on Azure Storage: run workers, manage instances, inspect a task hub.

    Exit codes: 0 done, 1 the operation failed, 2 bad usage or an invalid value, 3 not found.
    """
    given = [
        name
        for name, value in zip(_HUB_OPTIONS, (connection, task_hub, partition_count), strict=True)
        if value is not None
    ]
    if ctx.invoked_subcommand in _OWN_SETTINGS and given:
        # Ignoring them would run the app on another hub or account than the one asked for.
        raise click.UsageError(
            f"{', '.join(given)} cannot be given to `{ctx.invoked_subcommand}`: it reads the task hub from host.json "
            "(extensions.durableTask.hubName) and the connection from AzureWebJobsStorage (local.settings.json or "
            "the environment)"
        )
    level = (log_level or ("INFO" if ctx.invoked_subcommand in ("worker", "serve", "host") else "WARNING")).upper()
    _configure_logging(level)
    if task_hub is None:
        task_hub = os.environ.get("DURABLE_TASK_HUB", DEFAULT_TASK_HUB)
    ctx.obj = CliContext(connection=connection, task_hub=task_hub, partition_count=partition_count)


def _quiet_azure(record: logging.LogRecord) -> bool:
    # The Azure SDK logs every request and response at INFO: a dozen lines per idle poll would drown ours.
    return record.levelno >= logging.WARNING or not record.name.startswith("azure")


def _configure_logging(level: str) -> None:
    """Log to stderr at ``level``, unless logging is configured already (a host program, or pytest, calling main).

    The SDK's chatter is filtered on our handler, not by changing the "azure" logger, so that a program calling
    ``main()`` keeps its own logging as it was.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if level != "DEBUG":
        handler.addFilter(_quiet_azure)
    root.addHandler(handler)
    root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        result: Any = cli.main(args=argv, prog_name="durable-storage", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
