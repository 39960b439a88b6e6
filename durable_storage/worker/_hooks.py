"""A worker's test seams (reliability.md §5.1): crash points and the dequeue trace, passed in as ``Worker(hooks=...)``.

Crash points: the worker calls ``hooks.crash("C1")`` ... ``("C4")`` between the steps of an episode's checkpoint
(send, History, Instances, delete) and ``("A1")``/``("A2")`` around an activity's reply. :class:`CrashAt` ends the
process the N-th time it reaches one (``os._exit(137)``, the exit code of a SIGKILL seen by a shell): no cleanup,
no flush, no lease release, exactly like a ``kill -9`` at that line.

The dequeue trace: ``hooks.trace(worker, queue, event)`` with event ``listen``, ``receive`` or ``stop`` as a dequeue
loop starts, receives and ends. :class:`JsonLinesTrace` appends them to a file, one JSON line each
(``{"t": unix time, "worker": id, "queue": name, "event": ...}``) from a thread of its own, so the event loop never
waits on the disk. Scale-out tests merge the lines of several worker processes to check that no control queue is
dequeued by two workers at once.

Without hooks (production) each call costs one ``None`` check. ``durable-storage worker --crash-at NAME:N
--dequeue-trace PATH`` builds them for a worker process.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from durable_storage.errors import ConfigurationError

__all__ = ["CRASH_EXIT_CODE", "CrashAt", "JsonLinesTrace", "WorkerHooks"]

_log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 137
"""The exit code of a process ended by :class:`CrashAt`: the code a shell reports for a SIGKILL."""


class CrashAt:
    """A crash point hook: ends the process the ``count``-th time it reaches the crash point ``name``.

    Hits are counted from 1, per hook (one hook per process in practice).

    Raises:
        ConfigurationError: an empty ``name`` or a ``count`` below 1.
    """

    def __init__(self, name: str, count: int = 1) -> None:
        if not isinstance(name, str) or not name or ":" in name:
            raise ConfigurationError(f"crash point {name!r} is invalid: must be a name such as C2")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigurationError(f"crash point count {count!r} is invalid: must be an integer >= 1")
        self.name = name
        self.count = count
        self._hits = 0
        self._lock = threading.Lock()  # activity code may reach a crash point from a thread: never skip a number

    @classmethod
    def parse(cls, value: str) -> CrashAt:
        """``"C2:3"`` -> ``CrashAt("C2", 3)``.

        Raises:
            ConfigurationError: not ``NAME:N`` with a non-empty NAME and an integer N >= 1.
        """
        name, colon, count = value.strip().rpartition(":")
        if not colon or not name or not count.isdigit() or int(count) < 1:
            raise ConfigurationError(f"crash point {value!r} is invalid: must be NAME:N with N >= 1, such as C2:3")
        return cls(name, int(count))

    def __call__(self, name: str) -> None:
        if name != self.name:
            return
        with self._lock:
            self._hits += 1
            if self._hits == self.count:
                message = f"durable_storage: crash point {name} hit {self._hits} times: exiting {CRASH_EXIT_CODE}\n"
                os.write(2, message.encode())
                os._exit(CRASH_EXIT_CODE)

    def __repr__(self) -> str:
        return f"CrashAt({self.name!r}, {self.count})"


class JsonLinesTrace:
    """A dequeue trace hook that appends one JSON line per event to ``path``, written by a thread of its own.

    Each line is one ``O_APPEND`` write, whole even when several processes share the file. :meth:`close` writes
    what is pending and ends the thread; a process that dies first loses at most the lines of its last moments.
    A file that cannot be written is logged once as an error, and the trace stops.

    Raises:
        ConfigurationError: the folder of ``path`` does not exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigurationError(f"dequeue trace {str(self.path)!r} is invalid: its folder does not exist")
        self._pending: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._broken = False

    def __call__(self, worker: str, queue: str, event: str) -> None:
        if self._broken:
            return
        line = json.dumps({"t": time.time(), "worker": worker, "queue": queue, "event": event}) + "\n"
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="dequeue-trace", daemon=True)
                self._writer.start()
        self._pending.put(line.encode())

    def _write(self) -> None:
        descriptor: int | None = None
        while (line := self._pending.get()) is not None:
            if self._broken:
                continue  # drain until close()
            try:
                if descriptor is None:
                    descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.write(descriptor, line)
            except OSError as error:
                self._broken = True
                _log.error("dequeue trace %s cannot be written (%s): tracing stops", self.path, error)
        if descriptor is not None:
            os.close(descriptor)

    def close(self) -> None:
        """Write every pending line and end the writer thread (blocking: call it off the event loop). Idempotent."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._pending.put(None)
            writer.join()

    def __repr__(self) -> str:
        return f"JsonLinesTrace({str(self.path)!r})"


@dataclass(frozen=True, kw_only=True)
class WorkerHooks:
    """What a test can plug into a worker. Both default to nothing.

    Attributes:
        crash_point: called with each crash point's name as the worker reaches it (a :class:`CrashAt`, or a
            test's recorder); it must not block.
        dequeue_trace: called with (worker ID, control queue, ``listen`` | ``receive`` | ``stop``) on the event
            loop (a :class:`JsonLinesTrace`, or a test's recorder); it must not block.
    """

    crash_point: Callable[[str], None] | None = None
    dequeue_trace: Callable[[str, str, str], None] | None = None

    def __post_init__(self) -> None:
        for name in ("crash_point", "dequeue_trace"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ConfigurationError(f"{name} {value!r} is invalid: must be a function or None")

    def crash(self, name: str) -> None:
        """Reach the crash point ``name``."""
        if self.crash_point is not None:
            self.crash_point(name)

    def trace(self, worker: str, queue: str, event: str) -> None:
        """Record a dequeue loop's ``event``."""
        if self.dequeue_trace is not None:
            self.dequeue_trace(worker, queue, event)


NO_HOOKS = WorkerHooks()
"""The hooks of a worker given none: every call is one ``None`` check."""
