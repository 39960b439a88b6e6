"""What the replay gate found: one check per instance, summed up per orchestrator name; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GateFailure", "GateReport", "InstanceCheck", "NameSummary", "Outcome"]

Outcome = Literal["passed", "failed", "skipped"]
"""passed: the code replays the history as recorded; failed: they differ; skipped: nothing to replay yet."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GateFailure:
    """Where the code and an instance's history part ways.

    Attributes:
        sequence: the sequence number where they differ: the EventId of the scheduling event (or of the
            completion) history recorded, or the id the code's new action or completion takes. None when no
            position applies (the orchestrator is missing, the history cannot be read).
        history_index: the position of the recorded event in the execution's history (its RowKey, counting
            from 0), or None when the difference lies past the end of history.
        recorded: what history recorded there, e.g. ``TaskScheduled 'say_hello'``.
        actual: what the code did, e.g. ``call_activity 'greet'``, ``no action`` or ``orchestration completed``.
        reason: the whole explanation, for a log or a bug report.
    """

    sequence: int | None
    history_index: int | None
    recorded: str
    actual: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view."""
        return {
            "sequence": self.sequence,
            "history_index": self.history_index,
            "recorded": self.recorded,
            "actual": self.actual,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceCheck:
    """The replay of one instance's history against the code.

    Attributes:
        instance_id: the instance.
        name: its orchestrator name.
        runtime_status: its status as stored (``Running`` ...), when known.
        events: how many history events were replayed.
        outcome: passed, failed or skipped.
        failure: where it differs (failed only).
        note: why it was skipped.
    """

    instance_id: str
    name: str
    runtime_status: str | None
    events: int
    outcome: Outcome
    failure: GateFailure | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view."""
        return {
            "instance_id": self.instance_id,
            "name": self.name,
            "runtime_status": self.runtime_status,
            "events": self.events,
            "outcome": self.outcome,
            "failure": self.failure.to_dict() if self.failure is not None else None,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class NameSummary:
    """The checks of one orchestrator name: how many replayed, passed, failed and were skipped."""

    name: str
    replayed: int
    passed: int
    failed: int
    skipped: int


@dataclass(frozen=True, slots=True)
class GateReport:
    """The outcome of a replay gate run.

    Attributes:
        checks: one per instance, sorted by orchestrator name then instance ID.
        source: where the histories came from (``task hub X`` or a file name).
    """

    checks: tuple[InstanceCheck, ...]
    source: str = field(default="")

    @classmethod
    def of(cls, checks: Sequence[InstanceCheck], source: str) -> GateReport:
        """A report of ``checks`` in the report's order."""
        return cls(tuple(sorted(checks, key=lambda c: (c.name, c.instance_id))), source)

    @property
    def ok(self) -> bool:
        """True when no instance failed: the code may be deployed."""
        return not self.failures

    @property
    def failures(self) -> list[InstanceCheck]:
        """The instances whose history the code no longer replays."""
        return [check for check in self.checks if check.outcome == "failed"]

    def by_name(self) -> list[NameSummary]:
        """One summary per orchestrator name, sorted by name."""
        names = sorted({check.name for check in self.checks})
        summaries = []
        for name in names:
            mine = [check.outcome for check in self.checks if check.name == name]
            replayed = sum(outcome != "skipped" for outcome in mine)
            summaries.append(
                NameSummary(name, replayed, mine.count("passed"), mine.count("failed"), mine.count("skipped"))
            )
        return summaries

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable view: the verdict, the summary per name, and every check."""
        return {
            "source": self.source,
            "ok": self.ok,
            "summary": [
                {"name": s.name, "replayed": s.replayed, "passed": s.passed, "failed": s.failed, "skipped": s.skipped}
                for s in self.by_name()
            ],
            "checks": [check.to_dict() for check in self.checks],
        }
