"""``durable-storage hub create|info|delete``: make a task hub, see what it holds and who works each partition."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import click
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from durable_storage._clock import utcnow
from durable_storage._names import TaskHubNames
from durable_storage.cli._common import (
    EXIT_NOT_FOUND,
    CliContext,
    confirm,
    echo,
    emit_json,
    fail,
    json_option,
    pass_cli,
    plain_text,
    run,
    show,
    table,
    text,
)

if TYPE_CHECKING:
    from durable_storage.taskhub import PartitionInfo, TaskHub, TaskHubInfo

__all__ = ["hub_group", "info_view", "render_info"]

T = TypeVar("T")


def info_view(info: TaskHubInfo, now: datetime) -> RenderableType:
    """The hub as an operator reads it: a table of partitions, then the work-item queue, tables and containers.

    Ages and lease expiries are relative to ``now``.
    """
    if not info.exists:
        return Text(f"task hub {info.name}: does not exist")
    partitions = table("PARTITION", "OWNER", "NEXT OWNER", "LEASE", "DEPTH", "OLDEST WAITING", "LAST DEQUEUE")
    for partition in info.partitions:
        partitions.add_row(*(text(cell) for cell in _row(partition, now)))
    work_items = list(info.queues)[-1]
    return Group(
        Text(f"task hub {info.name}: {info.partition_count} partitions"),
        Padding(partitions, (0, 0, 0, 2)),
        Text(f"work items: {work_items} ({_count(info.queues[work_items])} messages)"),
        Text("tables: ") + _resources(info.tables),
        Text("containers: ") + _resources(info.containers, unused=TaskHubNames(info.name).dotnet_only_containers),
    )


def render_info(info: TaskHubInfo, now: datetime) -> str:
    """:func:`info_view` as plain text."""
    return plain_text(info_view(info, now))


def _resources(present: Mapping[str, bool], *, unused: Collection[str] = ()) -> Text:
    return Text(", ").join(_resource(name, ok, used=name not in unused) for name, ok in present.items())


def _resource(name: str, exists: bool, *, used: bool) -> Text:
    if not used:  # .NET's lease containers: absent in a hub this provider made, and harmless when there
        return Text(f"{name} (not used by this provider)", style="dim")
    return Text(name) if exists else Text(f"{name} (missing)", style="red")


def _row(partition: PartitionInfo, now: datetime) -> tuple[str, ...]:
    if partition.expires_at is None or partition.owner is None:
        lease = "free"
    elif partition.expires_at <= now:
        lease = f"expired {_age(now - partition.expires_at)} ago"
    else:
        lease = f"{'draining, ' if partition.is_draining else ''}{_age(partition.expires_at - now)} left"
    oldest = _age(now - partition.oldest_message_at) if partition.oldest_message_at else "-"
    dequeued = f"{_age(now - partition.last_dequeue)} ago" if partition.last_dequeue else "-"
    if partition.loop_restarts:
        # The owner found its loop of this queue stalled or dead: worth a look at that worker's log.
        dequeued += f" (loop restarted {partition.loop_restarts}x)"
    return (
        partition.partition,
        partition.owner or "-",
        partition.next_owner or "-",
        lease,
        _count(partition.depth),
        oldest,
        dequeued,
    )


def _age(delta: timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _count(depth: int | None) -> str:
    return "missing" if depth is None else str(depth)


@click.group("hub")
def hub_group() -> None:
    """Create, inspect or delete the task hub."""


def _with_hub(cli: CliContext, action: Callable[[TaskHub], Awaitable[T]]) -> T:
    async def work() -> T:
        async with cli.hub() as hub:
            return await action(hub)

    return run(work())


def _show_info(info: TaskHubInfo, *, as_json: bool) -> None:
    if as_json:
        emit_json(info.to_dict())
    else:
        show(info_view(info, utcnow()))


@hub_group.command("create")
@json_option
@pass_cli
def create_command(cli: CliContext, /, as_json: bool) -> None:
    """Create the hub's queues, tables and container (what exists already is kept); then show the hub."""

    async def create(hub: TaskHub) -> TaskHubInfo:
        await hub.create_if_not_exists()
        return await hub.info()

    _show_info(_with_hub(cli, create), as_json=as_json)


@hub_group.command("info")
@json_option
@pass_cli
def info_command(cli: CliContext, /, as_json: bool) -> None:
    """The hub's queues, tables and containers, and each partition's owner, lease and queue (exit 3: no hub)."""
    info = _with_hub(cli, lambda hub: hub.info())
    _show_info(info, as_json=as_json)
    if not info.exists:
        fail(f"task hub {info.name!r} does not exist in this storage account", EXIT_NOT_FOUND)


@hub_group.command("delete")
@click.option("--yes", is_flag=True, help="Delete without asking.")
@pass_cli
def delete_command(cli: CliContext, /, yes: bool) -> None:
    """Delete the hub: every queue, table and container, with every instance and its history, for good."""

    async def delete(hub: TaskHub) -> None:
        info = await hub.info()
        found = info.exists or any(info.tables.values()) or any(info.containers.values())
        if not found and all(depth is None for depth in info.queues.values()):
            fail(f"task hub {hub.name!r} does not exist in this storage account", EXIT_NOT_FOUND)
        confirm(f"delete task hub {hub.name} with every instance and its history", yes=yes)
        await hub.delete()

    _with_hub(cli, delete)
    echo(f"task hub {cli.task_hub} deleted")
