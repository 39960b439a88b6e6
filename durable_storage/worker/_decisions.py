"""What an orchestration session does with a batch: its start checks, its fate, its poison, a repair. Pure.

The session (``_session.py``) reads what these need (the history, the Instances row) and performs what they decide
(abandon, delete, quarantine, repair, run an episode); the rules themselves (storage-layout.md §5.2-§5.4) are
functions of plain values here, so that each is tested without storage. ``_screening.py`` decides which messages
of a batch an episode takes.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from durable_storage._runtime_state import RuntimeState
from durable_storage._storage.instances_table import InstanceRecord
from durable_storage._storage.message_channel import Received
from durable_storage.history import ExecutionStartedEvent, ExecutionTerminatedEvent
from durable_storage.worker._memory import Remembered
from durable_storage.worker._screening import RESULTS, event_of

__all__ = [
    "OUT_OF_ORDER_GIVE_UP",
    "Fate",
    "StartCheck",
    "Unknown",
    "check_starts",
    "fate_of",
    "is_fresh_row",
    "needs_repair",
    "needs_start_row",
    "split_poison",
    "split_unknown",
    "start_verdict",
]

OUT_OF_ORDER_GIVE_UP = 5  # deliveries of a result for an instance with no history (storage-layout.md §5.4)
_ROW_REFRESH_SECONDS = 60.0  # an unchanged Instances row is still written this often (LastUpdatedTime's bound)


class Fate(enum.Enum):
    """What a session does with a screened batch."""

    DEFER = "defer"  # a start waits for its Instances row: the whole batch goes back, with back-off
    NO_SUCH_INSTANCE = "no such instance"  # no history or start: end a Pending row, drop, wait (storage-layout.md §5.4)
    FINISHED = "finished"  # the instance has ended: repair its row if a crash left it behind, delete the batch
    RUN = "run"  # run an episode


@dataclass(frozen=True, slots=True)
class StartCheck:
    """The ExecutionStarted that begins a new execution in a batch (if any), and the starts that do not."""

    accepted: ExecutionStartedEvent | None = None
    discard: list[Received] = field(default_factory=list)  # duplicates, and starts a newer start superseded
    defer: list[Received] = field(default_factory=list)  # starts whose Instances row the client has not replaced yet


@dataclass(frozen=True, slots=True)
class Unknown:
    """A batch for an instance without history: a terminate to apply, results to wait for, the rest to drop."""

    terminate: ExecutionTerminatedEvent | None
    early: list[Received]
    dropped: list[Received]


def _is_new(event: ExecutionStartedEvent, started: ExecutionStartedEvent | None, terminal: bool) -> bool:
    # A first start, or the start of another execution over an ended one (a re-create).
    execution = event.orchestration_instance.execution_id
    return started is None or (terminal and execution != started.orchestration_instance.execution_id)


def start_verdict(event: ExecutionStartedEvent, row: InstanceRecord | None) -> bool | None:
    """True: run this new start. False: a newer start superseded it (discard). None: its row is not written yet."""
    if event.parent_instance is not None:
        return True  # sub-orchestration starts are not deduplicated (storage-layout.md §5.2)
    # No row yet: the client writes it right after sending; accepting at once saves the reference's deferral (and
    # its two-second back-off).
    if row is None or row.execution_id in (None, event.orchestration_instance.execution_id):
        return True
    # Another execution in the row: an older one the client is about to replace (our generation is newer: wait
    # for the row), or a newer start that won (same or older generation: discard), as in storage-layout.md §5.2.
    if (event.generation or 0) > (row.generation or 0):
        return None
    return False


def needs_start_row(batch: Sequence[Received], *, started: ExecutionStartedEvent | None, terminal: bool) -> bool:
    """Whether :func:`check_starts` will need the Instances row (a new start that is not a sub-orchestration's)."""
    for received in batch:
        event = event_of(received)
        if isinstance(event, ExecutionStartedEvent) and _is_new(event, started, terminal):
            # A sub-orchestration's start is accepted at once: no later start is looked at.
            return event.parent_instance is None
    return False


def check_starts(
    batch: Sequence[Received], *, started: ExecutionStartedEvent | None, terminal: bool, row: InstanceRecord | None
) -> StartCheck:
    """Sort the starts of ``batch``, given the history's start and the Instances row (when it was needed)."""
    check = StartCheck()
    accepted: ExecutionStartedEvent | None = None
    for received in batch:
        event = event_of(received)
        if not isinstance(event, ExecutionStartedEvent):
            continue
        verdict = start_verdict(event, row) if accepted is None and _is_new(event, started, terminal) else False
        if verdict is None:
            check.defer.append(received)
        elif not verdict:
            check.discard.append(received)  # a re-delivered or superseded start (storage-layout.md §5.2)
        else:
            accepted = event
    return StartCheck(accepted, check.discard, check.defer)


def fate_of(check: StartCheck, state: RuntimeState) -> Fate:
    """What to do with a batch, given its start check and the state of the instance's history."""
    if check.defer:
        return Fate.DEFER  # everything sent after the start waits with it (nothing is dropped)
    if check.accepted is not None:
        return Fate.RUN
    if state.started is None:
        return Fate.NO_SUCH_INSTANCE
    if state.is_terminal:
        return Fate.FINISHED
    return Fate.RUN


def split_unknown(batch: Sequence[Received], *, give_up: int = OUT_OF_ORDER_GIVE_UP) -> Unknown:
    """A batch for an instance that does not exist: results may await their sender's history (storage-layout.md §5.4)"""
    terminate = next((e for e in map(event_of, batch) if isinstance(e, ExecutionTerminatedEvent)), None)
    early = [r for r in batch if isinstance(event_of(r), RESULTS) and r.message.dequeue_count <= give_up]
    return Unknown(terminate, early, [r for r in batch if r not in early])


def split_poison(batch: Sequence[Received], limit: int) -> tuple[list[Received], list[Received], str]:
    """The messages received more than ``limit`` times, the others, and the reason to quarantine the first."""
    poison = [r for r in batch if r.message.dequeue_count > limit]
    rest = [r for r in batch if r.message.dequeue_count <= limit]
    most = max((r.message.dequeue_count for r in poison), default=0)
    return poison, rest, f"received {most} times without completing (limit {limit})"


def needs_repair(row: InstanceRecord | None, state: RuntimeState) -> bool:
    """Whether an ended instance's Instances row was left behind by a crash between the History and Instances
    writes (storage-layout.md §5.4 step 5, PR #1253): missing, or of the same execution with another status."""
    started = state.started
    if started is None:
        return False
    if row is None:
        return True
    return row.execution_id == started.orchestration_instance.execution_id and row.runtime_status is not state.status


def is_fresh_row(known: Remembered | None, etag: str | None, *, now: float) -> bool:
    """The row as we wrote it, still the one the episode's write is conditioned on, and written within a minute
    (``now`` and ``row_written_at`` are monotonic): the checkpoint may skip writing it unchanged."""
    return (
        known is not None
        and known.row is not None
        and known.row_etag == etag
        and now - known.row_written_at < _ROW_REFRESH_SECONDS
    )
