"""``durable-storage replay MODULE:APP``: the replay gate, for CI before a deployment.

Reads the stored histories of the matching instances (in flight by default) and replays each against the
orchestrators of MODULE:APP, writing nothing; prints, per orchestrator name, how many replayed cleanly and, for
each instance that no longer replays, the sequence number and what history recorded versus what the code did.
Exits 1 when any instance fails, so a pipeline step blocks the deployment. ``--from-file F`` replays histories
exported with ``durable-storage history ID --export F`` instead of reading a task hub.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from durable_storage.app import App
from durable_storage.cli._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CliContext,
    StatusList,
    TimeValue,
    echo,
    emit_json,
    fail,
    json_option,
    pass_cli,
    plural,
    run,
    show,
    table,
)
from durable_storage.cli.history import existing_hub
from durable_storage.cli.worker import load_app
from durable_storage.errors import ConfigurationError, MessageFormatError
from durable_storage.gate import IN_FLIGHT, GateReport, check_histories, check_hub, read_exports
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["replay_command"]

_DEFAULT_STATUSES = ",".join(status.name for status in IN_FLIGHT)


@click.command("replay")
@click.argument("app_target", metavar="MODULE:APP")
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="N",
    help="Only instances of orchestrator N (repeat, or separate names with commas).",
)
@click.option(
    "--status",
    "statuses",
    type=StatusList(),
    default=_DEFAULT_STATUSES,
    show_default=True,
    help="Only instances in these runtime statuses, comma-separated.",
)
@click.option(
    "--since",
    type=TimeValue(),
    default=None,
    metavar="T",
    help="Only instances created at or after T: ISO 8601 (UTC unless it has an offset) or a duration ago (30m, 7d).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="At most K instances per orchestrator name, the most recently created.",
)
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Replay the histories in FILE (from `history ID --export FILE`) instead of reading the task hub.",
)
@json_option
@pass_cli
def replay_command(
    cli: CliContext,
    /,
    *,
    app_target: str,
    names: tuple[str, ...],
    statuses: tuple[OrchestrationRuntimeStatus, ...],
    since: datetime | None,
    limit: int | None,
    from_file: Path | None,
    as_json: bool,
) -> None:
    """Replay stored histories against the orchestrators of MODULE:APP (e.g. function_app:app); exit 1 on a mismatch.

    Nothing is written to the task hub. Exit codes: 0 every history replays, 1 some do not (or storage failed),
    2 bad usage, 3 the task hub does not exist.
    """
    try:
        app = load_app(app_target)
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    wanted = [name.strip() for given in names for name in given.split(",") if name.strip()] or None
    if from_file is not None:
        report = _from_file(app, from_file)
    else:
        report = run(_from_hub(cli, app, names=wanted, statuses=statuses, since=since, limit=limit))
    if as_json:
        emit_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        failed = len(report.failures)
        fail(f"{plural(failed, 'instance')} of {len(report.checks)} no longer replay with this code", EXIT_FAILED)


def _from_file(app: App, path: Path) -> GateReport:
    try:
        exported = read_exports(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {str(path)!r}: {error}", EXIT_USAGE)
    except MessageFormatError as error:
        fail(str(error), EXIT_USAGE)
    return check_histories(app, exported, source=f"file {path}")


async def _from_hub(
    cli: CliContext,
    app: App,
    *,
    names: list[str] | None,
    statuses: tuple[OrchestrationRuntimeStatus, ...],
    since: datetime | None,
    limit: int | None,
) -> GateReport:
    async with existing_hub(cli) as hub:
        return await check_hub(hub, app, names=names, statuses=statuses, since=since, limit=limit)


def _print(report: GateReport) -> None:
    summaries = report.by_name()
    echo(f"{report.source}: {plural(len(report.checks), 'instance')} of {plural(len(summaries), 'orchestrator')}")
    if not summaries:
        return
    summary = table("ORCHESTRATOR", "REPLAYED", "PASSED", "FAILED", "SKIPPED")
    for s in summaries:
        summary.add_row(s.name, str(s.replayed), str(s.passed), str(s.failed), str(s.skipped))
    show(summary)
    if report.failures:
        echo("")
        show(_failures(report))


def _failures(report: GateReport) -> Table:
    result = table("INSTANCE", "ORCHESTRATOR", "SEQUENCE", "EVENT #", "HISTORY RECORDED", "THE CODE NOW", "WHY")
    for check in report.failures:
        failure = check.failure
        assert failure is not None
        result.add_row(
            check.instance_id,
            check.name,
            "-" if failure.sequence is None else str(failure.sequence),
            "-" if failure.history_index is None else str(failure.history_index),
            failure.recorded,
            failure.actual,
            failure.reason,
        )
    return result
