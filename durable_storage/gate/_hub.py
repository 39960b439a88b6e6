"""The replay gate over a task hub: read the histories of matching instances, replay each, and write nothing.

Only reads: an Instances query (the filter as the client's ``list_instances`` builds it, plus the names), then
each instance's History partition. The hub is never created, and no message is sent or deleted, so the gate can
run against production storage with a read-only credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime

from durable_storage._names import unescape_key
from durable_storage._runtime_state import runtime_state
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.app import App, FunctionKind
from durable_storage.client._queries import InstanceQuery, column_equals
from durable_storage.client._validation import check_aware, check_instance_id, runtime_statuses
from durable_storage.errors import (
    ConfigurationError,
    InstanceNotFoundError,
    MessageFormatError,
    ResourceNotFoundError,
    StorageError,
)
from durable_storage.gate._compare import check_history
from durable_storage.gate._export import ExportedHistory
from durable_storage.gate._report import GateFailure, GateReport, InstanceCheck
from durable_storage.history import HistoryEvent
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.replay import ReplayOptions
from durable_storage.taskhub import TaskHub

__all__ = ["IN_FLIGHT", "check_histories", "check_hub", "export_instance"]

_Status = OrchestrationRuntimeStatus
IN_FLIGHT: tuple[OrchestrationRuntimeStatus, ...] = (
    _Status.Running,
    _Status.Pending,
    _Status.Suspended,
    _Status.ContinuedAsNew,
)
"""The statuses of instances a deployment can break: those that will run again on the new code."""
_PAGE = 1000  # rows per Instances query page, the service maximum


async def check_hub(
    hub: TaskHub,
    app: App,
    *,
    names: Sequence[str] | None = None,
    statuses: Sequence[OrchestrationRuntimeStatus | str] | None = IN_FLIGHT,
    since: datetime | None = None,
    limit: int | None = None,
    concurrency: int = 8,
    options: ReplayOptions | None = None,
) -> GateReport:
    """Replay the stored history of every matching instance of ``hub`` against the orchestrators of ``app``.

    Args:
        hub: the task hub to read (nothing is written to it).
        app: the code about to be deployed.
        names: only instances of these orchestrator names (None: every name).
        statuses: only instances in these statuses (None: any); by default the in-flight ones, :data:`IN_FLIGHT`.
        since: only instances created at or after this timezone-aware time.
        limit: at most this many instances per orchestrator name, the most recently created.
        concurrency: histories read at once.
        options: the workers' timer limits (``WorkerOptions.replay``), if not the defaults.

    Returns:
        One check per instance; :attr:`GateReport.ok` is False when any instance's history no longer replays.

    Raises:
        ConfigurationError: an invalid filter (the message names the value and the rule).
        ResourceNotFoundError: the task hub does not exist.
    """
    query = _query(names, statuses, since)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigurationError(f"limit {limit!r} is invalid: must be an integer >= 1 (or None: no limit)")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency {concurrency!r} is invalid: must be an integer >= 1")
    await _require_hub(hub)
    records = _latest(await _records(hub, query), limit)
    gate = asyncio.Semaphore(concurrency)

    async def check(record: InstanceRecord) -> InstanceCheck:
        async with gate:
            try:
                events = (await hub.history.load(record.instance_id)).events
            except (MessageFormatError, StorageError) as error:
                return _unreadable(record, error)
        status = record.runtime_status.value if record.runtime_status else None
        return _check(app, record.instance_id, record.name, events, status, options=options)

    checks = await asyncio.gather(*(check(record) for record in records))
    return GateReport.of(checks, f"task hub {hub.name}")


def check_histories(
    app: App,
    exported: Iterable[ExportedHistory],
    *,
    source: str = "exported histories",
    options: ReplayOptions | None = None,
) -> GateReport:
    """Replay exported histories (``durable-storage history ID --export F``) against the orchestrators of ``app``."""
    checks = [_check(app, e.instance_id, e.name, list(e.events), e.runtime_status, options=options) for e in exported]
    return GateReport.of(checks, source)


async def export_instance(hub: TaskHub, instance_id: str) -> ExportedHistory:
    """Read the current execution's history of ``instance_id`` (and its Instances row) for export.

    Raises:
        InstanceNotFoundError: neither a row nor a history exists for it.
        ResourceNotFoundError: the task hub does not exist.
    """
    check_instance_id(instance_id)
    await _require_hub(hub)
    record, loaded = await asyncio.gather(
        hub.instances.read(instance_id, fetch_payloads=True), hub.history.load(instance_id)
    )
    if record is None and not loaded.events:
        raise InstanceNotFoundError(
            f"instance {instance_id!r} was not found in task hub {hub.name!r}", instance_id=instance_id
        )
    started = runtime_state(loaded.events).started
    started_input = started.input if started is not None else None
    stored_status = record.runtime_status if record is not None else runtime_state(loaded.events).status
    return ExportedHistory(
        instance_id=instance_id,
        execution_id=loaded.execution_id,
        name=(record.name if record is not None else None) or (started.name if started is not None else None),
        runtime_status=stored_status.value if stored_status is not None else None,
        # A row whose input blob is gone still has the input in its history's ExecutionStarted.
        input=record.input if record is not None and "Input" not in record.unreadable else started_input,
        events=tuple(loaded.events),
    )


def _check(
    app: App,
    instance_id: str,
    name: str | None,
    events: Sequence[HistoryEvent],
    status: str | None,
    *,
    options: ReplayOptions | None,
) -> InstanceCheck:
    started = runtime_state(events).started
    name = name or (started.name if started is not None else "") or "(unknown)"
    try:
        orchestrator = app.get(FunctionKind.ORCHESTRATOR, name).function
        missing = ""
    except LookupError:
        orchestrator = None
        missing = f" (it registers: {', '.join(app.names(FunctionKind.ORCHESTRATOR)) or 'no orchestrators'})"
    return check_history(
        orchestrator,
        instance_id=instance_id,
        name=name,
        events=events,
        runtime_status=status,
        missing=missing,
        options=options,
    )


def _unreadable(record: InstanceRecord, error: Exception) -> InstanceCheck:
    reason = f"the history of {record.instance_id!r} could not be read: {error}"
    return InstanceCheck(
        instance_id=record.instance_id,
        name=record.name or "(unknown)",
        runtime_status=record.runtime_status.value if record.runtime_status else None,
        events=0,
        outcome="failed",
        failure=GateFailure(sequence=None, history_index=None, recorded="?", actual="?", reason=reason),
    )


def _query(
    names: Sequence[str] | None, statuses: Sequence[OrchestrationRuntimeStatus | str] | None, since: datetime | None
) -> str | None:
    if names is not None and (isinstance(names, str) or not all(isinstance(n, str) and n for n in names)):
        raise ConfigurationError(f"names {names!r} is invalid: must be a list of non-empty orchestrator names")
    base = InstanceQuery(
        created_time_from=check_aware(since, "since"),
        runtime_status=runtime_statuses(list(statuses) if statuses is not None else None, "statuses"),
        exclude_entities=True,
    ).to_filter()
    by_name = " or ".join(column_equals("Name", name) for name in names or ())
    conditions = [c for c in (base, by_name) if c]
    return " and ".join(f"({c})" for c in conditions) or None


async def _records(hub: TaskHub, query: str | None) -> list[InstanceRecord]:
    records: list[InstanceRecord] = []
    continuation: dict[str, str] | None = None
    while True:
        page, continuation = await hub.instances.query_page(
            query, unescape=unescape_key, page_size=_PAGE, continuation=continuation, fetch_payloads=False
        )
        records += page
        if continuation is None:
            return records


def _latest(records: list[InstanceRecord], limit: int | None) -> list[InstanceRecord]:
    if limit is None:
        return records
    by_name: dict[str | None, list[InstanceRecord]] = {}
    for record in records:
        by_name.setdefault(record.name, []).append(record)
    kept: list[InstanceRecord] = []
    for group in by_name.values():
        group.sort(key=lambda r: (r.created_time is not None, r.created_time), reverse=True)
        kept += group[:limit]
    return kept


async def _require_hub(hub: TaskHub) -> None:
    table = hub.names.instances_table
    if not await hub.account.tables.exists(table):
        raise ResourceNotFoundError(
            f"task hub {hub.name!r} was not found: its table {table!r} does not exist in this account "
            "(check --task-hub and the connection)",
            status=404,
            resource=f"table {table}",
        )
