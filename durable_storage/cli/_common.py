"""What every command shares: the hub and client from the global options, output as a table or JSON, exit codes.

Exit codes a script can rely on: 0 done; 1 the operation failed (storage unreachable, a conflict, a replay that
does not match); 2 bad usage or an invalid value (nothing was written); 3 the instance, message or hub named does
not exist.

Results go to stdout (a table, or JSON with ``--json``); errors, questions and progress bars go to stderr, so that
``--json`` output can be piped as it is.

Anyone who can start an instance over HTTP writes the IDs, names, inputs, outputs and statuses these commands
print, so every table cell, message and error passes through :func:`visible`: control characters (an escape
sequence that retitles the window or clears the screen), bidirectional overrides and lone surrogates are shown as
``\x1b``-style escapes, and table cells are plain text, never rich markup (``[bold]`` prints as typed). ``--json``
stays exact: JSON escapes them itself. Option values are parsed by click types (:class:`JsonValue`,
:class:`TimeValue`, :class:`StatusList`): a bad one exits 2 with click's message naming the option and the value.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

from durable_storage._clock import Clock, utcnow
from durable_storage._connection import (
    DEV_ACCOUNT_NAME,
    DEV_PORTS,
    StorageConnection,
    parse_connection_string,
)
from durable_storage._connection_settings import from_environment
from durable_storage._datetimes import assume_utc, utc_seconds_text
from durable_storage._text import visible
from durable_storage.errors import ConfigurationError, DurableStorageError, InstanceNotFoundError, TransientStorageError
from durable_storage.models import OrchestrationRuntimeStatus

if TYPE_CHECKING:
    from durable_storage.client import DurableOrchestrationClient
    from durable_storage.taskhub import TaskHub
    from durable_storage.testing.faults import FaultPlan

__all__ = [
    "require_hub",
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliContext",
    "JsonValue",
    "SafeTable",
    "StatusList",
    "TimeValue",
    "confirm",
    "console",
    "echo",
    "emit_json",
    "fail",
    "for_each",
    "json_option",
    "pass_cli",
    "plain_text",
    "plural",
    "progress",
    "run",
    "show",
    "table",
    "text",
    "time_text",
    "visible",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=False)
_errors = Console(stderr=True, highlight=False)


@dataclass
class CliContext:
    """The global options, turned into a hub or a client on demand."""

    connection: str | None
    task_hub: str
    partition_count: int | None  # None: the hub's recorded count (4 for a hub created here)

    def storage(self) -> StorageConnection:
        """The storage account named by the options (connection string, or the AzureWebJobsStorage settings)."""
        return parse_connection_string(self.connection) if self.connection else from_environment()

    def hub(self, *, clock: Clock = utcnow, faults: FaultPlan | None = None) -> TaskHub:
        """The task hub named by the options, in :meth:`storage`.

        ``clock`` and ``faults`` are the hub's test seams (``worker --clock-skew``, ``--faults``).
        """
        # Imported here: the Azure SDK takes 0.6 s to import, which --help and a usage error should not wait for.
        from durable_storage.taskhub import TaskHub  # noqa: PLC0415

        return TaskHub(
            self.storage(), task_hub=self.task_hub, partition_count=self.partition_count, clock=clock, faults=faults
        )

    def client(self) -> DurableOrchestrationClient:
        """A client of that hub (an async context manager)."""
        from durable_storage.client import DurableOrchestrationClient  # noqa: PLC0415

        if self.connection:
            return DurableOrchestrationClient.from_connection_string(
                self.connection, task_hub=self.task_hub, partition_count=self.partition_count
            )
        return DurableOrchestrationClient.from_env(task_hub=self.task_hub, partition_count=self.partition_count)


pass_cli = click.make_pass_decorator(CliContext)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def text(value: str, style: StyleType = "") -> Text:
    """A rich ``Text`` of ``value`` made :func:`visible`: plain text, never markup."""
    return Text(visible(value), style=style)


def echo(message: str, *, err: bool = False) -> None:
    """Print a line of our own that may quote stored values (IDs, names), made :func:`visible`."""
    click.echo(visible(message, lines=True), err=err)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    _errors.print(f"error: {visible(message, lines=True)}", markup=False, soft_wrap=True)
    raise click.exceptions.Exit(code)


async def require_hub(hub: TaskHub) -> None:
    """Exit 3 unless ``hub`` exists: commands other than ``start`` and ``hub create`` never create one, so a
    mistyped ``--task-hub`` is reported instead of quietly making an empty hub."""
    if await hub.stored_partition_count() is None:
        fail(
            f"task hub {hub.name!r} does not exist in this storage account: check --task-hub and --connection, or "
            "create it with `durable-storage hub create`",
            EXIT_NOT_FOUND,
        )


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; library errors become a message on stderr and the documented exit code."""
    try:
        return asyncio.run(work)
    except InstanceNotFoundError as error:
        fail(str(error), EXIT_NOT_FOUND)
    except DurableStorageError as error:
        fail(str(error) + _unreachable_hint(error), EXIT_USAGE if isinstance(error, ValueError) else EXIT_FAILED)


# The service of a storage error's resource ("queue x", "table X", "container x", "blob x/y") -> its endpoint.
_ENDPOINTS = {
    "queue": "queue_endpoint",
    "table": "table_endpoint",
    "container": "blob_endpoint",
    "blob": "blob_endpoint",
}


def _unreachable_hint(error: DurableStorageError) -> str:
    """For a storage account that did not answer at all: where it was looked for, and how to start Azurite there."""
    if not isinstance(error, TransientStorageError) or error.status is not None or error.may_have_been_applied:
        return ""  # it answered (a status), or the connection broke after the request went out
    context = click.get_current_context(silent=True)
    cli = context.find_object(CliContext) if context is not None else None
    if cli is None:
        return ""
    try:
        account = cli.storage()
    except ConfigurationError:
        return ""
    service = (error.resource or "").partition(" ")[0]
    endpoint: str = getattr(account, _ENDPOINTS.get(service, "queue_endpoint"))
    if account.account_name != DEV_ACCOUNT_NAME or urlsplit(endpoint).hostname not in ("127.0.0.1", "localhost"):
        return f"\nnothing answered at {endpoint}: check the account's endpoints in --connection or AzureWebJobsStorage"
    return (
        f"\nnothing answered at {endpoint}, the local development storage: start Azurite there with\n"
        f"  {azurite_command(account)}"
    )


def azurite_command(account: StorageConnection) -> str:
    """The command that starts Azurite (in memory) where ``account``'s endpoints point."""
    options = ["--inMemoryPersistence", "--skipApiVersionCheck"]
    for service, default in DEV_PORTS.items():
        port = urlsplit(getattr(account, f"{service}_endpoint")).port
        if port is not None and port != default:
            options.append(f"--{service}Port {port}")
    return "npx azurite " + " ".join(options)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    to_json: Callable[[], Any] | None = getattr(value, "to_json", None)
    if to_json is not None:
        return to_json()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (datetimes as ISO 8601)."""
    sys.stdout.write(json.dumps(data, indent=2, default=_default) + "\n")


class SafeTable(Table):
    """A table whose cells are plain text made :func:`visible`, whoever builds the row."""

    def add_row(
        self, *renderables: RenderableType | None, style: StyleType | None = None, end_section: bool = False
    ) -> None:
        super().add_row(*(_cell(cell) for cell in renderables), style=style, end_section=end_section)


def _cell(cell: RenderableType | None) -> RenderableType | None:
    if isinstance(cell, str):
        return text(cell)  # a str cell would otherwise be parsed as rich markup
    if isinstance(cell, Text) and visible(cell.plain) != cell.plain:
        return text(cell.plain, cell.style)
    return cell


def table(*columns: str, title: str | None = None) -> Table:
    """An empty table with the house style: bold headers, no box lines a script would have to strip."""
    result = SafeTable(title=title, box=None, header_style="bold", pad_edge=False)
    for column in columns:
        result.add_column(column, overflow="fold")
    return result


def show(renderable: RenderableType) -> None:
    """Print a table or text on stdout: styled and fitted to a terminal; piped, plain and never folded at 80 columns."""
    if console.is_terminal:
        with console.capture() as captured:
            console.print(renderable)
        _write(captured.get())
    else:
        _write(plain_text(renderable) + "\n")


def _write(text: str) -> None:
    # Stored text can hold what stdout cannot encode (a lone surrogate sent through the HTTP API): it is shown as a
    # backslash escape rather than ending the command with a UnicodeEncodeError.
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding))


def plain_text(renderable: RenderableType) -> str:
    """The text of a rich renderable without styles, as wide as its content, trailing spaces stripped."""
    wide = Console(file=io.StringIO(), width=_UNFOLDED, color_system=None, highlight=False, soft_wrap=False)
    with wide.capture() as captured:
        wide.print(renderable)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())


_UNFOLDED = 100_000


def time_text(value: datetime | None) -> str:
    """A time for a table: UTC, to the second, in ISO 8601 (so it can be pasted into ``--since``); ``-`` for None."""
    return "-" if value is None else utc_seconds_text(value)


def confirm(action: str, *, yes: bool) -> None:
    """Go on to do ``action`` (``"delete task hub x"``) when ``--yes`` was given or the user agrees.

    Without a terminal to ask on (a script, a pipe), it refuses with exit 2 rather than read an answer from stdin.
    """
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        fail(f"refusing to {action} without confirmation: stdin is not a terminal to ask on; pass --yes", EXIT_USAGE)
    if not click.confirm(action[:1].upper() + action[1:] + "?", default=False, err=True):
        fail(f"not confirmed: did not {action}")


async def for_each(
    items: Sequence[str], act: Callable[[str], Awaitable[T]], description: str, *, concurrency: int = 8
) -> tuple[list[T], dict[str, str]]:
    """``act`` on every item, ``concurrency`` at a time, behind a progress bar.

    Returns the results, and the items whose ``act`` raised a library error, each with its message.
    """
    limit = asyncio.Semaphore(concurrency)
    results: list[T] = []
    failures: dict[str, str] = {}
    with progress() as bar:
        task = bar.add_task(description, total=len(items))

        async def one(item: str) -> None:
            async with limit:
                try:
                    results.append(await act(item))
                except DurableStorageError as error:
                    failures[item] = str(error)
                bar.advance(task)

        await asyncio.gather(*(one(item) for item in items))
    return results, failures


def plural(count: int, noun: str) -> str:
    """``1 instance``, ``2 instances``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def progress() -> Progress:
    """A progress bar on stderr, for operations over many instances (``with progress() as bar: ...``)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=_errors
    )


# --- option values ------------------------------------------------------------------------------------------


class JsonValue(click.ParamType[Any]):
    """A JSON value, parsed with ``json.loads`` (``--input '{"n": 3}'``; a string needs its quotes: ``'"x"'``)."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            self.fail(
                f"{value!r} is not JSON ({error.msg} at character {error.pos}); a string needs quotes, e.g. '\"text\"'",
                param,
                ctx,
            )
        except RecursionError:
            self.fail(f"the JSON value is nested over {sys.getrecursionlimit()} levels deep", param, ctx)


_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])", re.ASCII)
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class TimeValue(click.ParamType[datetime]):
    """A point in time: ISO 8601 (UTC unless it has an offset), or a duration (``30m``, ``2h``, ``3d``) from now.

    Args:
        ahead: durations count forward from now (``--start-at 10m``); by default they mean that long ago.
    """

    name = "time"

    def __init__(self, *, ahead: bool = False) -> None:
        self.ahead = ahead

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            age = _AGE.fullmatch(text)
            if age is not None:
                delta = timedelta(**{_AGE_UNITS[age[2]]: float(age[1])})
                return utcnow() + delta if self.ahead else utcnow() - delta
            parsed = datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            direction = "from now" if self.ahead else "ago"
            self.fail(
                f"{text!r} is not a time: must be ISO 8601 (2026-11-24T10:00:00Z) or a duration {direction} "
                "(a number and s, m, h, d or w: 30m, 2h, 3d)",
                param,
                ctx,
            )
        # The tables show UTC, so a time typed without an offset is read as UTC rather than as local time.
        return assume_utc(parsed)


_STATUS_NAMES = {status.name.lower(): status for status in OrchestrationRuntimeStatus}


class StatusList(click.ParamType[tuple[OrchestrationRuntimeStatus, ...]]):
    """Runtime statuses by name, in any case, comma-separated (``completed,Failed``); a tuple without duplicates."""

    name = "status"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[OrchestrationRuntimeStatus, ...]:
        if isinstance(value, tuple):
            return value
        statuses: list[OrchestrationRuntimeStatus] = []
        for name in str(value).split(","):
            status = _STATUS_NAMES.get(name.strip().lower())
            if status is None:
                allowed = ", ".join(s.name for s in OrchestrationRuntimeStatus)
                self.fail(f"{name.strip()!r} is not a runtime status: must be one of {allowed}", param, ctx)
            statuses.append(status)
        return tuple(dict.fromkeys(statuses))
