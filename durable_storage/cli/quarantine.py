"""``durable-storage quarantine list|requeue``: see and re-queue messages that could never be processed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Group, RenderableType
from rich.text import Text

from durable_storage.cli._common import (
    EXIT_NOT_FOUND,
    CliContext,
    echo,
    emit_json,
    fail,
    json_option,
    pass_cli,
    run,
    show,
    table,
    text,
    time_text,
)

if TYPE_CHECKING:
    from durable_storage import QuarantinedMessage
    from durable_storage.taskhub import TaskHub

__all__ = ["quarantine_group"]


@click.group("quarantine")
def quarantine_group() -> None:
    """Messages set aside because they could never be processed."""


@quarantine_group.command("list")
@json_option
@pass_cli
def list_command(cli: CliContext, /, as_json: bool) -> None:
    """Every quarantined message, with its reason."""
    messages = run(_list(cli.hub()))
    if as_json:
        emit_json([message.to_dict() for message in messages])
    else:
        show(_view(cli.task_hub, messages))


@quarantine_group.command("requeue")
@click.argument("message_id")
@click.option("--queue", default=None, help="The queue it came from (needed only when ambiguous).")
@pass_cli
def requeue_command(cli: CliContext, /, message_id: str, queue: str | None) -> None:
    """Put a quarantined message back into its queue."""
    text, found = run(_requeue(cli.hub(), message_id, queue))
    if not found:
        fail(text, EXIT_NOT_FOUND)
    echo(text)


async def _list(hub: TaskHub) -> list[QuarantinedMessage]:
    async with hub:
        return await hub.quarantine.list()


def _view(hub_name: str, messages: list[QuarantinedMessage]) -> RenderableType:
    if not messages:
        return Text(f"task hub {hub_name}: no quarantined messages")
    listed = table("MESSAGE ID", "QUEUE", "INSTANCE", "RECEIVED", "QUARANTINED", "REASON")
    for message in messages:
        listed.add_row(
            text(message.message_id),
            text(message.queue),
            text(message.instance_id or "-"),
            f"{message.dequeue_count}x",
            time_text(message.quarantined_at),
            text(message.reason),
        )
    return Group(Text(f"task hub {hub_name}: {len(messages)} quarantined messages"), listed)


async def _requeue(hub: TaskHub, message_id: str, queue: str | None) -> tuple[str, bool]:
    async with hub:
        candidates = [m for m in await hub.quarantine.list() if m.message_id == message_id]
        if queue is not None:
            candidates = [m for m in candidates if m.queue == queue]
        if len(candidates) != 1:
            why = "no quarantined message has" if not candidates else "several queues have a quarantined message with"
            return f"{why} ID {message_id!r}", False
        await hub.quarantine.requeue(candidates[0].queue, message_id)
    return f"message {message_id} re-queued to {candidates[0].queue}", True
