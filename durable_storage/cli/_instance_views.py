"""How the instance commands show instances: the status table, one status, the HTTP API's JSON, cost columns."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from durable_storage.cli._common import SafeTable, table, text, time_text
from durable_storage.models import DurableOrchestrationStatus, OrchestrationRuntimeStatus

if TYPE_CHECKING:
    from durable_storage.client import DurableOrchestrationClient
    from durable_storage.gate._cost import CostReport

__all__ = ["cost_json", "estimate_costs", "list_table", "status_json", "status_view"]

_Status = OrchestrationRuntimeStatus
# A status in the Durable Functions HTTP API: these members in this order, each present (null when unset).
_STATUS_MEMBERS = (
    "name",
    "instanceId",
    "runtimeStatus",
    "input",
    "customStatus",
    "output",
    "createdTime",
    "lastUpdatedTime",
)
_STYLES = {
    _Status.Running: "cyan",
    _Status.ContinuedAsNew: "cyan",
    _Status.Pending: "dim",
    _Status.Suspended: "yellow",
    _Status.Completed: "green",
    _Status.Failed: "bold red",
    _Status.Terminated: "red",
    _Status.Canceled: "red",
}
_SHORT = 60  # characters of an output in a list
_LONG = 500  # characters of an input or output in a status


def status_json(status: DurableOrchestrationStatus) -> dict[str, Any]:
    shown = status.to_json()
    return {member: shown.get(member) for member in _STATUS_MEMBERS}


def _payload(value: Any, limit: int) -> Text:
    if value is None:
        return Text("-")
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text(shown if len(shown) <= limit else shown[: limit - 3] + "...")


def _runtime(status: DurableOrchestrationStatus) -> Text:
    runtime = status.runtime_status
    return Text("unknown") if runtime is None else Text(runtime.name, style=_STYLES[runtime])


def list_table(statuses: list[DurableOrchestrationStatus], costs: dict[str, CostReport] | None = None) -> Table:
    from durable_storage.gate._cost import cost_columns  # noqa: PLC0415 (it imports the storage SDK: not for --help)

    extra = ("TRANSACTIONS", "EST. USD", "STORED") if costs else ()
    result = table("INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED", "OUTPUT", *extra)
    for status in statuses:
        report = costs.get(status.instance_id or "") if costs else None
        columns = cost_columns(report) if report is not None else {}
        result.add_row(
            text(status.instance_id or ""),
            text(status.name or "-"),
            _runtime(status),
            time_text(status.created_time),
            time_text(status.last_updated_time),
            _payload(status.output, _SHORT),
            *(Text(value) for value in columns.values()),
        )
    return result


async def estimate_costs(
    client: DurableOrchestrationClient, statuses: list[DurableOrchestrationStatus]
) -> dict[str, CostReport]:
    from durable_storage.gate._cost import instance_cost  # noqa: PLC0415 (it imports the storage SDK: not for --help)

    # Each estimate reads the instance's History, its row and its blobs: a few at a time.
    limit = asyncio.Semaphore(8)

    async def one(instance_id: str) -> tuple[str, CostReport]:
        async with limit:
            return instance_id, await instance_cost(client.task_hub, instance_id)

    ids = [s.instance_id for s in statuses if s.instance_id]
    return dict(await asyncio.gather(*(one(i) for i in ids)))


def cost_json(report: CostReport | None) -> dict[str, Any]:
    return {} if report is None else {"cost": report.to_dict()}


def status_view(status: DurableOrchestrationStatus) -> Table:
    view = SafeTable.grid(padding=(0, 2))
    view.add_column(style="bold")
    view.add_column(overflow="fold")
    view.add_row("Instance ID", text(status.instance_id or ""))
    view.add_row("Name", text(status.name or "-"))
    view.add_row("Status", _runtime(status))
    view.add_row("Created", time_text(status.created_time))
    view.add_row("Last updated", time_text(status.last_updated_time))
    view.add_row("Input", _payload(status.input_, _LONG))
    view.add_row("Custom status", _payload(status.custom_status, _LONG))
    view.add_row("Output", _payload(status.output, _LONG))
    return view
