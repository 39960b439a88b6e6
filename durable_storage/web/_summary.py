"""The dashboard's summary of a task hub: instances per status and a chart of what was created and ended; pure.

Its rows come from one filtered, projected scan of the Instances table (``_overview``): every instance that has
not ended, whatever its age (an approval that has waited for a week is still the operator's business), and every
instance created or ended within the window. The chart buckets the window into ``BUCKETS`` equal spans and counts,
per span, the instances created, the ones that completed and the ones that failed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from durable_storage._datetimes import format_datetime
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.client._queries import InstanceQuery, all_of, any_of, column_equals, odata_datetime
from durable_storage.models import OrchestrationRuntimeStatus

__all__ = ["BUCKETS", "COLUMNS", "summarize", "summary_filter"]

BUCKETS = 60
COLUMNS = ("runtime_status", "created_time", "completed_time")
"""The columns the summary reads: no name, no payload, so that a page of 1000 rows stays a few kilobytes."""

_Status = OrchestrationRuntimeStatus
_NOT_ENDED = (_Status.Pending, _Status.Running, _Status.Suspended, _Status.ContinuedAsNew)
_FAILED = frozenset({_Status.Failed})


def summary_filter(since: datetime) -> str:
    """The rows of the summary: not ended, or created or completed at or after ``since``; entities left out."""
    entities = InstanceQuery(exclude_entities=True).to_filter()
    moment = odata_datetime(since)
    wanted = any_of(
        *(column_equals("RuntimeStatus", status.value) for status in _NOT_ENDED),
        f"CreatedTime ge {moment}",
        f"CompletedTime ge {moment}",
    )
    return all_of(f"({entities})", wanted)


def _bucket(moment: datetime | None, since: datetime, width: timedelta) -> int | None:
    if moment is None or moment < since:
        return None
    return min(int((moment - since) / width), BUCKETS - 1)  # a row stamped "now" by a fast clock: the last bucket


def summarize(records: Sequence[InstanceRecord], *, since: datetime, until: datetime, capped: bool) -> dict[str, Any]:
    """The summary's JSON: ``counts`` per status (every status, zeros too), ``total``, ``capped`` (the scan stopped
    at its limit: the counts are lower bounds), and ``buckets`` of ``{start, created, completed, failed}``.
    """
    width = (until - since) / BUCKETS
    created, completed, failed = [0] * BUCKETS, [0] * BUCKETS, [0] * BUCKETS
    for record in records:
        start = _bucket(record.created_time, since, width)
        if start is not None:
            created[start] += 1
        end = _bucket(record.completed_time, since, width)
        if end is not None and record.runtime_status is _Status.Completed:
            completed[end] += 1
        elif end is not None and record.runtime_status in _FAILED:
            failed[end] += 1
    counts = Counter(r.runtime_status.name for r in records if r.runtime_status is not None)
    return {
        "since": format_datetime(since),
        "until": format_datetime(until),
        "bucketSeconds": width.total_seconds(),
        "counts": {status.name: counts.get(status.name, 0) for status in _Status},
        "total": len(records),
        "capped": capped,
        "buckets": [
            {
                "start": format_datetime(since + width * i),
                "created": created[i],
                "completed": completed[i],
                "failed": failed[i],
            }
            for i in range(BUCKETS)
        ],
    }
