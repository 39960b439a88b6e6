"""A test hook that records which worker dequeues which control queue, and when.

With ``DURABLE_STORAGE_DEQUEUE_TRACE=PATH`` in its environment, a worker appends one JSON line per event to PATH:
``{"t": unix time, "worker": id, "queue": name, "event": "listen" | "receive" | "stop"}``. Scale-out tests merge
the lines of several worker processes to check that no control queue is dequeued by two workers at once. Off (a
single ``None`` check) unless the variable is set.
"""

from __future__ import annotations

import json
import os
import time

__all__ = ["TRACE_VARIABLE", "trace"]

TRACE_VARIABLE = "DURABLE_STORAGE_DEQUEUE_TRACE"
_PATH = os.environ.get(TRACE_VARIABLE) or None


def trace(worker: str, queue: str, event: str) -> None:
    """Record ``event`` when tracing is on. Each line is one short ``O_APPEND`` write, whole even across processes."""
    if _PATH is None:
        return
    line = json.dumps({"t": time.time(), "worker": worker, "queue": queue, "event": event}) + "\n"
    with open(_PATH, "a", encoding="utf-8") as file:
        file.write(line)
