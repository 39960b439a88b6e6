"""``durable-storage cost ID [--prices FILE.json] [--json]``: an instance's storage transactions, price and bytes.

The transactions are estimated from the instance's history (the model of :mod:`durable_storage.gate`'s cost report),
priced with the default list prices or those in ``--prices`` (a JSON object of some of
:class:`~durable_storage.gate.Prices`' keys, e.g. ``{"table_per_10k": 0.0004}``). Reads only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from durable_storage.cli._common import (
    EXIT_USAGE,
    CliContext,
    echo,
    emit_json,
    fail,
    json_option,
    pass_cli,
    run,
    show,
    table,
)
from durable_storage.cli.history import existing_hub
from durable_storage.errors import ConfigurationError

if TYPE_CHECKING:
    from durable_storage.gate._cost import CostReport, Prices

__all__ = ["cost_command"]


@click.command("cost")
@click.argument("instance_id")
@click.option(
    "--prices",
    "prices_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.json",
    help="Prices to use instead of the defaults: a JSON object of USD values by name (see the docs of Prices).",
)
@json_option
@pass_cli
def cost_command(cli: CliContext, /, instance_id: str, prices_file: Path | None, as_json: bool) -> None:
    """The storage transactions (estimated from its history), their price and the bytes INSTANCE_ID holds."""
    prices = _prices(prices_file) if prices_file is not None else None
    report = run(_cost(cli, instance_id, prices))
    if as_json:
        emit_json(report.to_dict())
        return
    _print(report)


def _prices(path: Path) -> Prices:
    from durable_storage.gate._cost import Prices  # noqa: PLC0415 (the storage SDK: not for --help)

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        fail(f"cannot read prices from {str(path)!r}: {error}", EXIT_USAGE)
    try:
        return Prices.from_dict(data, where=f"prices file {str(path)!r}")
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)


async def _cost(cli: CliContext, instance_id: str, prices: Prices | None) -> CostReport:
    from durable_storage.gate._cost import instance_cost  # noqa: PLC0415 (the storage SDK: not for --help)

    async with existing_hub(cli) as hub:
        return await instance_cost(hub, instance_id, prices=prices)


def _print(report: CostReport) -> None:
    from durable_storage.gate._cost import format_bytes, format_usd  # noqa: PLC0415 (the storage SDK: not for --help)

    echo(
        f"instance {report.instance_id}: {report.name or '?'}, {report.runtime_status or 'status unknown'}, "
        f"{report.events} events in {report.episodes} episodes (execution {report.execution_id or '?'})"
    )
    lines = table("SERVICE", "OPERATION", "COUNT", "EST. USD", "FOR")
    for line in report.transactions:
        lines.add_row(line.service, line.operation, f"{line.count:,}", format_usd(line.usd), line.what)
    lines.add_row("total", "", f"{report.total_transactions:,}", format_usd(report.transactions_usd), "")
    show(lines)
    echo("")
    held = table("HELD IN", "BYTES", "EST. USD / MONTH")
    table_bytes = report.history_bytes + report.instance_bytes
    held.add_row("History rows", format_bytes(report.history_bytes), "")
    held.add_row("Instances row", format_bytes(report.instance_bytes), "")
    held.add_row(f"blobs ({report.blob_count})", format_bytes(report.blob_bytes), "")
    held.add_row("total", format_bytes(table_bytes + report.blob_bytes), format_usd(report.storage_usd_per_month))
    show(held)
    echo(
        "\nTransactions are estimated from the history (an upper bound for this worker); prices are list prices "
        "(override with --prices)."
    )
