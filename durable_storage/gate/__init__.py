"""The replay gate: replay stored histories against new code before it is deployed, and say what would break.

A deployment that changes an orchestrator breaks the instances in flight when their history no longer replays
("Non-Deterministic workflow detected"): a renamed activity, an inserted step, a branch on the wall clock.
The gate reads the histories of matching instances from a task hub (or from exported files), replays each with
the app's orchestrators through the worker's own replay engine, writes nothing, and reports per instance the
sequence number where history and code part ways, what history recorded and what the code did::

    report = await check_hub(hub, app, names=["process_order"], limit=100)
    if not report.ok:
        for check in report.failures:
            print(check.instance_id, check.failure.sequence, check.failure.recorded, check.failure.actual)

The command line is ``durable-storage replay MODULE:APP`` (exit code 1 on any failure, for CI), and
``durable-storage history ID --export F`` / ``durable-storage replay MODULE:APP --from-file F`` take a history
to a bug report and back.

The cost report (``durable-storage cost ID``) lives here too: what an instance cost in storage transactions,
estimated from its history and priced with :class:`Prices`.
"""

from durable_storage.gate._compare import check_history, describe_action, describe_completion
from durable_storage.gate._cost import CostReport, Prices, TransactionLine, instance_cost
from durable_storage.gate._export import EXPORT_FORMAT, ExportedHistory, event_from_json, read_exports, write_exports
from durable_storage.gate._hub import IN_FLIGHT, check_histories, check_hub, export_instance
from durable_storage.gate._report import GateFailure, GateReport, InstanceCheck, NameSummary, Outcome

__all__ = [
    "EXPORT_FORMAT",
    "CostReport",
    "IN_FLIGHT",
    "ExportedHistory",
    "GateFailure",
    "GateReport",
    "InstanceCheck",
    "NameSummary",
    "Outcome",
    "Prices",
    "TransactionLine",
    "check_histories",
    "check_history",
    "check_hub",
    "describe_action",
    "describe_completion",
    "event_from_json",
    "export_instance",
    "instance_cost",
    "read_exports",
    "write_exports",
]
