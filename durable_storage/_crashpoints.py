"""Named crash points for fault-injection tests (reliability.md §5.1): kill the process at an exact step.

Test-only. The worker calls ``crashpoint("C1")`` ... ``crashpoint("C4")`` between the steps of an episode's
checkpoint (send, History, Instances, delete) and ``crashpoint("A1")``/``crashpoint("A2")`` around an activity's
reply. They do nothing unless the environment variable ``DS_CRASH_AT`` is set, when the process starts, to
``NAME:N`` (for example ``C2:3``): then the N-th time this process reaches crash point NAME it writes one line to
stderr and ends at once with ``os._exit(137)`` (the exit code of a SIGKILL seen by a shell), with no cleanup, no
flush and no lease release, exactly like a ``kill -9`` at that line. Hits are counted per process, from 1.

The variable is read once, at import; unset (production), a crash point costs one comparison of a module global.
A malformed value raises ``ValueError`` at import, so a mistyped test setting fails loudly instead of never firing.
"""

from __future__ import annotations

import os
import threading

__all__ = ["CRASH_AT_VARIABLE", "CRASH_EXIT_CODE", "crashpoint", "parse_crash_at"]

CRASH_AT_VARIABLE = "DS_CRASH_AT"
CRASH_EXIT_CODE = 137


def parse_crash_at(value: str) -> tuple[str, int]:
    """``"C2:3"`` -> ``("C2", 3)``.

    Raises:
        ValueError: not ``NAME:N`` with a non-empty NAME and an integer N >= 1.
    """
    name, colon, count = value.strip().rpartition(":")
    if not colon or not name or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{CRASH_AT_VARIABLE}={value!r} is invalid: must be NAME:N with N >= 1, such as C2:3")
    return name, int(count)


_raw = os.environ.get(CRASH_AT_VARIABLE)
_TARGET: tuple[str, int] | None = parse_crash_at(_raw) if _raw else None
_hits = 0
_lock = threading.Lock()  # activity bodies run in threads; the hit count must not skip a number


def crashpoint(name: str) -> None:
    """End the process (exit code 137) if this is the configured N-th hit of crash point ``name``; else nothing."""
    if _TARGET is None or name != _TARGET[0]:
        return
    global _hits
    with _lock:
        _hits += 1
        if _hits == _TARGET[1]:
            os.write(2, f"durable_storage: crash point {name} hit {_hits} times: exiting {CRASH_EXIT_CODE}\n".encode())
            os._exit(CRASH_EXIT_CODE)
