"""``durable-storage history ID [--json] [--export F]``: an instance's history, as a table or as an export file.

The export (:mod:`durable_storage.gate`'s format: the instance, its status and input, and the events as
``client.get_history`` returns them) can be attached to a bug report and replayed against any version of the code
with ``durable-storage replay MODULE:APP --from-file F``, under a debugger if need be. Reads only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from durable_storage._event_text import event_details
from durable_storage.cli._common import CliContext, echo, emit_json, fail, json_option, pass_cli, require_hub, run, show
from durable_storage.cli._common import table as new_table
from durable_storage.history import HistoryEvent

if TYPE_CHECKING:
    from durable_storage.gate import ExportedHistory
    from durable_storage.taskhub import TaskHub

__all__ = ["existing_hub", "history_command"]


@asynccontextmanager
async def existing_hub(cli: CliContext) -> AsyncIterator[TaskHub]:
    """The task hub of the global options, open; exit 3 when it does not exist (it is never created)."""
    async with cli.hub() as hub:
        await require_hub(hub)
        yield hub


@click.command("history")
@click.argument("instance_id")
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the history to FILE as JSON, for a bug report; `replay MODULE:APP --from-file FILE` replays it.",
)
@json_option
@pass_cli
def history_command(cli: CliContext, /, instance_id: str, export_path: Path | None, as_json: bool) -> None:
    """The history of INSTANCE_ID's current execution, event by event."""
    from durable_storage.gate import write_exports  # noqa: PLC0415 (the storage SDK: not for --help)

    exported = run(_export(cli, instance_id))
    if export_path is not None:
        try:
            export_path.write_text(write_exports([exported]), encoding="utf-8")
        except OSError as error:
            fail(f"cannot write the export to {str(export_path)!r}: {error.strerror or error}")
        echo(f"exported {len(exported.events)} events of {instance_id} to {export_path}", err=as_json)
    if as_json:
        emit_json(exported.to_dict())
    elif export_path is None:
        echo(
            f"instance {exported.instance_id}: {exported.name or '?'}, {exported.runtime_status or 'status unknown'}, "
            f"execution {exported.execution_id or '?'}, {len(exported.events)} events"
        )
        show(_table(exported.events))


async def _export(cli: CliContext, instance_id: str) -> ExportedHistory:
    from durable_storage.gate import export_instance  # noqa: PLC0415 (the storage SDK: not for --help)

    async with existing_hub(cli) as hub:
        return await export_instance(hub, instance_id)


def _table(events: tuple[HistoryEvent, ...]) -> Table:
    result = new_table("#", "EVENT ID", "EVENT", "TIME", "DETAILS")
    for index, event in enumerate(events):
        when = event.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event_id = str(event.event_id) if event.event_id >= 0 else ""
        result.add_row(str(index), event_id, event.event_type.name, when, event_details(event))
    return result
