"""History events ↔ History table rows, as DurableTask.AzureStorage's TableEntityConverter stores them; pure.

Column rules (storage-layout.md §2.1, history-event-fields.md §4): one column per ``[DataMember]``
under its .NET name; strings, integers, booleans and DateTimes as native table values; enums by **name**; every
other value as compact JSON without ``$type`` (a null one as the text ``null``); ``Timestamp`` renamed
``_Timestamp`` because the table reserves it. Null primitives are left out, so a missing column reads as null.
Keys (PartitionKey, RowKey) and large-property blobs belong to the table module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from datetime import datetime
from typing import Any

from durable_storage._datetimes import parse_datetime, to_utc
from durable_storage._dotnet_json import EVENT_CONTRACTS, STRING, Member, dump_json, parse_json
from durable_storage.errors import MessageFormatError
from durable_storage.history import EVENT_CLASSES, EventType, HistoryEvent
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["LARGE_PROPERTY_COLUMNS", "event_to_row", "row_to_event"]

LARGE_PROPERTY_COLUMNS = (
    "Name",
    "Input",
    "Result",
    "Output",
    "Reason",
    "Details",
    "Correlation",
    "FailureDetails",
    "Tags",
)
"""The columns that may move to a blob when over 60 KiB of UTF-16 (storage-layout.md §2.3)."""


def _column_name(key: str) -> str:
    # Table storage reserves Timestamp for its own last-modified time (history-event-fields.md §4).
    return "_Timestamp" if key.lower() == "timestamp" else key


def event_to_row(event: HistoryEvent, *, execution_id: str) -> dict[str, object]:
    """The columns of ``event``'s History row, plus the ``ExecutionId`` the tracking store adds.

    Raises:
        ValueError: a value .NET cannot store (NaN in failure properties, a lone surrogate in JSON).
    """
    row: dict[str, object] = {}
    for member in EVENT_CONTRACTS[type(event)].members:
        value = _to_column(member, getattr(event, member.attr))
        if value is not None:
            row[_column_name(member.key)] = value
    row["ExecutionId"] = execution_id
    return row


def _to_column(member: Member, value: object) -> object:
    form = member.kind.column
    if form == "json":
        return dump_json(None if value is None else member.kind.encode(value, False, None))
    if value is None:
        return None
    if form == "enum":
        return value.name  # type: ignore[attr-defined]
    if form == "datetime":
        return to_utc(value)  # type: ignore[arg-type]
    return value


def row_to_event(row: Mapping[str, object]) -> HistoryEvent:
    """The event a History row holds; other columns (keys, ETag, blob names) are ignored.

    Raises:
        MessageFormatError: the ``EventType`` column is missing or names no event class, or a column holds a value
            of the wrong type, or a required column is missing.
    """
    where = _describe(row)
    contract = EVENT_CONTRACTS[EVENT_CLASSES[_event_type(row, where)]]
    try:
        values = {member.attr: _read(member, row, where) for member in contract.members if member.init}
    except RecursionError:
        raise MessageFormatError(f"{where}: a JSON column is nested too deeply to decode") from None
    return contract.cls(**values)


def _describe(row: Mapping[str, object]) -> str:
    keys = [row.get("PartitionKey"), row.get("RowKey")]
    return "History row" + ("" if None in keys else f" {keys[0]!r}/{keys[1]!r}")


def _event_type(row: Mapping[str, object], where: str) -> EventType:
    name = row.get("EventType")
    event_type = EventType.__members__.get(name) if isinstance(name, str) else None
    if event_type is None or event_type not in EVENT_CLASSES:
        raise MessageFormatError(f"{where}: EventType {name!r} is not the name of a history event class")
    return event_type


def _read(member: Member, row: Mapping[str, object], where: str) -> Any:
    # A null property is not stored at all, so a missing column and a null one mean the same (storage-layout.md §2.1).
    column = _column_name(member.key)
    raw = row.get(column)
    value = None if raw is None else _from_column(member, raw, f"{where} column {column}")
    if value is None and member.default is MISSING:
        raise MessageFormatError(f"{where}: the required column {column!r} is missing or null")
    return member.default if value is None else value


def _from_column(member: Member, value: object, where: str) -> object:
    form = member.kind.column
    if form == "json":
        parsed = parse_json(STRING.decode(value, where), where)
        return None if parsed is None else member.kind.decode(parsed, where)
    if form == "enum":  # OrchestrationStatus is the only enum read back: EventType chose the class
        try:
            return OrchestrationRuntimeStatus(STRING.decode(value, where))
        except ValueError:
            raise MessageFormatError(f"{where}: {value!r} is not an orchestration status name") from None
    if form == "datetime":
        return to_utc(_datetime_column(value, where))
    return member.kind.decode(value, where)


def _datetime_column(value: object, where: str) -> datetime:
    # azure-data-tables returns a datetime subclass that keeps the service's 7-digit text in tables_service_value;
    # reading that text keeps the 100-ns tick a Python datetime drops.
    text = getattr(value, "tables_service_value", None) or value
    if isinstance(text, datetime):
        return text
    try:
        return parse_datetime(STRING.decode(text, where))
    except ValueError as exc:
        raise MessageFormatError(f"{where}: {exc}") from None
