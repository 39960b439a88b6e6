"""The dashboard's views over many instances: the list newest first, and the summary; what each costs in storage calls.

The Instances table is keyed by instance ID (PartitionKey = the escaped ID, one row each), so the table service
returns rows in ID order and cannot sort by time; a filter on CreatedTime is not indexed either (the service still
reads the table, and a call may come back with few rows and a continuation). So both views read a *projection* of
the matching rows (a few columns, no payloads, up to 1000 rows per call), sort or count them here, and read in
full only the rows shown:

* The list steps back through windows of creation time (the last hour, day, 30 days, then the rest), below the
  page's cursor, until it holds one row more than the page: every row of a newer window is newer than every row of
  an older one, so the sort is exact however the IDs run. A page costs ceil(rows in the windows read / 1000)
  projected calls (one or two on a busy hub, whose last hour fills a page) plus one point read per row shown (for
  its output). The cursor is the last row shown (created time, ID), so a page does not shift as instances arrive.
* The summary is one projected scan (``_summary.summary_filter``): ceil(rows / 1000) calls.

Each scan stops at ``SCAN_ROWS`` rows or ``_SCAN_CALLS`` calls, whichever comes first; the answer then says
``capped`` (the summary's counts are lower bounds; the list is the newest of the rows read in ID order).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from durable_storage._clock import utcnow
from durable_storage._datetimes import format_datetime, parse_datetime
from durable_storage._names import unescape_key
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.client import DurableOrchestrationClient
from durable_storage.client._queries import InstanceQuery
from durable_storage.errors import ConfigurationError
from durable_storage.models import DurableOrchestrationStatus
from durable_storage.web._params import InstanceFilter
from durable_storage.web._summary import COLUMNS, summarize, summary_filter

__all__ = ["SCAN_ROWS", "Listing", "decode_cursor", "encode_cursor", "newest_first", "summary"]

SCAN_ROWS = 5000
_SCAN_CALLS = 20  # empty pages count too: an unindexed filter can answer "nothing yet, continue"
_PAGE_ROWS = 1000  # the table service's largest page
_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=30), None)
_LIST_COLUMNS = ("name", "created_time", "runtime_status")


@dataclass(frozen=True)
class _Scan:
    records: list[InstanceRecord]
    capped: bool


async def _scan(client: DurableOrchestrationClient, query: str | None, columns: tuple[str, ...]) -> _Scan:
    hub = client.task_hub
    records: list[InstanceRecord] = []
    continuation: dict[str, str] | None = None
    for _ in range(_SCAN_CALLS):
        page, continuation = await hub.instances.query_page(
            query, unescape=unescape_key, page_size=_PAGE_ROWS, continuation=continuation, columns=columns
        )
        records += page
        if continuation is None or len(records) >= SCAN_ROWS:
            break
    return _Scan(records[:SCAN_ROWS], continuation is not None or len(records) > SCAN_ROWS)


async def summary(client: DurableOrchestrationClient, window: timedelta) -> dict[str, Any]:
    """The summary of the hub over the last ``window`` (see ``_summary``)."""
    until = utcnow()
    since = until - window
    scan = await _scan(client, summary_filter(since), COLUMNS)
    return summarize(scan.records, since=since, until=until, capped=scan.capped)


# --- the list, newest first ----------------------------------------------------------------------------------------


def _sort_key(record: InstanceRecord) -> tuple[float, str]:
    # Newest first; the ID breaks ties, so that the cursor names one place in the order.
    created = record.created_time.timestamp() if record.created_time else float("-inf")
    return (-created, record.instance_id)


def encode_cursor(record: InstanceRecord) -> str:
    created = format_datetime(record.created_time) if record.created_time else None
    text = json.dumps({"created": created, "id": record.instance_id})
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode_cursor(token: str) -> tuple[datetime | None, str]:
    """The (created time, ID) of a cursor from ``encode_cursor``; the message does not repeat a bad token."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        created = value["created"]
        instance_id = value["id"]
        moment = None if created is None else parse_datetime(created)
    except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError):
        raise ConfigurationError(
            "query parameter continuationToken is invalid: must be a page's continuationToken, unchanged"
        ) from None
    if not isinstance(instance_id, str):
        raise ConfigurationError("query parameter continuationToken is invalid: must be a page's continuationToken")
    return moment, instance_id


@dataclass(frozen=True)
class Listing:
    """One page of the list: its statuses, newest first; the cursor of the next page; whether a scan was capped."""

    statuses: list[DurableOrchestrationStatus]
    continuation_token: str | None
    capped: bool


def _windows(conditions: InstanceFilter, upper: datetime | None) -> list[tuple[datetime | None, datetime | None]]:
    """The (from, to) creation-time ranges to read, newest first, within the filter's own range."""
    anchor = upper or utcnow()
    floor = conditions.created_time_from
    ranges: list[tuple[datetime | None, datetime | None]] = []
    top = upper
    for span in _WINDOWS:
        bottom = None if span is None else anchor - span
        if floor is not None and (bottom is None or bottom <= floor):
            ranges.append((floor, top))
            break
        ranges.append((bottom, top))
        top = bottom
    return ranges


async def newest_first(
    client: DurableOrchestrationClient, conditions: InstanceFilter, *, name: str, token: str | None
) -> Listing:
    """The page after ``token`` of the instances that match ``conditions`` and ``name``, newest first."""
    cursor = decode_cursor(token) if token else None
    after = (-(cursor[0].timestamp() if cursor[0] else float("-inf")), cursor[1]) if cursor else None
    upper = conditions.created_time_to
    if cursor and cursor[0] and (upper is None or cursor[0] < upper):
        upper = cursor[0]
    found: dict[str, InstanceRecord] = {}
    capped = False
    for lower, top in _windows(conditions, upper):
        query = InstanceQuery(
            created_time_from=lower,
            created_time_to=top,
            runtime_status=conditions.runtime_status,
            instance_id_prefix=conditions.instance_id_prefix,
            exclude_entities=True,
        )
        scan = await _scan(client, query.to_filter(), _LIST_COLUMNS)
        capped = capped or scan.capped
        for record in scan.records:
            wanted = query.admits(record.instance_id) and name in (record.name or "").lower()
            if wanted and (after is None or _sort_key(record) > after):
                found[record.instance_id] = record
        if len(found) > conditions.top:
            break
    ordered = sorted(found.values(), key=_sort_key)
    shown = ordered[: conditions.top]
    statuses = await asyncio.gather(*(client.get_status(r.instance_id) for r in shown))
    more = len(ordered) > len(shown)
    return Listing([s for s in statuses if s], encode_cursor(shown[-1]) if more else None, capped)
