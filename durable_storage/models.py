"""User-facing values: runtime statuses and, as later features land, the other status models."""

from __future__ import annotations

from enum import Enum

__all__ = ["OrchestrationRuntimeStatus"]


class OrchestrationRuntimeStatus(Enum):
    """The runtime status of an orchestration instance, as in azure-functions-durable.

    Values equal the names; tables store the name, queue JSON stores :attr:`wire_value` (the DTFx number).
    """

    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"

    @property
    def wire_value(self) -> int:
        """The DurableTask.Core ``OrchestrationStatus`` number written in queue messages."""
        return _WIRE_VALUES[self]

    @classmethod
    def from_wire_value(cls, value: int) -> OrchestrationRuntimeStatus:
        """The status for a DurableTask.Core ``OrchestrationStatus`` number.

        Raises:
            ValueError: the number is not one of 0-7.
        """
        for status, number in _WIRE_VALUES.items():
            if number == value:
                return status
        raise ValueError(f"orchestration status number {value!r} is unknown: must be 0-7")

    @property
    def is_terminal(self) -> bool:
        """True for Completed, Failed, Canceled and Terminated: nothing more will run."""
        return self in _TERMINAL


_WIRE_VALUES = {
    OrchestrationRuntimeStatus.Running: 0,
    OrchestrationRuntimeStatus.Completed: 1,
    OrchestrationRuntimeStatus.ContinuedAsNew: 2,
    OrchestrationRuntimeStatus.Failed: 3,
    OrchestrationRuntimeStatus.Canceled: 4,
    OrchestrationRuntimeStatus.Terminated: 5,
    OrchestrationRuntimeStatus.Pending: 6,
    OrchestrationRuntimeStatus.Suspended: 7,
}
_TERMINAL = frozenset(
    {
        OrchestrationRuntimeStatus.Completed,
        OrchestrationRuntimeStatus.Failed,
        OrchestrationRuntimeStatus.Canceled,
        OrchestrationRuntimeStatus.Terminated,
    }
)
