"""The worker: partitions, dispatch, episodes and the ordered checkpoint."""

from durable_storage.worker._hooks import CRASH_EXIT_CODE, CrashAt, JsonLinesTrace, WorkerHooks
from durable_storage.worker._options import WorkerOptions
from durable_storage.worker._worker import Worker

__all__ = ["CRASH_EXIT_CODE", "CrashAt", "JsonLinesTrace", "Worker", "WorkerHooks", "WorkerOptions"]
