"""``durable-storage start|status|list|raise|terminate|suspend|resume|rewind|purge``: orchestration instances.

Thin over :class:`~durable_storage.client.DurableOrchestrationClient`: click types check the options (a bad value
exits 2 naming it); the task hub must exist (a mistyped ``--task-hub`` exits 3 rather than create a new, empty hub,
which the client would do; only ``start`` creates it); the client does the work; the result is a table, or with
``--json`` the Durable Functions HTTP API's JSON. Bulk operations (``terminate`` and ``purge`` by filter) list the
matching instances, ask for confirmation (``--yes`` skips it), then act on each, a few at a time, behind a progress
bar.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from durable_storage.cli._common import (
    EXIT_NOT_FOUND,
    CliContext,
    JsonValue,
    StatusList,
    TimeValue,
    confirm,
    echo,
    emit_json,
    fail,
    for_each,
    json_option,
    pass_cli,
    plural,
    require_hub,
    run,
    show,
    time_text,
)
from durable_storage.cli._instance_views import cost_json, estimate_costs, list_table, status_json, status_view
from durable_storage.models import DurableOrchestrationStatus, OrchestrationRuntimeStatus

if TYPE_CHECKING:
    from durable_storage.client import DurableOrchestrationClient

__all__ = [
    "list_command",
    "purge_command",
    "raise_command",
    "resume_command",
    "rewind_command",
    "start_command",
    "status_command",
    "suspend_command",
    "terminate_command",
]

T = TypeVar("T")
_Status = OrchestrationRuntimeStatus
_Statuses = tuple[OrchestrationRuntimeStatus, ...]
_ENDED = tuple(s for s in _Status if s.is_terminal)
_NOT_ENDED = tuple(s for s in _Status if not s.is_terminal)
_CONCURRENCY = 8  # instances a bulk operation works on at once
_REASONS = {
    "terminate": "terminated with durable-storage",
    "suspend": "suspended with durable-storage",
    "resume": "resumed with durable-storage",
    "rewind": "rewound with durable-storage",
}

_JSON = JsonValue()
_STATUS = StatusList()
_AGO = TimeValue()


# --- the client -----------------------------------------------------------------------------------------------


@asynccontextmanager
async def _client(cli: CliContext, *, create: bool) -> AsyncIterator[DurableOrchestrationClient]:
    async with cli.client() as client:
        if not create:
            await require_hub(client.task_hub)
        yield client


def _call(cli: CliContext, action: Callable[[DurableOrchestrationClient], Awaitable[T]], *, create: bool = False) -> T:
    """``action`` with a client of the hub; library errors become a message and the documented exit code."""

    async def work() -> T:
        async with _client(cli, create=create) as client:
            return await action(client)

    return run(work())


@dataclass(frozen=True, kw_only=True)
class _Filter:
    """The instances a list, a bulk terminate or a purge by filter means."""

    statuses: _Statuses = ()
    prefix: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    async def find(
        self, client: DurableOrchestrationClient, limit: int | None = None
    ) -> list[DurableOrchestrationStatus]:
        """The matches in instance ID order; at most ``limit`` + 1, so that the caller can tell more match."""
        page_size = 1000 if limit is None or self.name else min(limit + 1, 1000)
        pager = client.list_instances(
            self.since, self.until, list(self.statuses) or None, self.prefix, page_size=page_size
        )
        found: list[DurableOrchestrationStatus] = []
        async for status in pager:
            # The Instances table cannot be queried by name; Functions names are case-insensitive.
            if self.name is None or (status.name or "").casefold() == self.name.casefold():
                found.append(status)
                if limit is not None and len(found) > limit:
                    break
        return found

    def describe(self) -> str:
        parts = [", ".join(s.name for s in self.statuses)] if self.statuses else []
        if self.prefix:
            parts.append(f"ID starting with {self.prefix!r}")
        if self.name:
            parts.append(f"orchestrator {self.name!r}")
        if self.since:
            parts.append(f"created since {time_text(self.since)}")
        if self.until:
            parts.append(f"created before {time_text(self.until)}")
        return "; ".join(parts) or "all"


def _flatten(groups: tuple[_Statuses, ...]) -> _Statuses:
    """The statuses of a repeatable ``--status`` whose values are comma-separated lists."""
    return tuple(dict.fromkeys(status for group in groups for status in group))


def _wrong_statuses(statuses: _Statuses, *, ended: bool, why: str) -> None:
    wrong = [s.name for s in statuses if s.is_terminal is not ended]
    if wrong:
        allowed = ", ".join(s.name for s in (_ENDED if ended else _NOT_ENDED))
        raise click.BadParameter(f"{','.join(wrong)}: {why}; choose from {allowed}", param_hint="'--status'")


def _usage(message: str) -> click.UsageError:
    return click.UsageError(message, ctx=click.get_current_context())


# --- bulk operations ------------------------------------------------------------------------------------------


def _bulk(
    cli: CliContext,
    matching: _Filter,
    verb: str,
    act: Callable[[DurableOrchestrationClient, str], Awaitable[T]],
    *,
    yes: bool,
) -> list[T]:
    """Find the matches, confirm, ``act`` on each; exits 1 naming the instances that failed."""

    async def work(client: DurableOrchestrationClient) -> tuple[list[T], dict[str, str]]:
        targets = [status.instance_id for status in await matching.find(client) if status.instance_id]
        if not targets:
            return [], {}
        confirm(f"{verb} {plural(len(targets), 'instance')} ({matching.describe()})", yes=yes)
        return await for_each(
            targets, lambda instance_id: act(client, instance_id), f"{verb}:", concurrency=_CONCURRENCY
        )

    results, failures = _call(cli, work)
    if failures:
        lines = [f"  {instance_id}: {error}" for instance_id, error in sorted(failures.items())]
        fail(
            f"could not {verb} {len(failures)} of {plural(len(results) + len(failures), 'instance')}:\n"
            + "\n".join(lines)
        )
    return results


# --- commands -------------------------------------------------------------------------------------------------


@click.command("start")
@click.argument("name")
@click.option("--input", "input_", type=_JSON, metavar="JSON", help="The orchestrator's input, as JSON.")
@click.option("--id", "instance_id", metavar="ID", help="The instance ID.  [default: a new unique ID]")
@click.option("--version", help="The orchestration version, stored with the instance.")
@click.option(
    "--start-at",
    type=TimeValue(ahead=True),
    metavar="TIME",
    help="Run no earlier than this (Pending until then): ISO 8601, or a delay such as 10m.",
)
@json_option
@pass_cli
def start_command(
    cli: CliContext,
    /,
    *,
    name: str,
    input_: Any,
    instance_id: str | None,
    version: str | None,
    start_at: datetime | None,
    as_json: bool,
) -> None:
    """Start the orchestrator NAME; prints the instance ID."""
    started = _call(
        cli,
        lambda client: client.start_new(name, instance_id, input_, version=version, start_at=start_at),
        create=True,
    )
    if as_json:
        emit_json({"instanceId": started, "name": name})
    else:
        echo(f"started {name} as instance {started}")


@click.command("status")
@click.argument("instance_id", metavar="ID")
@json_option
@pass_cli
def status_command(cli: CliContext, /, instance_id: str, as_json: bool) -> None:
    """The status, input and output of the instance ID (exit 3 when there is none)."""
    status = _call(cli, lambda client: client.get_status(instance_id, show_input=True))
    if not status:
        fail(f"instance {instance_id!r} was not found in task hub {cli.task_hub!r}", EXIT_NOT_FOUND)
    if as_json:
        emit_json(status_json(status))
    else:
        show(status_view(status))


@click.command("list")
@click.option(
    "--status", "statuses", type=_STATUS, multiple=True, help="Only these statuses (comma-separated, any case)."
)
@click.option("--prefix", help="Only instance IDs starting with this.")
@click.option("--name", help="Only instances of this orchestrator.")
@click.option("--since", type=_AGO, metavar="TIME", help="Created at or after this: ISO 8601, or an age (30m, 2h, 3d).")
@click.option("--until", type=_AGO, metavar="TIME", help="Created at or before this: ISO 8601, or an age.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Show at most this many.")
@click.option("--all", "every", is_flag=True, help="Show every match, however many (pages through them all).")
@click.option(
    "--cost",
    is_flag=True,
    help="Add each instance's estimated storage transactions, price and bytes (durable-storage cost).",
)
@json_option
@pass_cli
def list_command(
    cli: CliContext,
    /,
    *,
    statuses: tuple[_Statuses, ...],
    prefix: str | None,
    name: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    every: bool,
    cost: bool,
    as_json: bool,
) -> None:
    """Instances in instance ID order, filtered by status, ID prefix, orchestrator name and created time."""
    matching = _Filter(statuses=_flatten(statuses), prefix=prefix, name=name, since=since, until=until)
    found = _call(cli, lambda client: matching.find(client, None if every else limit))
    more = not every and len(found) > limit
    found = found[:limit] if more else found
    costs = _call(cli, lambda client: estimate_costs(client, found)) if cost and found else {}
    if as_json:
        emit_json([{**status_json(status), **cost_json(costs.get(status.instance_id or ""))} for status in found])
    elif found:
        show(list_table(found, costs))
    else:
        echo(f"no instance matches ({matching.describe()})", err=True)
    if more:
        echo(f"showing the first {limit}: more match (--limit K shows more, --all every one)", err=True)


@click.command("raise")
@click.argument("instance_id", metavar="ID")
@click.argument("event")
@click.option("--data", type=_JSON, metavar="JSON", help="The event's data, as JSON.")
@pass_cli
def raise_command(cli: CliContext, /, instance_id: str, event: str, data: Any) -> None:
    """Raise the external event EVENT to the instance ID (one that has not ended)."""
    _call(cli, lambda client: client.raise_event(instance_id, event, data))
    echo(f"event {event} raised to instance {instance_id}")


async def _signal(client: DurableOrchestrationClient, verb: str, instance_id: str, reason: str) -> str:
    """Send terminate, suspend, resume or rewind to one instance; says what was done."""
    actions = {
        "terminate": client.terminate,
        "suspend": client.suspend,
        "resume": client.resume,
        "rewind": client.rewind,
    }
    if verb != "rewind":
        # The client skips an instance that has ended without a word; a user typing the command wants to know.
        status = await client.get_status(instance_id)
        if status.runtime_status is not None and status.runtime_status.is_terminal:
            return f"instance {instance_id} is already {status.runtime_status.name}: nothing to {verb}"
    await actions[verb](instance_id, reason)
    return f"{verb} sent to instance {instance_id}: a worker applies it"


def _reason_option(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--reason", default=_REASONS[verb], show_default=True, help=f"Why; recorded with the {verb}.")


def _signal_command(verb: str, summary: str) -> click.Command:
    @click.command(verb, help=summary)
    @click.argument("instance_id", metavar="ID")
    @_reason_option(verb)
    @pass_cli
    def command(cli: CliContext, /, instance_id: str, reason: str) -> None:
        echo(_call(cli, lambda client: _signal(client, verb, instance_id, reason)))

    return command


suspend_command = _signal_command(
    "suspend", "Suspend the instance ID: events are kept, but nothing runs until it is resumed."
)
resume_command = _signal_command("resume", "Resume the suspended instance ID.")
rewind_command = _signal_command(
    "rewind", "Rewind the Failed instance ID: its failed activities and sub-orchestrations run again."
)


@click.command("terminate")
@click.argument("instance_id", metavar="[ID]", required=False)
@click.option(
    "--status",
    "statuses",
    type=_STATUS,
    multiple=True,
    help="Every instance in these statuses (comma-separated).  [default with --prefix or --name: all not ended]",
)
@click.option("--prefix", help="Every instance whose ID starts with this.")
@click.option("--name", help="Every instance of this orchestrator.")
@_reason_option("terminate")
@click.option("--yes", is_flag=True, help="Terminate the matches without asking.")
@pass_cli
def terminate_command(
    cli: CliContext,
    /,
    *,
    instance_id: str | None,
    statuses: tuple[_Statuses, ...],
    prefix: str | None,
    name: str | None,
    reason: str,
    yes: bool,
) -> None:
    """Terminate the instance ID, or every instance --status, --prefix and --name match (with a progress bar)."""
    chosen = _flatten(statuses)
    bulk = bool(chosen) or prefix is not None or name is not None
    if instance_id is not None and bulk:
        raise _usage("give an instance ID or filters (--status, --prefix, --name), not both")
    if instance_id is not None:
        echo(_call(cli, lambda client: _signal(client, "terminate", instance_id, reason)))
        return
    if not bulk:
        raise _usage("give an instance ID, or --status, --prefix or --name to terminate every instance that matches")
    _wrong_statuses(chosen, ended=False, why="an instance that has ended cannot be terminated")
    matching = _Filter(statuses=chosen or _NOT_ENDED, prefix=prefix, name=name)
    done = _bulk(cli, matching, "terminate", lambda client, target: client.terminate(target, reason), yes=yes)
    echo(f"terminate sent to {plural(len(done), 'instance')}: the workers apply it")


@click.command("purge")
@click.argument("instance_id", metavar="[ID]", required=False)
@click.option(
    "--before", type=_AGO, metavar="TIME", help="Every ended instance created before this: ISO 8601, or an age (30d)."
)
@click.option(
    "--status",
    "statuses",
    type=_STATUS,
    multiple=True,
    help="With --before: only these ended statuses (comma-separated).  [default: all ended ones]",
)
@click.option("--yes", is_flag=True, help="With --before: purge the matches without asking.")
@json_option
@pass_cli
def purge_command(
    cli: CliContext,
    /,
    *,
    instance_id: str | None,
    before: datetime | None,
    statuses: tuple[_Statuses, ...],
    yes: bool,
    as_json: bool,
) -> None:
    """Delete the history of the instance ID, or of every ended instance created before --before (with --status)."""
    chosen = _flatten(statuses)
    if instance_id is not None and (before is not None or chosen):
        raise _usage("give an instance ID or --before (and --status), not both")
    if instance_id is not None:
        deleted = _call(cli, lambda client: client.purge_instance_history(instance_id)).instances_deleted
        if not deleted:
            fail(f"instance {instance_id!r} was not found in task hub {cli.task_hub!r}", EXIT_NOT_FOUND)
    elif before is None:
        raise _usage("give an instance ID, or --before TIME to purge every ended instance created before then")
    else:
        # As purge_instance_history_by: only ended instances, never a running one (storage-layout.md §9.5).
        _wrong_statuses(chosen, ended=True, why="only instances that have ended are purged by filter")
        matching = _Filter(statuses=chosen or _ENDED, until=before)
        purge = _bulk(cli, matching, "purge", lambda client, target: client.purge_instance_history(target), yes=yes)
        deleted = sum(result.instances_deleted for result in purge)
    if as_json:
        emit_json({"instancesDeleted": deleted})
    else:
        echo(f"purged {plural(deleted, 'instance')}")
