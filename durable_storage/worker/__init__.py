"""The worker: partitions, dispatch, episodes and the ordered checkpoint.

``Worker`` is imported on first use: the command line reads ``WorkerOptions`` for its help without the storage SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from durable_storage._lazy import lazy_exports

if TYPE_CHECKING:
    from durable_storage.worker._hooks import CRASH_EXIT_CODE, CrashAt, JsonLinesTrace, WorkerHooks
    from durable_storage.worker._options import WorkerOptions
    from durable_storage.worker._worker import Worker

_EXPORTS: dict[str, tuple[str, ...]] = {
    "durable_storage.worker._hooks": ("CRASH_EXIT_CODE", "CrashAt", "JsonLinesTrace", "WorkerHooks"),
    "durable_storage.worker._options": ("WorkerOptions",),
    "durable_storage.worker._worker": ("Worker",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["CRASH_EXIT_CODE", "CrashAt", "JsonLinesTrace", "Worker", "WorkerHooks", "WorkerOptions"]
