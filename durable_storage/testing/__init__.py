"""Helpers for tests of durable_storage and of users' own apps.

Unit tests, no storage:

- :class:`HistoryBuilder` writes the history an orchestration would have, one step per call
  (``started``, ``activity_completed``, ``event_raised``, ``timer_fired`` ...);
- :func:`run_orchestrator` runs an orchestrator over it as a worker runs an episode and returns an
  :class:`OrchestratorResult`: the :class:`ScheduledWork`, the status, the output, the custom status, the error;
- :func:`run_entity` runs an entity over a list of operations and returns its state and each result.

Integration tests, on a real Azurite: :class:`Azurite` starts a throwaway one, :func:`throwaway_hub` creates a task
hub for one test, :func:`wait_until` waits on a condition instead of sleeping, :class:`SkewedClock` plays a machine
whose clock is off (``TaskHub(clock=SkewedClock(120))``, a test seam). The pytest plugin
``durable_storage.testing.pytest_plugin`` turns these into the fixtures ``azurite_connection_string`` and
``task_hub`` (enable it with ``pytest_plugins = ["durable_storage.testing.pytest_plugin"]`` in ``conftest.py``).
"""

from durable_storage._clock import SkewedClock
from durable_storage.testing.azurite import Azurite, AzuriteError, azurite_listening
from durable_storage.testing.entities import EntityResult, Operation, OperationResult, run_entity
from durable_storage.testing.history import HistoryBuilder
from durable_storage.testing.hubs import ThrowawayHub, throwaway_hub, unique_hub_name
from durable_storage.testing.orchestrations import OrchestratorResult, ScheduledWork, WorkKind, run_orchestrator
from durable_storage.testing.waiting import wait_until

__all__ = [
    "Azurite",
    "AzuriteError",
    "EntityResult",
    "HistoryBuilder",
    "Operation",
    "OperationResult",
    "OrchestratorResult",
    "ScheduledWork",
    "SkewedClock",
    "ThrowawayHub",
    "WorkKind",
    "azurite_listening",
    "run_entity",
    "run_orchestrator",
    "throwaway_hub",
    "unique_hub_name",
    "wait_until",
]
