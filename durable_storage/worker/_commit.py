"""Committing an episode, for orchestrations and entities alike: the row it is conditioned on, the checkpoint
(``_checkpoint``), and what the worker remembers of the instance afterwards (``_memory``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.message_channel import Received
from durable_storage.errors import ConflictError
from durable_storage.taskhub import TaskHub
from durable_storage.worker._checkpoint import Committed, checkpoint
from durable_storage.worker._decisions import is_fresh_row
from durable_storage.worker._entity_episode import is_entity
from durable_storage.worker._episode import Episode
from durable_storage.worker._fate import MessageFate
from durable_storage.worker._hooks import NO_HOOKS, WorkerHooks
from durable_storage.worker._memory import InstanceMemory, Remembered

__all__ = ["Committer", "HistoryExists", "RowBefore"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RowBefore:
    """The Instances row before an episode: its ETag, and the row itself when it had to be read for it."""

    etag: str | None
    read: bool = False
    record: InstanceRecord | None = None


class HistoryExists(Exception):
    """A start presumed to be an instance's first found a history when it was checkpointed."""


class Committer:
    """Checkpoints episodes of the instances whose partitions this worker runs."""

    def __init__(
        self,
        hub: TaskHub,
        memory: InstanceMemory,
        fate: MessageFate,
        *,
        may_run: Callable[[str], bool],
        on_sent: Callable[[str], None],
        hooks: WorkerHooks = NO_HOOKS,
    ) -> None:
        self._hub = hub
        self._hooks = hooks
        self._memory = memory
        self._fate = fate
        self._may_run = may_run  # whether an instance's partition is still ours
        self._on_sent = on_sent

    async def row_before(self, instance_id: str) -> RowBefore:
        """The Instances row as it was before this episode: its write is conditioned on it, so a worker that stalls
        between its History and Instances writes cannot put an old status over a newer one (reliability.md T20).
        After our own write its ETag is known; otherwise one read, which the start check uses too."""
        known = self._memory.get(instance_id)
        if known is not None and known.row_etag is not None:
            return RowBefore(known.row_etag)
        record = await self._hub.instances.read(instance_id, fetch_payloads=False)
        return RowBefore(record.etag if record is not None else None, read=True, record=record)

    async def commit(
        self,
        instance_id: str,
        episode: Episode,
        *,
        etag: str | None,
        row: RowBefore,
        inbound: Sequence[Received],
        now: datetime,
        presumed_new: bool = False,
    ) -> bool:
        """Checkpoint ``episode``; False when nothing was committed (its messages went back).

        Raises:
            HistoryExists: ``presumed_new`` was wrong: the instance has a history (nothing of ours was written).
        """
        if not self._may_run(instance_id):
            # The lease ran out or moved while the episode replayed: commit nothing, the next owner redoes it.
            await self._fate.abandon(inbound, at_once=True)
            return False
        known = self._memory.get(instance_id)
        # The row as we wrote it, unchanged and recent: the checkpoint may skip writing it again.
        previous = known.row if known is not None and is_fresh_row(known, row.etag, now=time.monotonic()) else None
        try:
            committed = await checkpoint(
                self._hub,
                instance_id=instance_id,
                episode=episode,
                etag=etag,
                inbound=inbound,
                now=now,
                instance_etag=row.etag,
                previous_row=previous,
                sent=self._wake_for,  # the receiving loops start as soon as the messages are in their queues
                hooks=self._hooks,
                settle=self._fate.take_back,
            )
        except ConflictError as error:
            self._memory.forget(instance_id)
            if presumed_new and error.status == 409:
                _log.warning(
                    "checkpoint of %s refused (HTTP %s): it has a history after all (its start was delivered again, "
                    "or another worker ran it); its messages run again from storage",
                    instance_id,
                    error.status,
                )
                raise HistoryExists(instance_id) from error
            _log.warning(
                "checkpoint of %s lost to another worker (HTTP %s: %s); its messages go back",
                instance_id,
                error.status,
                error,
            )
            await self._fate.abandon(inbound)
            return False
        self._remember(instance_id, episode, committed)
        return True

    def _remember(self, instance_id: str, episode: Episode, committed: Committed) -> None:
        if committed.instance_etag is None or not self._may_run(instance_id):
            # A later checkpoint than ours stands, or the partition left us while this episode ran: whoever has it
            # now writes this instance, and what we know would go stale.
            self._memory.forget(instance_id)
            return
        # Histories of running orchestrations only: an ended one is rarely run again, and entities' are 3 rows.
        keep = not is_entity(instance_id) and episode.state is not None and not episode.state.is_terminal
        before = self._memory.get(instance_id)
        skipped = before is not None and committed.row is not None and committed.row is before.row
        self._memory.remember(
            instance_id,
            Remembered(
                row_etag=committed.instance_etag,
                row=committed.row,
                history=episode.history if keep else None,
                history_etag=committed.history_etag if keep else None,
                execution_id=episode.execution_id if keep else None,
                row_written_at=before.row_written_at if skipped and before is not None else time.monotonic(),
            ),
        )

    def _wake_for(self, episode: Episode) -> None:
        if any(o.to_work_items for o in episode.outbound):
            self._on_sent(self._hub.names.work_item_queue)
        # Only the queues sent to: waking every loop of this worker made each send cost empty polls.
        targets = {o.instance_id for o in episode.outbound if not o.to_work_items}
        for queue in {self._hub.control_queue_of(i) for i in targets}:
            self._on_sent(queue)
