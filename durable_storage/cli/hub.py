"""``durable-storage hub info``: what a task hub holds, and who works each partition."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from durable_storage.clock import utcnow
from durable_storage.taskhub import PartitionInfo, TaskHub, TaskHubInfo

__all__ = ["hub_info", "render_info"]


async def hub_info(hub: TaskHub, *, as_json: bool) -> str:
    """The hub's description, as a table or as JSON."""
    async with hub:
        info = await hub.info()
    if as_json:
        return json.dumps(info.to_dict(), indent=2)
    return render_info(info, utcnow())


def render_info(info: TaskHubInfo, now: datetime) -> str:
    """A plain-text report; ages and lease expiries are relative to ``now``."""
    if not info.exists:
        return f"task hub {info.name}: does not exist"
    lines = [f"task hub {info.name}: {info.partition_count} partitions"]
    header = ("PARTITION", "OWNER", "NEXT OWNER", "LEASE", "DEPTH", "OLDEST WAITING", "LAST DEQUEUE")
    rows = [header, *(_row(partition, now) for partition in info.partitions)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    work_items = list(info.queues)[-1]
    lines.append(f"work items: {work_items} ({_count(info.queues[work_items])} messages)")
    lines.append("tables: " + ", ".join(f"{n}{'' if ok else ' (missing)'}" for n, ok in info.tables.items()))
    lines.append("containers: " + ", ".join(f"{n}{'' if ok else ' (missing)'}" for n, ok in info.containers.items()))
    return "\n".join(line.rstrip() for line in lines)


def _row(partition: PartitionInfo, now: datetime) -> tuple[str, ...]:
    if partition.expires_at is None or partition.owner is None:
        lease = "free"
    elif partition.expires_at <= now:
        lease = f"expired {_age(now - partition.expires_at)} ago"
    else:
        lease = f"{'draining, ' if partition.is_draining else ''}{_age(partition.expires_at - now)} left"
    oldest = _age(now - partition.oldest_message_at) if partition.oldest_message_at else "-"
    dequeued = f"{_age(now - partition.last_dequeue)} ago" if partition.last_dequeue else "-"
    return (
        partition.partition,
        partition.owner or "-",
        partition.next_owner or "-",
        lease,
        _count(partition.depth),
        oldest,
        dequeued,
    )


def _age(delta: timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _count(depth: int | None) -> str:
    return "missing" if depth is None else str(depth)
