"""The replay engine: the pure core that runs azure-functions-durable orchestrators over their history.

No I/O, clock, randomness or threads: all time comes from OrchestratorStarted events and all IDs from
deterministic counters. The worker calls :func:`replay` once per episode.
"""

from durable_storage.replay._actions import (
    Action,
    Completion,
    CreateSubOrchestrationAction,
    CreateTimerAction,
    ScheduleTaskAction,
    SendEventAction,
)
from durable_storage.replay._context import HTTP_ACTIVITY, DurableOrchestrationContext
from durable_storage.replay._engine import OrchestratorFunction, replay
from durable_storage.replay._result import ReplayResult
from durable_storage.replay._runtime import ReplayOptions
from durable_storage.replay._tasks import TaskBase, TaskState

__all__ = [
    "HTTP_ACTIVITY",
    "Action",
    "Completion",
    "CreateSubOrchestrationAction",
    "CreateTimerAction",
    "DurableOrchestrationContext",
    "OrchestratorFunction",
    "ReplayOptions",
    "ReplayResult",
    "ScheduleTaskAction",
    "SendEventAction",
    "TaskBase",
    "TaskState",
    "replay",
]
