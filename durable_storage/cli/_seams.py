"""The ``worker`` command's hidden test switches (reliability.md §5.1), turned into the seams they stand for.

``--crash-at NAME:N``, ``--clock-skew SECONDS``, ``--faults JSON`` and ``--dequeue-trace PATH`` let the fault tests
and ``benchmarks/faults.py`` start worker processes with a crash point, a skewed clock, storage faults and a dequeue
trace. They are read here, once, by the command line, and become the hub's ``clock`` and ``faults`` and the worker's
``hooks``: the library itself reads no environment variable and no switch for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from durable_storage._clock import Clock, SkewedClock, utcnow

if TYPE_CHECKING:  # the storage SDK behind them is imported only when a switch is given: not for --help
    from durable_storage.testing.faults import FaultPlan
    from durable_storage.worker import WorkerHooks

__all__ = ["Seams", "seam_options"]

_SWITCHES = [
    ("--crash-at", str, "NAME:N", "End the process (exit 137) the N-th time it reaches crash point NAME."),
    ("--clock-skew", float, "SECONDS", "Shift this worker's wall clock (may be negative)."),
    ("--faults", str, "JSON", "Fail storage requests as this FaultPlan JSON says."),
    ("--dequeue-trace", str, "PATH", "Append a JSON line per dequeue loop event to PATH."),
]


def seam_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the test switches to a click command, hidden from ``--help``: production never needs them."""
    for name, kind, metavar, text in reversed(_SWITCHES):
        function = click.option(name, type=kind, default=None, metavar=metavar, hidden=True, help=text)(function)
    return function


@dataclass(frozen=True)
class Seams:
    """What the switches stand for: the hub's clock and fault plan, the worker's hooks (None: no hooks)."""

    clock: Clock
    faults: FaultPlan | None
    hooks: WorkerHooks | None

    @classmethod
    def of(
        cls, *, crash_at: str | None, clock_skew: float | None, faults: str | None, dequeue_trace: str | None
    ) -> Seams:
        """The seams of the switches' values.

        Raises:
            ConfigurationError: a value is malformed (the error names it).
        """
        from durable_storage.testing.faults import FaultPlan  # noqa: PLC0415
        from durable_storage.worker._hooks import CrashAt, JsonLinesTrace, WorkerHooks  # noqa: PLC0415

        crash_point = CrashAt.parse(crash_at) if crash_at else None
        trace = JsonLinesTrace(dequeue_trace) if dequeue_trace else None
        return cls(
            clock=SkewedClock(clock_skew) if clock_skew is not None else utcnow,
            faults=FaultPlan.from_json(faults) if faults else None,
            hooks=WorkerHooks(crash_point=crash_point, dequeue_trace=trace) if crash_point or trace else None,
        )
