"""What a worker remembers of the instances it checkpointed: their history, and their Instances row as written.

Sticky sessions, as the .NET provider's extended sessions, without their cost: an instance whose last checkpoint
was ours replays from the history we wrote instead of reading it again, and its next History write is fenced by the
sentinel ETag that checkpoint left, so a history another writer changed since is never built upon (the write
fails with 412, the memory is forgotten, and the episode runs again from storage). The row as we wrote it lets a
checkpoint skip an Instances write that would change nothing but ``LastUpdatedTime`` (for at most a minute, so
``LastUpdatedTime`` stays within a minute of the last episode and a row deleted by hand comes back).

Forgotten: on any failed checkpoint, when the instance ends, when its partition leaves this worker, and the least
recently used first beyond a bound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage.history import HistoryEvent

__all__ = ["InstanceMemory", "Remembered"]


@dataclass(frozen=True, slots=True)
class Remembered:
    """One instance after our last checkpoint of it.

    Attributes:
        row_etag: the Instances row's ETag after our write (None: unknown).
        row: the Instances row as we last wrote it (None: unknown).
        history: the current execution's events (None: not kept, e.g. for entities).
        history_etag: the History sentinel's ETag after our write.
        execution_id: the execution ``history`` belongs to.
        row_written_at: when (``time.monotonic()``) we last wrote the row.
    """

    row_etag: str | None
    row: InstanceRecord | None = None
    history: list[HistoryEvent] | None = None
    history_etag: str | None = None
    execution_id: str | None = None
    row_written_at: float = 0.0


class InstanceMemory:
    """A bounded map of instance ID to :class:`Remembered`, least recently used forgotten first."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: OrderedDict[str, Remembered] = OrderedDict()

    def get(self, instance_id: str) -> Remembered | None:
        item = self._items.get(instance_id)
        if item is not None:
            self._items.move_to_end(instance_id)
        return item

    def remember(self, instance_id: str, item: Remembered) -> None:
        self._items[instance_id] = item
        self._items.move_to_end(instance_id)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def forget(self, instance_id: str) -> None:
        self._items.pop(instance_id, None)

    def forget_where(self, matches: Callable[[str], bool]) -> None:
        for instance_id in [i for i in self._items if matches(i)]:
            del self._items[instance_id]

    def __len__(self) -> int:
        return len(self._items)
