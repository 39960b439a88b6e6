"""What one orchestration instance costs in Azure Storage: transactions by kind, an estimated price, bytes held.

Azure Storage bills every request (a "transaction") and every byte stored each month. :func:`instance_cost` reads
an instance's History rows, its Instances row and its large-payload blobs (nothing is written) and reports:

**Transactions, estimated from its history.** The current execution's events say what happened: each episode
(an OrchestratorStarted) and each message it received, each activity, timer, sub-orchestration and event it
sent. The estimate follows the .NET provider's accounting of performance.md §5.1-5.2, which gives 53 requests
for HelloCities5 (one orchestration, five activities in sequence):

- per message received (start, activity result, timer, event, sub-orchestration result, terminate ...): one put
  (by its sender; a timer's put is made when the timer is created) and one delete once it is processed;
- per episode: at least one control-queue receive, one History read (a query page per 1,000 rows), one History
  write transaction per 99 new events (an entity-group transaction is billed as one), one Instances update;
- per activity: the work-item put, its receive and its delete (its result is a message received, above);
- per start by a client: the Instances read and insert that create the instance;
- per large payload: the blob write, and a read by every later episode's History read.

It is an estimate, and for this worker an upper bound: its sticky sessions replay from memory instead of
re-reading History, it skips Instances updates that would change nothing, receives control messages 32 at a
time, and idle polling is not attributable to any instance. Earlier executions of a continue-as-new loop are gone
from History and are not counted. For measured figures, count a run with :mod:`durable_storage.calls`
(``count_calls().since(before)``) and price it with :func:`transactions_usd`.

**Bytes held**, as Azure bills them: each table entity at 4 bytes + 2 per key character + for each property
8 bytes + 2 per name character + its value (string: 4 + 2 per UTF-16 unit, binary: 4 + length, DateTime/Int64/
Double: 8, Int32: 4, Guid: 16, Boolean: 1), the Timestamp property included; every History row of the instance
(the sentinel and rows left over from older executions too) and its Instances row; and its blobs in the
large-message container, at their gzip size (recomputed as this writer compresses, level 6).

**Prices** come from :class:`Prices`, a documented default table you override (``Prices(table_per_10k=...)`` or
``durable-storage cost ID --prices FILE.json``).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from durable_storage._settings import check_number
from durable_storage._storage.history_table import SENTINEL
from durable_storage._storage.large import BLOB_NAME_SUFFIX
from durable_storage._storage.tables import Row
from durable_storage.errors import ConfigurationError, InstanceNotFoundError, MessageFormatError, ResourceNotFoundError
from durable_storage.history import EventType
from durable_storage.taskhub import TaskHub

__all__ = [
    "CostReport",
    "Prices",
    "TransactionLine",
    "cost_columns",
    "entity_size",
    "format_bytes",
    "format_usd",
    "instance_cost",
    "transactions_usd",
]

_E = EventType
_GIB = 1024**3
# Messages the instance received: each was put by its sender and deleted once processed.
_RECEIVED = frozenset(
    {
        _E.ExecutionStarted,
        _E.TaskCompleted,
        _E.TaskFailed,
        _E.TimerFired,
        _E.EventRaised,
        _E.SubOrchestrationInstanceCompleted,
        _E.SubOrchestrationInstanceFailed,
        _E.ExecutionTerminated,
        _E.ExecutionSuspended,
        _E.ExecutionResumed,
        _E.GenericEvent,
        _E.ExecutionRewound,
    }
)
# Messages it sent to another instance (its timers' messages are its own and counted when they are created).
_SENT = (_E.SubOrchestrationInstanceCreated, _E.EventSent)
_QUEUE_READS = frozenset({"get_messages", "peek_messages", "get_queue_properties", "list_queues"})
_WHAT = {
    ("queue", "put_message"): "messages sent: start, work items, activity results, timers, events",
    ("queue", "get_messages"): "receives: one per episode, one per activity work item",
    ("queue", "delete_message"): "deletes: every message received, every work item",
    ("table", "query_entities"): "History reads: one per episode (a page per 1,000 rows)",
    ("table", "batch"): "History writes: one transaction per episode and 99 events",
    ("table", "merge_entity"): "Instances row updates: one per episode",
    ("table", "get_entity"): "Instances row read by the client's start",
    ("table", "insert_entity"): "Instances row insert by the client's start",
    ("blob", "put_blob"): "large payloads written to blobs",
    ("blob", "get_blob"): "large payloads read back",
}


@dataclass(frozen=True, kw_only=True)
class Prices:
    """Azure Storage prices in USD: per 10,000 transactions of each class, and per GiB stored per month.

    The defaults are Azure's list prices for a Standard general-purpose v2 account with locally redundant storage
    (LRS) and the hot blob tier in East US, as published on azure.microsoft.com/pricing/details/storage/queues/,
    .../tables/ and .../blobs/. Prices change over time and differ by region, redundancy and agreement: they
    are a documented starting point, not a quote. Override any of them here or in a JSON file of the same keys
    (:meth:`from_dict`, ``durable-storage cost ID --prices FILE.json``).

    Attributes:
        queue_class1_per_10k: queue writes: put, update and delete message (and queue management).
        queue_class2_per_10k: queue reads: get and peek messages, queue properties.
        table_per_10k: any table transaction: a query page, an entity read or write, a whole batch.
        blob_write_per_10k: blob writes, listings and container creation.
        blob_read_per_10k: blob reads (deletes are free).
        table_gb_month: table data, per GiB per month.
        blob_gb_month: hot blob data, per GiB per month.
    """

    queue_class1_per_10k: float = 0.004
    queue_class2_per_10k: float = 0.004
    table_per_10k: float = 0.00036
    blob_write_per_10k: float = 0.055
    blob_read_per_10k: float = 0.0044
    table_gb_month: float = 0.045
    blob_gb_month: float = 0.018

    def __post_init__(self) -> None:
        for item in fields(self):
            check_number(getattr(self, item.name), f"price {item.name}", unit="USD", high=None)

    @classmethod
    def from_dict(cls, data: object, *, where: str = "prices") -> Prices:
        """The default prices with those in ``data`` (a JSON object of some of the attribute names) replaced.

        Raises:
            ConfigurationError: not an object, an unknown key (the message lists the known ones), or a value that
                is not a number >= 0.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{where} is a {type(data).__name__}: must be a JSON object of prices")
        known = [item.name for item in fields(cls)]
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ConfigurationError(f"{where}: price {unknown[0]!r} is unknown: must be one of {', '.join(known)}")
        return replace(cls(), **{str(key): value for key, value in data.items()})

    def per_10k(self, service: str, operation: str) -> float:
        """The price of 10,000 requests of ``operation`` (the names of :mod:`durable_storage.calls`)."""
        if service == "table":
            return self.table_per_10k
        if service == "queue":
            return self.queue_class2_per_10k if operation in _QUEUE_READS else self.queue_class1_per_10k
        if operation.startswith("delete"):
            return 0.0
        return self.blob_read_per_10k if operation.startswith(("get_", "head_")) else self.blob_write_per_10k

    def to_dict(self) -> dict[str, float]:
        """The prices by attribute name (the JSON form :meth:`from_dict` reads)."""
        return asdict(self)


def transactions_usd(counts: Mapping[tuple[str, str], int], prices: Prices | None = None) -> float:
    """The price of ``counts`` requests by ``(service, operation)``, e.g. a ``durable_storage.calls`` tally."""
    table = prices or Prices()
    return sum(count * table.per_10k(service, operation) / 10_000 for (service, operation), count in counts.items())


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionLine:
    """One kind of storage transaction of an instance: how many, their price, and what they are for."""

    service: str
    operation: str
    count: int
    usd: float
    what: str


@dataclass(frozen=True, kw_only=True)
class CostReport:
    """The storage transactions, price and bytes of one instance (see the module docstring for the model).

    Attributes:
        instance_id: the instance.
        name: its orchestrator name, when known.
        runtime_status: its stored status, when known.
        execution_id: the execution whose history the estimate counts.
        episodes: the episodes of that execution (OrchestratorStarted events).
        events: its history events.
        transactions: the estimated transactions by kind, largest first.
        history_bytes: the billed size of all the instance's History rows.
        instance_bytes: the billed size of its Instances row.
        blob_bytes: the gzip size of its large-payload blobs.
        blob_count: how many such blobs it has.
        prices: the prices used.
    """

    instance_id: str
    name: str | None
    runtime_status: str | None
    execution_id: str | None
    episodes: int
    events: int
    transactions: tuple[TransactionLine, ...]
    history_bytes: int
    instance_bytes: int
    blob_bytes: int
    blob_count: int
    prices: Prices

    @property
    def total_transactions(self) -> int:
        """All estimated transactions."""
        return sum(line.count for line in self.transactions)

    @property
    def transactions_usd(self) -> float:
        """Their estimated price."""
        return sum(line.usd for line in self.transactions)

    @property
    def stored_bytes(self) -> int:
        """Bytes held in tables and blobs."""
        return self.history_bytes + self.instance_bytes + self.blob_bytes

    @property
    def storage_usd_per_month(self) -> float:
        """What holding those bytes costs per month."""
        table = (self.history_bytes + self.instance_bytes) / _GIB * self.prices.table_gb_month
        return table + self.blob_bytes / _GIB * self.prices.blob_gb_month

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view, totals included."""
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "runtime_status": self.runtime_status,
            "execution_id": self.execution_id,
            "episodes": self.episodes,
            "events": self.events,
            "estimated": True,
            "transactions": [
                {"service": t.service, "operation": t.operation, "count": t.count, "usd": t.usd, "what": t.what}
                for t in self.transactions
            ],
            "total_transactions": self.total_transactions,
            "transactions_usd": self.transactions_usd,
            "bytes": {
                "history": self.history_bytes,
                "instance": self.instance_bytes,
                "blobs": self.blob_bytes,
                "blob_count": self.blob_count,
                "total": self.stored_bytes,
            },
            "storage_usd_per_month": self.storage_usd_per_month,
            "prices": self.prices.to_dict(),
        }


def cost_columns(report: CostReport) -> dict[str, str]:
    """The short form for a column of ``durable-storage list --cost``: transactions, estimated USD, bytes held.

    Keys, in display order: ``Transactions``, ``Est. USD``, ``Stored``.
    """
    return {
        "Transactions": f"{report.total_transactions:,}",
        "Est. USD": format_usd(report.transactions_usd),
        "Stored": format_bytes(report.stored_bytes),
    }


def format_usd(amount: float) -> str:
    """``$0.0000212``: enough digits to read a price per instance, which is usually a small fraction of a cent."""
    return f"${amount:.2f}" if amount >= 1 else f"${amount:.7f}"


def format_bytes(size: int) -> str:
    """``980 B``, ``12.3 KiB``, ``4.1 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


async def instance_cost(hub: TaskHub, instance_id: str, *, prices: Prices | None = None) -> CostReport:
    """Estimate the storage transactions of ``instance_id`` and measure the bytes it holds (reads only).

    Raises:
        InstanceNotFoundError: the hub has neither an Instances row nor History rows for it.
    """
    escaped = hub.escape(instance_id)
    container = hub.names.large_messages_container
    try:
        rows, instance = await asyncio.gather(
            _history_rows(hub, escaped), hub.account.tables.get(hub.names.instances_table, escaped, "")
        )
    except ResourceNotFoundError:
        rows, instance = [], None  # no History table: the hub does not exist
    if not rows and instance is None:
        raise InstanceNotFoundError(
            f"instance {instance_id!r} was not found in task hub {hub.name!r}", instance_id=instance_id
        )
    names = await hub.large.blob_names_of(instance_id)
    sizes = await asyncio.gather(*(_blob_size(hub, container, name) for name in names))
    execution, current = _current_execution(rows)
    counts = _estimate(current, message_blobs=sum("/message-" in n for n in names), stored_blobs=len(names))
    if not current and instance is not None:
        # Created by a client and not started yet: its Instances read and insert, and the start message.
        counts.update({("table", "get_entity"): 1, ("table", "insert_entity"): 1, ("queue", "put_message"): 1})
    table = prices or Prices()
    lines = sorted(
        (
            TransactionLine(
                service=service,
                operation=operation,
                count=count,
                usd=count * table.per_10k(service, operation) / 10_000,
                what=_WHAT.get((service, operation), ""),
            )
            for (service, operation), count in counts.items()
            if count
        ),
        key=lambda line: (-line.count, line.service, line.operation),
    )
    values = instance.values if instance is not None else {}
    return CostReport(
        instance_id=instance_id,
        name=_text(values.get("Name")) or _started_name(current),
        runtime_status=_text(values.get("RuntimeStatus")),
        execution_id=execution,
        episodes=sum(_type(r) is _E.OrchestratorStarted for r in current),
        events=len(current),
        transactions=tuple(lines),
        history_bytes=sum(entity_size(row) for row in rows),
        instance_bytes=entity_size(instance) if instance is not None else 0,
        blob_bytes=sum(sizes),
        blob_count=len(names),
        prices=table,
    )


async def _history_rows(hub: TaskHub, escaped: str) -> list[Row]:
    query = hub.account.tables.query(hub.names.history_table, "PartitionKey eq @pk", parameters={"pk": escaped})
    return sorted([row async for row in query], key=lambda row: row.row_key)


async def _blob_size(hub: TaskHub, container: str, name: str) -> int:
    # Blobs has no listing with sizes: read the text back and compress it as our writer does (level 6).
    try:
        text = await hub.account.blobs.download_text(container, name)
    except (ResourceNotFoundError, MessageFormatError):
        return 0  # deleted meanwhile, or not ours to read: it holds nothing we can measure
    return len(gzip.compress(text.encode("utf-8"), compresslevel=6))


def _current_execution(rows: Sequence[Row]) -> tuple[str | None, list[Row]]:
    """The current execution's ID and its event rows, as History reads them (storage-layout.md §2.1)."""
    sentinel = next((row for row in rows if row.row_key == SENTINEL), None)
    events = [row for row in rows if row.row_key != SENTINEL]
    current = _text(sentinel.values.get("ExecutionId")) if sentinel else None
    current = current or (_text(events[0].values.get("ExecutionId")) if events else None)
    mine: list[Row] = []
    for row in events:
        if row.values.get("ExecutionId") != current:
            break  # rows of an older, longer execution follow the current ones
        mine.append(row)
    return current, mine


def _estimate(rows: Sequence[Row], *, message_blobs: int, stored_blobs: int) -> Counter[tuple[str, str]]:
    kinds = Counter(_type(row) for row in rows)
    received = sum(count for kind, count in kinds.items() if kind in _RECEIVED)
    activities = kinds[_E.TaskScheduled]
    sent = sum(kinds[kind] for kind in _SENT) + _notifies_parent(rows)
    counts: Counter[tuple[str, str]] = Counter()
    counts["queue", "put_message"] = received - kinds[_E.TimerFired] + kinds[_E.TimerCreated] + activities + sent
    counts["queue", "delete_message"] = received + activities
    counts["table", "get_entity"] = counts["table", "insert_entity"] = int(_started_by_client(rows))
    history_blobs = 0
    for episode, (before, size) in enumerate(_episodes(rows)):
        counts["queue", "get_messages"] += 1
        counts["table", "query_entities"] += max(1, math.ceil(before / 1000))
        counts["table", "batch"] += math.ceil(size / 99)
        counts["table", "merge_entity"] += 1
        if episode:
            counts["blob", "get_blob"] += history_blobs  # every episode after the first reads them back
        history_blobs += sum(_blob_references(row) for row in rows[before : before + size])
    counts["queue", "get_messages"] += activities
    counts["blob", "put_blob"] = max(stored_blobs, history_blobs + message_blobs)
    counts["blob", "get_blob"] += message_blobs
    return counts


def _episodes(rows: Sequence[Row]) -> list[tuple[int, int]]:
    """(rows before it, rows in it) for each episode: from one OrchestratorStarted to the next."""
    if not rows:
        return []
    starts = [i for i, row in enumerate(rows) if _type(row) is _E.OrchestratorStarted] or [0]
    starts[0] = 0  # anything before the first OrchestratorStarted belongs to the first episode
    ends = [*starts[1:], len(rows)]
    return [(start, end - start) for start, end in zip(starts, ends, strict=True)]


def _started_by_client(rows: Sequence[Row]) -> bool:
    # A client's start reads and inserts the Instances row; a parent's, or a continue-as-new, does not.
    started = next((row for row in rows if _type(row) is _E.ExecutionStarted), None)
    if started is None:
        return False
    generation = started.values.get("Generation")
    return _json_column(started.values.get("ParentInstance")) is None and not generation


def _notifies_parent(rows: Sequence[Row]) -> int:
    started = next((row for row in rows if _type(row) is _E.ExecutionStarted), None)
    ended = any(_type(row) is _E.ExecutionCompleted for row in rows)
    return int(ended and started is not None and _json_column(started.values.get("ParentInstance")) is not None)


def _blob_references(row: Row) -> int:
    return sum(1 for key, value in row.values.items() if key.endswith(BLOB_NAME_SUFFIX) and value)


def _type(row: Row) -> EventType | None:
    name = row.values.get("EventType")
    return EventType.__members__.get(name) if isinstance(name, str) else None


def _started_name(rows: Sequence[Row]) -> str | None:
    started = next((row for row in rows if _type(row) is _E.ExecutionStarted), None)
    return _text(started.values.get("Name")) if started is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_column(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


# --- billed entity size -------------------------------------------------------------------------------------------

_TIMESTAMP = 8 + 2 * len("Timestamp") + 8  # every entity has one, kept by the service


def entity_size(row: Row) -> int:
    """The billed size of a table entity: 4 + 2 per key character + each property (name and value).

    The formula of Azure's storage billing: ``4 + Len(PartitionKey + RowKey) * 2 + Σ (8 + Len(Name) * 2 +
    Sizeof(Value))``, with strings counted in UTF-16 (see the module docstring for the value sizes).
    """
    keys = _utf16_units(row.partition_key) + _utf16_units(row.row_key)
    properties = sum(8 + 2 * _utf16_units(name) + _value_size(value) for name, value in row.values.items())
    return 4 + 2 * keys + _TIMESTAMP + properties


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _value_size(value: Any) -> int:
    edm = str(getattr(value, "edm_type", ""))  # the SDK wraps an Int64 (and typed values) with its EDM type
    value = getattr(value, "value", value) if edm else value
    if isinstance(value, str):
        return 4 + 2 * _utf16_units(value)
    if isinstance(value, bytes | bytearray):
        return 4 + len(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return 8 if "Int64" in edm or not -(2**31) <= value < 2**31 else 4
    if isinstance(value, uuid.UUID):
        return 16
    if isinstance(value, float | datetime):
        return 8
    return 8 if value is not None else 0
